"""``siting solve SCENARIO.toml --out DIR``: solve one scenario and write its outputs."""
from __future__ import annotations

import argparse
import sys

__all__ = ["register", "run"]


def register(subparsers) -> None:
    p = subparsers.add_parser("solve", help="solve a scenario file and write solution.json, sites.csv, coverage.csv")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--backend", help="override [solver] name (highs, cbc, scipy, ortools)")
    p.add_argument("--strategy", help="override [solver] strategy (auto, exact, hybrid, heuristic)")
    p.add_argument("--time-limit", type=float, help="override [solver] time_limit (seconds)")
    p.add_argument("--budget", type=float, help="override [model] budget")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..run import solve_scenario, write_outputs
    from ..scenario import load_scenario

    scenario = load_scenario(args.scenario)
    overrides = {
        key: value
        for key, value in {
            "solver.name": args.backend,
            "solver.strategy": args.strategy,
            "solver.time_limit": args.time_limit,
            "model.budget": args.budget,
        }.items()
        if value is not None
    }
    if overrides:
        scenario = scenario.with_overrides(**overrides)
    result = solve_scenario(scenario, progress=not args.quiet)
    paths = write_outputs(result, args.out)
    if not args.quiet:
        _print_summary(result, paths["solution"].parent)
    if not result.has_solution:
        print(f"{result.status}: {result.message}", file=sys.stderr)
        return 1
    return 0


def _print_summary(result, out_dir) -> None:
    from rich.console import Console
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
    console.print(f"written to {out_dir}")
