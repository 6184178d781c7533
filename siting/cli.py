"""Command-line entry point: ``siting <command> ...``.

Each command lives in ``siting/commands/<name>.py`` with ``register(subparsers)`` and
``run(args) -> int``. A :class:`~siting.errors.SitingError` becomes one line on stderr and exit
code 2, in the language of the global ``--lang`` (else ``$SITING_LANG``, else English; see
:mod:`siting.i18n.messages`); anything else is a bug and keeps its traceback.

Start-up: building the parser imports every command module, so a command module imports at its top only
what ``register`` needs; its ``run`` imports the stack it drives (:mod:`siting.workflow`, :mod:`siting.travel`).
Otherwise ``siting --help`` and every command would load the services, travel and report code of all
commands (about +16 % CPU time for ``import siting.cli``).
"""
from __future__ import annotations

import argparse
import contextlib
import sys

from .commands import compare, demo, evaluate, models, prepare, rank, report, serve, solve, sweep, travel
from .errors import SitingError

__all__ = ["main", "build_parser", "COMMANDS"]

#: the command modules, in the order ``siting --help`` lists them
COMMANDS = (solve, travel, prepare, sweep, compare, rank, evaluate, report, serve, demo, models)


def _version() -> str:
    """The installed distribution's version (the source tree's when siting is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("siting")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    """The ``siting`` parser with every command of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(prog="siting", description="Budgeted siting of neighbourhood facilities.")
    parser.add_argument("--version", action="version", version=f"siting {_version()}")
    # dest "lang": a command's own --lang (default=SUPPRESS) overrides it, and run() reads one attribute
    parser.add_argument("--lang", default=None, metavar="{en,zh}",
                        help="language of messages, reports and plots: en or zh (default: $SITING_LANG, else en)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``siting ARGV``; errors of the input become one line (in the ``--lang`` language) and exit code 2."""
    from .i18n import resolve_language, use_language

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # --lang > $SITING_LANG > English; a command may narrow it further ([report] language)
        language = resolve_language(args.lang, None)
    except SitingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # a block, not a setting: main() may run many times in one process (tests, serve). Only a given --lang is
    # set: $SITING_LANG must not beat a scenario's [report] language (current_language() falls back to it)
    chosen = use_language(language) if args.lang else contextlib.nullcontext()
    with chosen:
        try:
            return int(args.func(args) or 0)
        except SitingError as exc:
            print(_error_line(exc), file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(_interrupted_line(), file=sys.stderr)
            return 130


def _error_line(exc: SitingError) -> str:
    """``error: <message>`` in the current language; the English line if the translation itself fails."""
    try:
        from .i18n.messages import error_line

        return error_line(exc)
    except Exception:  # noqa: BLE001 - a broken catalog must never hide the user's error
        return f"error: {exc}"


def _interrupted_line() -> str:
    try:
        from .i18n.messages import interrupted_line

        return interrupted_line()
    except Exception:  # noqa: BLE001
        return "interrupted"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
