"""``siting rank SCENARIO.toml``: idle buildings ranked for conversion, with the reasons (rank.csv)."""
from __future__ import annotations

import argparse
from typing import Any

from .options import add_engine_options, engine_options

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``rank`` sub-command to ``subparsers``."""
    p = subparsers.add_parser("rank", help="rank idle buildings: selection frequency over a budget sweep, "
                              "covered population per unit of money, loss if excluded")
    p.add_argument("scenario", help="scenario TOML file (its budget gives the reference plan)")
    p.add_argument("--budgets", nargs="+", metavar="B",
                   help="sweep budgets (default: [sweep] budgets, else 0.25-2 x the scenario budget)")
    p.add_argument("--resolve-top", type=int, default=0, metavar="N",
                   help="re-optimise without each of the N most important plan buildings (exact loss; N solves)")
    p.add_argument("--out", help="output folder (default: [output] dir of the scenario, or out/<name>)")
    p.add_argument("--top", type=int, default=20, help="rows to print (default 20)")
    add_engine_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``siting rank`` with the parsed ``args``; the exit code."""
    # here, not at the top: see siting.cli (start-up)
    from ..workflow import rank

    res = rank(args.scenario, out_dir=args.out, budgets=args.budgets, resolve_top=args.resolve_top,
               **engine_options(args))
    if not args.quiet:
        from rich.console import Console  # third-party: only when something is printed
        from rich.table import Table

        money = f"M {res.currency}"
        t = Table(title=f"idle buildings ranked (reference budget {res.reference_budget / 1e6:,.2f} {money})",
                  caption="services: in the plan, or (best to add); covered: only by it, or it would add; "
                          f"per {money}: covered per million {res.currency} of cost. Reasons in rank.csv")
        # services: placed in the plan, or (in brackets) the best one to add; covered: only by it / it would add
        for c in ("#", "site", f"cost ({money})", "chosen", "services", "covered", f"per {money}", "re-opt loss"):
            t.add_column(c, justify="left" if c == "services" else "right", overflow="fold")
        shown: list[Any] = list(res.table.head(args.top).itertuples())
        for r in shown:
            t.add_row(str(r.rank), r.site_id, f"{r.cost / 1e6:.2f}", f"{r.times_selected}/{r.n_budgets}",
                      (r.plan_services if r.in_plan else f"({r.best_new_service})") or "",
                      f"{r.marginal_covered:,.0f}", f"{r.marginal_per_million_yuan:,.0f}",
                      "" if r.resolve_loss != r.resolve_loss else f"{r.resolve_loss:,.0f}")
        con = Console()
        con.print(t)
        con.print(f"written: {res.csv}")
    return 0
