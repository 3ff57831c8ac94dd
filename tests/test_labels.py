"""`hotline labels export`: finalised orders with the callers' own words become triage training data."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.model import load_examples
from workorders import orders
from workorders.calls import CallStore
from workorders.db import make_engine, migrate
from workorders.models import AuditEntry

CLI = [sys.executable, "-m", "ivr.cli"]


async def _call(store: CallStore, said: list[str], category: str, line: str | None, finalise: bool) -> None:
    call_id = await store.create(leg_id="a", worker="w1", caller="13800138000", called="12345",
                                 arrived_at=dt.datetime.now(dt.UTC))
    for text in said:
        await store.add_utterance(call_id, text, 0.9, "free", "main")
    await store.add_utterance(call_id, "人工", 0.9, "grammar", "main")  # a menu word is not a description
    if line:
        await store.update(call_id, emergency_line=line, emergency_result="answered")
    engine = store.engine
    o = orders.create_draft(engine, call_id, "1001", {"summary": "诉求", "category": category})["id"]
    if finalise:
        orders.finalise(engine, o, "1001", False, answered_on_the_spot=True)


def test_export_gives_triage_training_data_with_numbers_masked(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    store = CallStore(engine)

    async def fill() -> None:
        await _call(store, ["我家暖气不热，我电话13912345678"], "求助", None, True)
        await _call(store, ["我爸突然倒地叫不醒了", "在朝阳区望京"], "求助", "120", True)
        await _call(store, ["楼下饭馆太吵"], "投诉", None, False)          # still a draft: not exported
        await _call(store, [], "咨询", None, True)                          # no words of the caller's: not exported

    asyncio.run(fill())
    store.close()
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "hotline.yaml").write_text(f"database: {{url: 'sqlite:///{db}'}}\n")
    out = tmp_path / "root" / "triage" / "data" / "from_orders.yaml"
    out.parent.mkdir(parents=True)
    r = subprocess.run([*CLI, "labels", "export", str(out), "--config", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"exported 2 utterances (1 put through to an emergency line) to {out}"
    items = yaml.safe_load(out.read_text(encoding="utf-8"))["items"]
    assert items == [{"text": "我家暖气不热，我电话***********", "emergency": [], "category": "求助"},
                     {"text": "我爸突然倒地叫不醒了，在朝阳区望京", "emergency": ["120"], "category": "求助"}]
    examples = load_examples(tmp_path / "root")  # the format the trainer reads
    assert [(x.lines, x.category) for x in examples] == [(frozenset(), "求助"), (frozenset({"120"}), "求助")]
    with Session(make_engine(f"sqlite:///{db}")) as s:
        assert s.scalars(select(AuditEntry.action)).all() == ["labels export"]
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    r = subprocess.run([*CLI, "labels", "export", str(out), "--since", tomorrow, "--config", str(cfg)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("exported 0 utterances")


def test_export_refuses_a_bad_date(tmp_path: Path) -> None:
    r = subprocess.run([*CLI, "labels", "export", str(tmp_path / "x.yaml"), "--since", "yesterday"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "--since 'yesterday': not a date" in r.stderr and not (tmp_path / "x.yaml").exists()
