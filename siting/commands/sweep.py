"""``siting sweep SCENARIO.toml --budgets 10M 20M 40M``: the coverage-vs-budget curve (CSV + PNG), resumable."""
from __future__ import annotations

import argparse

from .options import add_engine_options, engine_options

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` sub-command to ``subparsers``."""
    p = subparsers.add_parser("sweep", help="solve a scenario for several budgets: coverage-vs-budget CSV and PNG")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--budgets", nargs="+", metavar="B",
                   help="budgets in the scenario's currency ([report] or catalog currency; e.g. 2e7 40M 60000000); "
                        "default: [sweep] budgets of the scenario")
    p.add_argument("--out", help="output folder (default: [output] dir of the scenario, or out/<name>)")
    add_engine_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``siting sweep`` with the parsed ``args``; the exit code."""
    # here, not at the top: see siting.cli (start-up)
    from ..workflow import sweep

    res = sweep(args.scenario, args.budgets, out_dir=args.out, **engine_options(args))
    if not args.quiet:
        from rich.console import Console  # third-party: only when something is printed
        from rich.table import Table

        from ..scenario import load_scenario
        from ..workflow.budget_sweep import metric_name
        from ..workflow.reporting.money import money_header, report_currency

        currency = report_currency(load_scenario(args.scenario))
        first = next((r for r in res.records.values() if r.get("has_solution")), None)
        t = Table(title="coverage vs budget", caption=f"covered: share of the {metric_name(first)}")
        for c in (money_header("budget", currency, millions=True), money_header("spent", currency, millions=True),
                  "new sites", "covered", "status", "pareto"):
            t.add_column(c, justify="right")
        for _, r in res.table.iterrows():
            t.add_row(f"{r.budget / 1e6:,.2f}", f"{r.total_cost / 1e6:,.2f}", str(r.n_selected),
                      f"{r.coverage_share:.1%}", str(r.status), "yes" if r.pareto else "")
        con = Console()
        con.print(t)
        for _, r in res.table[res.table["below_smaller_budget"]].iterrows():
            con.print(f"warning: budget {r.budget / 1e6:,.2f} M: a smaller budget's plan is better and fits this "
                      f"budget too, so this solve stopped short ({r.status}); give it more time")
        con.print(f"{len(res.computed)} solved, {len(res.reused)} reused from {res.csv.parent / 'sweep'}")
        con.print(f"written: {res.csv}" + (f", {res.png}" if res.png else ""))
    return 0 if all(r.get("has_solution") for r in res.records.values()) else 1
