"""``siting compare A.toml B.toml ...``: solve each scenario (independent tasks) and tabulate them side by side."""
from __future__ import annotations

import argparse

from .options import add_engine_options, engine_options

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` sub-command to ``subparsers``."""
    p = subparsers.add_parser("compare", help="solve several scenarios and show them side by side")
    p.add_argument("scenarios", nargs="+", help="scenario TOML files")
    p.add_argument("--out", default="out/compare", help="output folder (default out/compare)")
    add_engine_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``siting compare`` with the parsed ``args``; the exit code."""
    # here, not at the top: see siting.cli (start-up)
    from ..workflow import compare

    res = compare(args.scenarios, out_dir=args.out, **engine_options(args))
    if not args.quiet:
        from rich.console import Console  # third-party: only when something is printed
        from rich.table import Table

        t = Table(title="scenarios side by side")
        t.add_column("metric")
        for c in res.table.columns:
            t.add_column(str(c), justify="right")
        for m, row in res.table.iterrows():
            t.add_row(str(m), *[str(v) for v in row])
        con = Console()
        con.print(t)
        con.print(f"written: {res.csv}, {res.markdown}")
    return 0 if all(r.get("has_solution") for r in res.records.values()) else 1
