"""The ``hotline`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from config.settings import ConfigError, config_file, load_settings
from ivr.menu import MenuError, load_menus


def _check(config_dir: Path | None) -> int:
    try:
        settings = load_settings(config_dir)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    path = config_file(config_dir, "ivr.yaml")
    try:
        menus, problems = load_menus(path, set(settings.emergency))
    except MenuError as exc:
        problems = exc.problems
        menus = None
    for p in problems:
        print(f"error: {p.format(path)}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    assert menus is not None
    print(f"ok: {settings.source} and {path} ({len(menus.menus)} menus, {len(settings.agents)} agents, "
          f"{settings.workers} workers)")
    return 0


def _serve(config_dir: Path | None) -> int:
    from ivr.app import Hotline  # the heavy parts load only when serving

    try:
        settings = load_settings(config_dir)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        asyncio.run(Hotline(settings).run())
    except MenuError as exc:
        print(f"error: menus invalid, not starting:\n{exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="hotline", description="12345 citizen-service voice hotline")
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, text in (("serve", "run the hotline"), ("check-config", "validate hotline.yaml and ivr.yaml")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--config", type=Path, default=None, help="directory with hotline.yaml / ivr.yaml")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.config is not None and not args.config.is_dir():
        print(f"error: --config {args.config}: not a directory", file=sys.stderr)
        return 1
    if args.cmd == "check-config":
        return _check(args.config)
    return _serve(args.config)


if __name__ == "__main__":
    sys.exit(main())
