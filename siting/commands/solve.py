"""``siting solve SCENARIO.toml --out DIR``: solve one scenario and write its outputs.

The same path as :func:`siting.workflow.solve`: the scenario and ``--out`` are checked before any solving,
``[network]`` walking times are cached in ``DIR/travel``, and ``solution.json``, ``sites.csv``,
``coverage.csv`` (and ``record.json``, which ``siting report`` can re-use) are written into ``DIR``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

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
    p.add_argument("--crs", help="override [data] crs: the CRS plain x/y are in, and the metric CRS lon/lat are "
                   "projected to (e.g. EPSG:32648)")
    p.add_argument("--lang", default=argparse.SUPPRESS, metavar="{en,zh}",
                   help="language of the printed summary: en or zh (default: [report] language, else $SITING_LANG, "
                   "else en); the files written are the same in both")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``siting solve`` with the parsed ``args``; the exit code."""
    # here, not at the top: see siting.cli (start-up)
    from ..i18n import chosen_language, parse_language
    from ..workflow import solve

    # checked before solving: a typo in --lang must not wait for the solver
    explicit = parse_language(args.lang) if getattr(args, "lang", None) is not None else chosen_language()
    from ..scenario import data_overrides

    with data_overrides(crs=getattr(args, "crs", None)):  # every scenario this solve loads gets --crs
        result, prep = solve(args.scenario, out_dir=args.out, budget=args.budget, backend=args.backend,
                             strategy=args.strategy, time_limit_s=args.time_limit, quiet=args.quiet, out_key=OUT)
    if not args.quiet:
        from ..i18n import resolve_language, use_language
        from ..i18n.labels import catalog_terms, use_terms

        scenario = getattr(prep, "scenario", None)
        path = getattr(scenario, "path", None)
        lang = resolve_language(explicit, getattr(scenario, "report", None), file=None if path is None else str(path))
        with use_language(lang), use_terms(catalog_terms(scenario)):
            _print_summary(result, prep.out_dir, scenario)
    if not result.has_solution:
        print(f"{result.status}: {result.message}", file=sys.stderr)
        return 1
    return 0


def _print_summary(result: Result, out_dir: Path, scenario: Any = None) -> None:
    from rich.console import Console  # third-party: only when something is printed
    from rich.table import Table

    from ..i18n import Language, current_language
    from ..i18n.labels import tr
    from ..i18n.numbers import format_money

    zh = current_language() is Language.ZH
    if zh:  # the reporting package pulls in the plotting stack: only for a Chinese summary
        from ..workflow.reporting.money import report_currency

        currency = report_currency(scenario) if scenario is not None else "CNY"
    table = Table(title=f"{result.model} — {tr(str(result.status))}", show_header=False)
    # total cost in the scenario's currency: 万元 / 亿元 for yuan in Chinese
    rows = [
        (tr("objective"), result.objective),
        (tr("best bound"), result.best_bound),
        (tr("gap"), None if result.gap is None else f"{result.gap:.4%}"),
        (tr("selected sites"), len(result.selected)),
        (tr("total cost"), format_money(result.total_cost, currency) if zh else f"{result.total_cost:,.0f}"),
        (tr("covered population"), f"{result.covered_population:,.0f} / {result.total_population:,.0f}"),
        (tr("solver"), result.solver),
        (tr("seconds"), f"{result.seconds:.2f}"),
    ]
    for key, value in rows:
        table.add_row(key, "—" if value is None else str(value))
    console = Console()
    console.print(table)
    # a multi-service plan: what each service gains, and (phased) what each year does
    from ..workflow.reporting.policy import phase_lines, service_lines

    for title, lines in ((tr("coverage per service, before -> after:"), service_lines(result.stats)),
                         (tr("by year:"), phase_lines(result.stats))):
        if lines:
            console.print(title, markup=False, highlight=False)
        for line in lines:
            console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    console.print(tr("written to {path}").format(path=out_dir))
