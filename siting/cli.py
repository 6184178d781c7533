"""Command-line entry point: ``siting <command> ...``.

Each command lives in ``siting/commands/<name>.py`` with ``register(subparsers)`` and
``run(args) -> int``. A :class:`~siting.errors.SitingError` becomes one line on stderr and exit
code 2; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .errors import SitingError

__all__ = ["main", "build_parser"]

COMMANDS = ("solve", "travel", "sweep", "compare", "rank", "report", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="siting", description="Budgeted siting of neighbourhood facilities.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"siting.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"siting.commands.{name}":
                continue  # command not part of this build
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SitingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
