"""``siting demo --out out/demo``: generate the demo district and run the whole workflow on it."""
from __future__ import annotations

import argparse

from .options import OUT

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` sub-command to ``subparsers``."""
    p = subparsers.add_parser("demo", help="demo district end to end: walking times, multi-service siting, "
                              "budget sweep, ranking, report")
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    p.add_argument("--seed", type=int, default=2026, help="seed of the generated district (default 2026)")
    p.add_argument("--regenerate", action="store_true", help="regenerate the district even if it exists")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler of an existing cluster")
    p.add_argument("--no-dask", action="store_true", help="solve the sweep serially in this process")
    p.add_argument("--lang", default=argparse.SUPPRESS, metavar="{en,zh}",
                   help="language of the report and plots: en or zh (default: $SITING_LANG, else en)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``siting demo`` with the parsed ``args``; the exit code."""
    # here, not at the top: see siting.cli (start-up)
    from ..i18n import parse_language, use_language
    from ..workflow import run_demo

    # the language is checked before the district is generated; the report and plots read it from the context
    lang = getattr(args, "lang", None)
    with use_language(None if lang is None else parse_language(lang)):
        res = run_demo(args.out, seed=args.seed, regenerate=args.regenerate, scheduler=args.scheduler,
                       use_dask=not args.no_dask, quiet=args.quiet, out_key=OUT)
        if not args.quiet:  # in the block: the summary speaks the report's language
            for line in res.lines():
                print(line)
    return 0
