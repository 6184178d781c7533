"""The planner's workflow as a Python API (each function mirrors a CLI command).

=====================  ===========================================  ==========================================
Python                 CLI                                          writes (under ``out_dir``)
=====================  ===========================================  ==========================================
:func:`solve`          ``siting solve S.toml --out DIR``            solution.json, sites.csv, coverage.csv
:func:`sweep`          ``siting sweep S.toml --budgets ...``        sweep/<budget>.json, sweep.csv, sweep.png
:func:`compare`        ``siting compare A.toml B.toml ...``         compare/<name>.json, compare.csv, compare.md
:func:`rank`           ``siting rank S.toml``                       rank.csv
:func:`report`         ``siting report S.toml``                     report/report.html, report/siting.gpkg
:func:`run_demo`       ``siting demo --out DIR``                    all of the above for the demo district
=====================  ===========================================  ==========================================

Travel times over a ``[network]`` are computed once per scenario and cached in
``<out_dir>/travel/travel_<key>.parquet`` (reused while the scenario and its input files are unchanged), so
the solves of a sweep, a ranking or a report share them.

The package imports downward only:

* :mod:`~siting.workflow.records` (fingerprints, resumable records, output folders) and
  :mod:`~siting.workflow.budgets`;
* :mod:`~siting.workflow.tasks` (progress bar, Dask client, task runner, the worker side of one solve);
* :mod:`~siting.workflow.prepare` (scenario preparation and the travel cache);
* the commands: :mod:`~siting.workflow.solve_one`, :mod:`~siting.workflow.budget_sweep`,
  :mod:`~siting.workflow.comparison`, :mod:`~siting.workflow.reporting`, :mod:`~siting.workflow.ranking`
  (on the sweep and the report's coverage model), :mod:`~siting.workflow.demo` (on all of them).

The modules are not named like the functions above (``sweep``, ``compare``...): a submodule of the same name
would be shadowed by the function here, breaking ``import siting.workflow.sweep`` and ``mock.patch`` paths.

Example
-------
>>> from siting import workflow
>>> res = workflow.sweep("scenarios/example/mclp.toml", [1e6, 2e6], use_dask=False, quiet=True)  # doctest: +SKIP
>>> res.table[["budget", "coverage_share"]]  # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .budget_sweep import SweepResult, sweep
from .comparison import CompareResult, compare
from .prepare import OUTPUT_KEYS, SWEEP_KEYS, Prepared, prepare_scenario
from .ranking import RankResult, rank
from .records import result_record
from .reporting import ReportResult
from .reporting import build_report as report
from .solve_one import solve
from .tasks import solve_record

if TYPE_CHECKING:
    from .demo import DemoResult

__all__ = [
    "Prepared", "prepare_scenario", "solve_record", "result_record", "solve", "sweep", "compare", "rank", "report",
    "run_demo", "SWEEP_KEYS", "OUTPUT_KEYS", "SweepResult", "CompareResult", "RankResult", "ReportResult",
]


def run_demo(out_dir: str | Path = "out/demo", **kwargs: Any) -> DemoResult:
    """Generate the demo district (if needed) and run it end to end; see :func:`siting.workflow.demo.run_demo`."""
    # Imported here, not above: the district generator pulls in scipy.spatial and csgraph (~0.3 s), which
    # `siting solve` and every other command (they import this package) should not pay at start-up.
    from .demo import run_demo as _run_demo

    return _run_demo(out_dir, **kwargs)
