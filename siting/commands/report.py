"""``siting report SCENARIO.toml``: HTML report with maps + GeoPackage for GIS."""
from __future__ import annotations

import argparse

from .options import OUT

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command to ``subparsers``."""
    p = subparsers.add_parser("report", help="write report.html (maps, tables, sweep curve) and siting.gpkg")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--out", help="output folder (default: [output] dir of the scenario, or out/<name>); "
                   "sweep.csv / rank.csv / compare.csv found there are included")
    p.add_argument("--lang", default=argparse.SUPPRESS, metavar="{en,zh}",
                   help="language of the report: en or zh (default: [report] language, else $SITING_LANG, else en)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``siting report`` with the parsed ``args``; the exit code."""
    # here, not at the top: see siting.cli (start-up)
    from ..workflow import report

    # SUPPRESS: a global ``siting --lang`` (already set as the current language) is not reset by this default
    res = report(args.scenario, out_dir=args.out, quiet=args.quiet, out_key=OUT,
                 language=getattr(args, "lang", None))
    if not args.quiet:
        print(f"written: {res.html}\n         {res.gpkg}")
    return 0
