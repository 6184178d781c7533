"""``siting evaluate SCENARIO.toml``: accessibility (2SFCA), per-group and per-community tables before and after a plan."""
from __future__ import annotations

import argparse

from .options import OUT

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` sub-command to ``subparsers``."""
    p = subparsers.add_parser("evaluate", help="accessibility (2SFCA, Gaussian, E2SFCA), coverage per group and "
                              "community, floor area per 1,000: before and after a plan")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--plan", metavar="PATH", help="the plan: a solve's solution.json, record.json or folder "
                   "(default: none, the existing facilities only, so before = after)")
    p.add_argument("--out", help="output folder (default: [output] dir of the scenario, or out/<name>); writes "
                   "accessibility.csv, groups.csv, supply.csv, evaluation_summary.csv, evaluation.json")
    p.add_argument("--by", nargs="+", metavar="COLUMN",
                   help="text columns to break groups and supply down by (default: [report] by)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``siting evaluate`` with the parsed ``args``; the exit code."""
    # here, not at the top: see siting.cli (start-up)
    from ..evaluate import evaluate

    ev = evaluate(args.scenario, plan=args.plan, out_dir=args.out, by=args.by, quiet=args.quiet, write=True,
                  out_key=OUT)
    if not args.quiet:
        print(f"plan: {ev.plan_source} ({len(ev.plan)} converted buildings)")
        print(f"{'service':<24}{'group':<12}{'share before':>14}{'share after':>13}{'mean 2SFCA before':>19}"
              f"{'after':>11}")
        for r in ev.summary.itertuples():
            print(f"{r.service:<24}{r.demand_column:<12}{r.share_before:>14.1%}{r.share_after:>13.1%}"
                  f"{r.mean_access_before:>19.4g}{r.mean_access_after:>11.4g}")
        for note in ev.notes:
            print(f"note: {note}")
        print("written: " + ", ".join(str(p) for p in ev.paths.values()))
    return 0
