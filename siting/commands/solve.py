"""``siting solve SCENARIO.toml --out DIR``: solve one scenario and write its outputs.

The same path as :func:`siting.workflow.solve`: the scenario and ``--out`` are checked before any solving,
``[network]`` walking times are cached in ``DIR/travel``, and ``solution.json``, ``sites.csv``,
``coverage.csv`` (and ``record.json``, which ``siting report`` can re-use) are written into ``DIR``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..backends.registry import BACKENDS
from ..result import Result
from .options import OUT

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``solve`` sub-command to ``subparsers``."""
    p = subparsers.add_parser("solve", help="solve a scenario file and write solution.json, sites.csv, coverage.csv",
                              epilog="Model types and their [model] keys: `siting models` and `siting models TYPE`.")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--backend", help=f"override [solver] name ({', '.join(BACKENDS)})")
    p.add_argument("--strategy", help="override [solver] strategy (auto, exact, hybrid, heuristic)")
    p.add_argument("--time-limit", type=float, help="override [solver] time_limit (seconds)")
    p.add_argument("--budget", type=float, help="override [model] budget")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``siting solve`` with the parsed ``args``; the exit code."""
    # here, not at the top: see siting.cli (start-up)
    from ..workflow import solve

    result, prep = solve(args.scenario, out_dir=args.out, budget=args.budget, backend=args.backend,
                         strategy=args.strategy, time_limit_s=args.time_limit, quiet=args.quiet, out_key=OUT)
    if not args.quiet:
        _print_summary(result, prep.out_dir)
    if not result.has_solution:
        print(f"{result.status}: {result.message}", file=sys.stderr)
        return 1
    return 0


def _print_summary(result: Result, out_dir: Path) -> None:
    from rich.console import Console  # third-party: only when something is printed
    from rich.table import Table

    table = Table(title=f"{result.model} — {result.status}", show_header=False)
    rows = [
        ("objective", result.objective),
        ("best bound", result.best_bound),
        ("gap", None if result.gap is None else f"{result.gap:.4%}"),
        ("selected sites", len(result.selected)),
        ("total cost", f"{result.total_cost:,.0f}"),
        ("covered population", f"{result.covered_population:,.0f} / {result.total_population:,.0f}"),
        ("solver", result.solver),
        ("seconds", f"{result.seconds:.2f}"),
    ]
    for key, value in rows:
        table.add_row(key, "—" if value is None else str(value))
    console = Console()
    console.print(table)
    # a multi-service plan: what each service gains, and (phased) what each year does
    from ..workflow.reporting.policy import phase_lines, service_lines

    for title, lines in (("coverage per service, before -> after:", service_lines(result.stats)),
                         ("by year:", phase_lines(result.stats))):
        if lines:
            console.print(title, markup=False, highlight=False)
        for line in lines:
            console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"written to {out_dir}")
