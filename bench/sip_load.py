"""SIP load through Kamailio: sipp callers hear the greeting, press 9 (RFC 2833) and hang up.

    .venv/bin/python bench/sip_load.py --workers 22 --rate 10 --limit 40 --calls 400

Reports the most concurrent calls held, the call rate, failed calls, how many calls' DTMF
reached the menu, and the CPU the hotline used (cores), from sipp's statistics file and the
hotline's own call records.  Loopback only.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness import start_hotline, write_config  # noqa: E402


def cpu_seconds(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError):
            pass
    return total


def _seconds(hms: str) -> float:
    h, m, sec = hms.split(":")
    return int(h) * 3600 + int(m) * 60 + float(sec)


def tree(pid: int) -> list[int]:
    out = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        out += tree(int(child))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=22)
    ap.add_argument("--rate", type=float, default=10.0, help="new calls per second")
    ap.add_argument("--limit", type=int, default=40, help="most concurrent calls sipp keeps")
    ap.add_argument("--calls", type=int, default=400)
    ap.add_argument("--port", type=int, default=5600)
    args = ap.parse_args()
    if not shutil.which("sipp"):
        print("sipp not found: run `make setup` (Debian package sip-tester)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    write_config(work, sip=args.port, http=18990, far_port=args.port + 90, workers=args.workers,
                 worker_base=args.port + 10)
    hotline = start_hotline(work, args.port, 18990, timeout=120)
    try:
        pids = tree(hotline.proc.pid)
        cpu0, t0 = cpu_seconds(pids), time.monotonic()
        stat = work / "sipp_stat.csv"
        cmd = ["sipp", f"127.0.0.1:{args.port}", "-sf", str(ROOT / "bench/scenarios/ivr_dtmf.xml"),
               "-s", "12345", "-i", "127.0.0.1", "-p", str(args.port + 95), "-mp", "31000",
               "-r", str(args.rate), "-l", str(args.limit), "-m", str(args.calls),
               "-trace_stat", "-stf", str(stat), "-fd", "1", "-nostdin", "-timeout", "300s",
               "-recv_timeout", "10000"]
        print("$", " ".join(cmd))
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600,
                              check=False)
        wall = time.monotonic() - t0
        cores = (cpu_seconds(tree(hotline.proc.pid)) - cpu0) / wall
        rows = list(csv.DictReader(stat.open(), delimiter=";"))
        last = rows[-1]
        peak = max(int(r["CurrentCall"]) for r in rows)
        created_all = next(r for r in rows if int(r["TotalCallCreated"]) == int(last["TotalCallCreated"]))
        setup_rate = int(last["TotalCallCreated"]) / max(1.0, _seconds(created_all["ElapsedTime(C)"]))
        ok, failed = int(last["SuccessfulCall(C)"]), int(last["FailedCall(C)"])
        time.sleep(2)
        calls = hotline.api(f"/api/v1/calls?limit={min(args.calls, 1000)}")[1]["calls"]
        dtmf_ok = sum(1 for c in calls if c["menu_path"].startswith("9"))
        print(f"sipp exit code:            {proc.returncode} {proc.stderr.strip()[-300:]}")
        print(f"calls attempted/ok/failed: {ok + failed}/{ok}/{failed}")
        print(f"peak concurrent calls:     {peak}")
        print(f"call setup rate:           {setup_rate:.1f}/s achieved (offered {args.rate}/s)")
        print(f"DTMF '9' reached the menu: {dtmf_ok}/{len(calls)} call records")
        print(f"hotline CPU:               {cores:.2f} cores of {os.cpu_count()} "
              f"({cores / max(peak, 1) * 100:.1f} % of a core per concurrent call at peak)")
        return 0 if failed == 0 and proc.returncode == 0 else 1
    finally:
        hotline.stop()
        if os.environ.get("KEEP") is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
