"""``siting sweep SCENARIO.toml --budgets 10M 20M 40M``: the coverage-vs-budget curve (CSV + PNG), resumable."""
from __future__ import annotations

import argparse

__all__ = ["register", "run", "add_engine_options"]


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """--scheduler / --no-dask / --workers / --quiet, shared by sweep, compare and rank."""
    g = p.add_argument_group("execution")
    g.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler of an existing cluster (tcp://host:8786); "
                   "default: a local 2-worker cluster")
    g.add_argument("--no-dask", action="store_true", help="run the solves one after the other in this process")
    g.add_argument("--workers", type=int, default=2, help="workers of the local Dask cluster (default 2)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors (no progress bars)")


def register(subparsers) -> None:
    p = subparsers.add_parser("sweep", help="solve a scenario for several budgets: coverage-vs-budget CSV and PNG")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--budgets", nargs="+", metavar="B",
                   help="budgets in yuan (e.g. 2e7 40M 60000000); default: [sweep] budgets of the scenario")
    p.add_argument("--out", help="output folder (default: [output] dir of the scenario, or out/<name>)")
    add_engine_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..sweep import sweep

    if args.workers < 1:
        from ..errors import ScenarioError

        raise ScenarioError(f"must be at least 1, got {args.workers}", key="--workers")
    res = sweep(args.scenario, args.budgets, out_dir=args.out, scheduler=args.scheduler, use_dask=not args.no_dask,
                n_workers=args.workers, quiet=args.quiet)
    if not args.quiet:
        from rich.console import Console
        from rich.table import Table

        t = Table(title="coverage vs budget")
        for c in ("budget (M yuan)", "spent (M yuan)", "new sites", "covered", "status", "pareto"):
            t.add_column(c, justify="right")
        for _, r in res.table.iterrows():
            t.add_row(f"{r.budget / 1e6:,.2f}", f"{r.total_cost / 1e6:,.2f}", str(r.n_selected),
                      f"{r.coverage_share:.1%}", str(r.status), "yes" if r.pareto else "")
        con = Console()
        con.print(t)
        con.print(f"{len(res.computed)} solved, {len(res.reused)} reused from {res.csv.parent / 'sweep'}")
        con.print(f"written: {res.csv}" + (f", {res.png}" if res.png else ""))
    return 0 if all(r.get("has_solution") for r in res.records.values()) else 1
