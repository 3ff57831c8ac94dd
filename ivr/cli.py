"""The ``hotline`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from config.settings import ConfigError, config_file, load_settings
from ivr.menu import MenuError, load_menus


def _error(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 1


def _check(config_dir: Path | None) -> int:
    try:
        settings = load_settings(config_dir)
    except ConfigError as exc:
        return _error(exc)
    path = config_file(config_dir, "ivr.yaml")
    try:
        menus, problems = load_menus(path, set(settings.emergency))
    except MenuError as exc:
        problems = exc.problems
        menus = None
    for p in problems:
        print(f"error: {p.format(path)}", file=sys.stderr)
    from kb.confidence import load as load_acceptance
    from triage.catalog import load_catalog
    from triage.model import load as load_model

    try:
        catalog = load_catalog(config_file(config_dir, "dispatch.yaml"))
        load_model(config_file(config_dir, "triage_model.json"))
        load_acceptance(config_file(config_dir, "kb_confidence.json"))
    except ConfigError as exc:
        return _error(exc)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    assert menus is not None
    print(f"ok: {settings.source} and {path} ({len(menus.menus)} menus, {len(settings.agents)} agents, "
          f"{settings.workers} workers, {len(catalog.topics)} dispatch topics)")
    return 0


def _serve(config_dir: Path | None) -> int:
    from ivr.app import Hotline  # the heavy parts load only when serving

    try:
        settings = load_settings(config_dir)
    except ConfigError as exc:
        return _error(exc)
    try:
        asyncio.run(Hotline(settings).run())
    except MenuError as exc:
        print(f"error: menus invalid, not starting:\n{exc}", file=sys.stderr)
        return 1
    except (ConfigError, OSError) as exc:  # e.g. a broken dispatch.yaml, a port in use
        return _error(exc)
    return 0


def _labels(args: argparse.Namespace) -> int:
    import datetime as dt

    import yaml

    from agent_desk.auth import audit
    from workorders.labels import labelled_utterances

    try:
        since = dt.datetime.fromisoformat(args.since).astimezone() if args.since else None
    except ValueError:
        print(f"error: --since {args.since!r}: not a date (YYYY-MM-DD)", file=sys.stderr)
        return 1
    try:
        engine = _engine(args.config)
        items = labelled_utterances(engine, since)
        Path(args.file).write_text(
            "# callers' words with the agents' decisions (personal data: keep it as you keep transcripts)\n"
            + yaml.safe_dump({"items": items}, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")
        audit(engine, "cli", "labels export", f"{len(items)} utterances to {args.file}")
    except (ConfigError, OSError) as exc:
        return _error(exc)
    emergencies = sum(1 for i in items if i["emergency"])
    print(f"exported {len(items)} utterances ({emergencies} put through to an emergency line) to {args.file}")
    return 0


def _engine(config_dir: Path | None) -> Any:
    from workorders.db import make_engine, migrate

    engine = make_engine(load_settings(config_dir).database_url)
    migrate(engine)
    return engine


def _kb(args: argparse.Namespace) -> int:
    from kb.entries import dump_entries, read_dir, read_entries
    from kb.service import open_knowledge_base
    from kb.store import import_entries, load_entries

    try:
        engine = _engine(args.config)
        if args.kb_cmd == "import":
            src = Path(args.file)
            entries = read_dir(src) if src.is_dir() else read_entries(src)
            report = import_entries(engine, entries)
            print(f"added {len(report.added)}, changed {len(report.changed)}, unchanged {len(report.unchanged)}")
            return 0
        if args.kb_cmd == "export":
            Path(args.file).write_text(dump_entries(load_entries(engine)), encoding="utf-8")
            print(f"exported {len(load_entries(engine))} entries to {args.file}")
            return 0
        if not load_entries(engine):
            print("error: the knowledge base is empty: import entries with `hotline kb import config/kb` "
                  "(`hotline serve` does this at its first start)", file=sys.stderr)
            return 1
        settings = load_settings(args.config)
        kb = open_knowledge_base(engine, args.config, settings.kb_threshold)
        answer = kb.ask(args.text)
    except (ConfigError, OSError) as exc:
        return _error(exc)
    if args.json:
        print(json.dumps(answer.as_json(), ensure_ascii=False))
    else:
        print(answer.answer if answer.id else "(no answer good enough)")
    return 0


def _users(args: argparse.Namespace) -> int:
    from agent_desk import auth

    try:
        engine = _engine(args.config)
        if args.cmd == "token":
            print(auth.issue_token(engine, args.user))
            return 0
        password = None
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        who = auth.add_user(engine, args.user, args.role, name=args.name or "", sip=args.sip or "", password=password)
    except (auth.AuthError, ConfigError, OSError) as exc:
        return _error(exc)
    print(f"user {who.id} ({who.role}){' ' + who.sip if who.sip else ''} saved"
          f"{'' if password is not None else ' (no password set: cannot log in yet)'}")
    return 0


def _triage(args: argparse.Namespace) -> int:
    from triage.catalog import load_catalog
    from triage.engine import triage
    from triage.model import load as load_model

    if not args.text.strip():
        print("error: nothing to triage: give the caller's words, e.g. hotline triage '楼道里全是烟'", file=sys.stderr)
        return 2
    try:
        catalog = load_catalog(config_file(args.config, "dispatch.yaml"))
    except ConfigError as exc:
        return _error(exc)
    result = triage(args.text, catalog, load_model(config_file(args.config, "triage_model.json")))
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False))
    else:
        print(f"emergency: {result.emergency or '-'}  type: {result.category}  topic: {result.topic or '-'}  "
              f"unit: {result.unit or '-'}\nwhy: {'; '.join(result.reasons)}")
    return 0


def _transcribe(args: argparse.Namespace) -> int:
    from asr.audio import read_wav_16k
    from asr.errors import AsrError
    from asr.recognizer import load_model, parse_grammar, transcribe

    try:
        model_dir = args.model
        if model_dir is None:
            model_dir = load_settings(args.config).asr_model
        if model_dir is None:
            raise AsrError("no model: pass --model DIR or set asr.model in hotline.yaml")
        grammar = parse_grammar(args.grammar) if args.grammar is not None else None
        pcm = read_wav_16k(args.wav)
        result = transcribe(load_model(model_dir), pcm, grammar)
    except (AsrError, ConfigError) as exc:
        return _error(exc)
    if args.json:
        print(json.dumps({"text": result.text, "confidence": round(result.confidence, 3)}, ensure_ascii=False))
    else:
        print(result.text)
    return 0


def _install_model(args: argparse.Namespace) -> int:
    from asr.errors import AsrError
    from asr.install import install, progress_bar, set_model_in_config

    try:
        settings = load_settings(args.config)
        path = install(args.source, settings.data_dir / "models", progress_bar())
        print(file=sys.stderr)
        target = (args.config or settings.source.parent) / "hotline.yaml"
        set_model_in_config(target, path)
        load_settings(args.config)  # the edited file must still be valid
    except (AsrError, ConfigError, OSError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1
    print(f"installed {path} and set asr.model in {target}; restart `hotline serve` to use it")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hotline", description="12345 citizen-service voice hotline")
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, text in (("serve", "run the hotline"), ("check-config", "validate hotline.yaml and ivr.yaml")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", type=Path, default=None, help="directory with hotline.yaml / ivr.yaml")
    t = sub.add_parser("transcribe", help="print the transcript of a WAV file")
    t.add_argument("wav", type=Path)
    t.add_argument("--model", type=Path, default=None, help="Vosk model directory (default: asr.model)")
    t.add_argument("--grammar", default=None, help='JSON list of phrases, e.g. \'["咨询","投诉"]\'')
    t.add_argument("--json", action="store_true")
    t.add_argument("--config", type=Path, default=None)
    a = sub.add_parser("asr", help="speech recognition models")
    asub = a.add_subparsers(dest="asr_cmd", required=True)
    im = asub.add_parser("install-model", help="install a Vosk model from a .zip file or URL")
    im.add_argument("source")
    im.add_argument("--config", type=Path, default=None)
    k = sub.add_parser("kb", help="the knowledge base (热线数据库)")
    ksub = k.add_subparsers(dest="kb_cmd", required=True)
    for name, text in (("import", "upsert entries from a YAML file or a directory of them"),
                       ("export", "write every entry to a YAML file")):
        kp = ksub.add_parser(name, help=text)
        kp.add_argument("file")
        kp.add_argument("--config", type=Path, default=None)
    ka = ksub.add_parser("ask", help="the best answer for a question")
    ka.add_argument("text")
    ka.add_argument("--json", action="store_true")
    ka.add_argument("--config", type=Path, default=None)
    u = sub.add_parser("user", help="desk users: agents, supervisors, admins")
    usub = u.add_subparsers(dest="user_cmd", required=True)
    ua = usub.add_parser("add", help="create or update a user")
    ua.add_argument("user")
    ua.add_argument("--role", required=True, choices=["agent", "supervisor", "admin"])
    ua.add_argument("--sip", default=None, help="the agent's softphone, e.g. sip:1001@10.0.0.5")
    ua.add_argument("--name", default=None, help="display name, e.g. 王丽")
    ua.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    ua.add_argument("--config", type=Path, default=None)
    tk = sub.add_parser("token", help="API bearer tokens")
    tsub = tk.add_subparsers(dest="token_cmd", required=True)
    ti = tsub.add_parser("issue", help="print a new bearer token for a user")
    ti.add_argument("user")
    ti.add_argument("--config", type=Path, default=None)
    lb = sub.add_parser("labels", help="labelled utterances from finalised work orders, for retraining triage")
    lsub = lb.add_subparsers(dest="labels_cmd", required=True)
    le = lsub.add_parser("export", help="write the callers' words with the agents' decisions as triage YAML")
    le.add_argument("file")
    le.add_argument("--since", default=None, help="only orders finalised on or after this day (YYYY-MM-DD)")
    le.add_argument("--config", type=Path, default=None)
    tr = sub.add_parser("triage", help="emergency line, request type, topic and unit for a text")
    tr.add_argument("text")
    tr.add_argument("--json", action="store_true")
    tr.add_argument("--config", type=Path, default=None)
    args = ap.parse_args(argv)
    quiet = logging.INFO if args.cmd == "serve" else logging.WARNING
    logging.basicConfig(level=logging.DEBUG if args.verbose else quiet,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.config is not None and not args.config.is_dir():
        print(f"error: --config {args.config}: not a directory", file=sys.stderr)
        return 1
    if args.cmd == "check-config":
        return _check(args.config)
    if args.cmd == "transcribe":
        return _transcribe(args)
    if args.cmd == "asr":
        return _install_model(args)
    if args.cmd == "kb":
        return _kb(args)
    if args.cmd == "triage":
        return _triage(args)
    if args.cmd == "labels":
        return _labels(args)
    if args.cmd in ("user", "token"):
        return _users(args)
    return _serve(args.config)


if __name__ == "__main__":
    sys.exit(main())
