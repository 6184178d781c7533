"""``siting report SCENARIO.toml``: HTML report with maps + GeoPackage for GIS."""
from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="write report.html (maps, tables, sweep curve) and siting.gpkg")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--out", help="output folder (default: [output] dir of the scenario, or out/<name>); "
                   "sweep.csv / rank.csv / compare.csv found there are included")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..report import build_report

    res = build_report(args.scenario, out_dir=args.out, quiet=args.quiet)
    if not args.quiet:
        print(f"written: {res.html}\n         {res.gpkg}")
    return 0
