"""One solve of a scenario, written to a folder: the path ``siting solve`` and :func:`siting.workflow.solve` share.

Both go through :func:`~siting.workflow.prepare.prepare_scenario` (scenario and output folder checked before
any solving, ``[network]`` walking times cached in ``<out_dir>/travel``), then
:func:`siting.run.solve_scenario`, then write ``solution.json``, ``sites.csv``, ``coverage.csv`` (via
:func:`siting.run.write_outputs`) and ``record.json`` (the resumable record the report re-uses) into the
output folder.

Example
-------
>>> result, prep = solve("scenarios/example/mclp.toml", out_dir="out/example", quiet=True)  # doctest: +SKIP
>>> sorted(p.name for p in prep.out_dir.iterdir() if p.is_file())  # doctest: +SKIP
['coverage.csv', 'record.json', 'sites.csv', 'solution.json']
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.instance import Instance
from ..io import atomic_write_csv
from ..result import Result
from ..run import write_outputs
from ..scenario import Scenario
from .evaluation import with_served_weight
from .prepare import Prepared, prepare_scenario
from .records import result_record, write_record
from .tasks import solve_checked

__all__ = ["solve", "solve_prepared", "write_unreachable", "SOLVER_FLAGS", "UNREACHABLE_CSV"]

#: the demand points that reach no site in the travel table, when there are any
UNREACHABLE_CSV = "unreachable.csv"

#: keyword of :func:`solve` -> scenario key it overrides
SOLVER_FLAGS = {"budget": "model.budget", "backend": "solver.name", "strategy": "solver.strategy",
                "time_limit_s": "solver.time_limit"}


def solve_prepared(prep: Prepared, folder: Path, *, overrides: dict[str, Any] | None = None,
                   progress: bool = False) -> Result:
    """Solve a prepared scenario (with ``overrides``) and write its outputs and ``record.json`` into ``folder``."""
    changes = dict(prep.overrides, **(overrides or {}))
    sc = prep.scenario.with_overrides(**changes) if changes else prep.scenario
    solved, instance, unreachable = solve_checked(sc, progress=progress)
    # a multi-service sites.csv gets the weight each (site, service) serves, from the result's own tables
    result = with_served_weight(solved)
    if result.has_solution:
        result.stats["shares"] = group_shares(result, sc)
    write_unreachable(folder, instance, unreachable)
    write_outputs(result, folder)
    write_record(folder / "record.json", result_record(result) | {
        "finished": True, "fingerprint": prep.fingerprint, "budget": sc.model.budget})
    return result


def write_unreachable(folder: Path, instance: Instance, positions: np.ndarray) -> Path | None:
    """``unreachable.csv`` (``demand_id, population, x, y``) of the demand points at ``positions``, if any.

    ``solution.json`` lists the count and the first ids (``unreachable_demand``); this file lists them all.
    A solve without any removes an ``unreachable.csv`` left in ``folder`` by an earlier run.
    """
    path = Path(folder) / UNREACHABLE_CSV
    if not len(positions):
        path.unlink(missing_ok=True)
        return None
    d = instance.demand
    frame = pd.DataFrame({"demand_id": d.ids[positions].astype(str), "population": d.population[positions],
                          "x": d.x[positions], "y": d.y[positions]})
    return atomic_write_csv(path, frame)


def group_shares(result: Result, scenario: Scenario) -> dict[str, dict[str, dict[str, float]]]:
    """``{service: {group: {"target", "share_before", "share_after"}}}`` over the whole area, for ``solution.json``.

    A planning committee reads coverage per service and per group (population, elderly, children, ...), not
    one total of person-services; the figures are :func:`siting.evaluate.evaluation_tables`' ``groups`` rows
    with ``by == "all"`` (recomputed from the raw tables).
    """
    from ..evaluate import evaluation_tables

    groups = evaluation_tables(result, scenario, by=(), measures=("2sfca",))["groups"]
    rows = groups[groups["by"] == "all"]
    out: dict[str, dict[str, dict[str, float]]] = {}
    for row in rows[["service", "group", "target", "share_before", "share_after"]].to_dict("records"):
        out.setdefault(str(row["service"]), {})[str(row["group"])] = {
            "target": float(row["target"]), "share_before": float(row["share_before"]),
            "share_after": float(row["share_after"])}
    return out


def solve(scenario: str | Path, *, out_dir: str | Path | None = None, budget: float | None = None,
          backend: str | None = None, strategy: str | None = None, time_limit_s: float | None = None,
          quiet: bool = False, out_key: str = "out_dir") -> tuple[Result, Prepared]:
    """Solve a scenario and write solution.json, sites.csv, coverage.csv (and record.json) into ``out_dir``.

    Parameters
    ----------
    scenario : str or Path
        Scenario TOML file.
    out_dir : str or Path, optional
        Output folder (default: ``[output] dir``, else ``out/<scenario name>``); checked before solving.
    budget, backend, strategy, time_limit_s : optional
        Override ``model.budget``, ``solver.name``, ``solver.strategy``, ``solver.time_limit``.
    quiet : bool
        No progress bars.
    out_key : str
        How error messages name ``out_dir`` (``--out`` from the command line).

    Returns
    -------
    (Result, Prepared)
        The verified result and the prepared scenario (``prep.out_dir`` is where the files are).
    """
    given = {"budget": budget, "backend": backend, "strategy": strategy, "time_limit_s": time_limit_s}
    overrides = {SOLVER_FLAGS[k]: (float(v) if k == "budget" else v) for k, v in given.items() if v is not None}
    prep = prepare_scenario(scenario, out_dir=out_dir, quiet=quiet, out_key=out_key)
    result = solve_prepared(prep, prep.out_dir, overrides=overrides, progress=not quiet)
    return result, prep
