"""The planner's workflow as a Python API (each function mirrors a CLI command).

=====================  ===========================================  ==========================================
Python                 CLI                                          writes (under ``out_dir``)
=====================  ===========================================  ==========================================
:func:`solve`          ``siting solve S.toml --out DIR``            solution.json, sites.csv, coverage.csv
:func:`sweep`          ``siting sweep S.toml --budgets ...``        sweep/<budget>.json, sweep.csv, sweep.png
:func:`compare`        ``siting compare A.toml B.toml ...``         compare/<name>.json, compare.csv, compare.md
:func:`rank`           ``siting rank S.toml``                       rank.csv
:func:`report`         ``siting report S.toml``                     report.html, siting.gpkg
:func:`run_demo`       ``siting demo --out DIR``                    all of the above for the demo district
=====================  ===========================================  ==========================================

Travel times over a ``[network]`` are computed once per scenario and cached in
``<out_dir>/travel/travel_times.parquet`` (reused while the scenario and its input files are unchanged), so
the solves of a sweep, a ranking or a report share them.

Example
-------
>>> from siting import workflow
>>> res = workflow.sweep("scenarios/example/mclp.toml", [1e6, 2e6], use_dask=False, quiet=True)  # doctest: +SKIP
>>> res.table[["budget", "coverage_share"]]  # doctest: +SKIP
"""
from __future__ import annotations

import difflib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ScenarioError
from .sweep import SweepResult, fingerprint, parse_budgets, read_record, write_json
from .sweep import sweep as _sweep

__all__ = [
    "Prepared", "prepare_scenario", "solve_record", "result_record", "solve", "sweep", "compare", "rank", "report",
    "run_demo", "SWEEP_KEYS", "OUTPUT_KEYS",
]

SWEEP_KEYS = ("budgets",)
OUTPUT_KEYS = ("dir",)


@dataclass(frozen=True)
class Prepared:
    """A validated scenario ready for repeated solves."""

    scenario_path: Path
    scenario: Any                       # siting.scenario.Scenario
    name: str
    out_dir: Path
    fingerprint: str
    travel: str | None = None           # cached travel-time table (when computed from [network])
    overrides: dict = field(default_factory=dict)
    sweep_budgets: list[float] | None = None


def _check_raw_section(scenario, section: str, allowed: tuple[str, ...]) -> dict:
    table = getattr(scenario, section) or {}
    for key in table:
        if key not in allowed:
            guess = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            raise ScenarioError(f"unknown key{hint}; allowed: {', '.join(allowed)}", file=str(scenario.path),
                                key=f"{section}.{key}")
    return table


def _input_files(scenario) -> list[Path]:
    files = [scenario.data.demand, scenario.data.candidates]
    if scenario.data.travel_times is not None:
        files.append(scenario.data.travel_times)
    if getattr(scenario.model, "services", None) is not None:
        files.append(scenario.model.services)
    base = scenario.path.parent if scenario.path is not None else Path.cwd()
    for v in (scenario.network or {}).values():
        if isinstance(v, str) and (base / v).is_file():
            files.append((base / v).resolve())
    return files


def prepare_scenario(path: str | Path, *, out_dir: str | Path | None = None, quiet: bool = False,
                     travel: bool = True, travel_dir: str | Path | None = None) -> Prepared:
    """Load and check a scenario (``[sweep]``/``[output]`` too), pick its output folder, cache its travel times."""
    from .scenario import load_scenario

    scenario = load_scenario(path)
    spath = Path(scenario.path)
    sw = _check_raw_section(scenario, "sweep", SWEEP_KEYS)
    budgets = None
    if "budgets" in sw:
        if not isinstance(sw["budgets"], list):
            raise ScenarioError(f"expected a list of numbers, got {sw['budgets']!r}", file=str(spath),
                                key="sweep.budgets")
        budgets = parse_budgets(sw["budgets"], file=str(spath), key="sweep.budgets")
    outp = _check_raw_section(scenario, "output", OUTPUT_KEYS)
    if out_dir is None:
        if "dir" in outp:
            if not isinstance(outp["dir"], str) or not outp["dir"].strip():
                raise ScenarioError(f"expected a folder path, got {outp['dir']!r}", file=str(spath), key="output.dir")
            out_dir = spath.parent / outp["dir"]
        else:
            out_dir = Path("out") / scenario.name
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    fp = _scenario_key(scenario)
    travel_path = None
    overrides: dict = {}
    if travel and scenario.data.travel_times is None and scenario.network:
        travel_path = str(_cached_travel(scenario, Path(travel_dir) if travel_dir else out / "travel", quiet=quiet))
        overrides["data.travel_times"] = travel_path
    return Prepared(scenario_path=spath, scenario=scenario, name=scenario.name, out_dir=out, fingerprint=fp,
                    travel=travel_path, overrides=overrides, sweep_budgets=budgets)


def _scenario_key(scenario) -> str:
    """Fingerprint of what a solve depends on: the scenario minus [sweep] / [output], and its input files.

    Editing the sweep's budget list or the output folder therefore keeps finished results.
    """
    raw = {k: v for k, v in (scenario.raw or {}).items() if k not in ("sweep", "output")}
    return fingerprint(scenario.path, _input_files(scenario), extra=json.dumps(raw, sort_keys=True, default=str),
                       include_scenario=False)


def _travel_key(scenario) -> str:
    """Fingerprint of what travel times depend on: the [network] table and the files it, demand and sites name."""
    net = json.dumps(scenario.network, sort_keys=True, default=str)
    files = [f for f in _input_files(scenario) if f != scenario.data.travel_times]
    return fingerprint(scenario.path, files, extra=net, include_scenario=False)


def _cached_travel(scenario, travel_dir: Path, *, quiet: bool) -> Path:
    """Compute the scenario's network travel times once into ``travel_dir`` (reused while inputs are unchanged)."""
    key = _travel_key(scenario)
    table = travel_dir / f"travel_{key}.parquet"
    stamp = travel_dir / f"travel_{key}.json"
    if read_record(stamp, key) is not None and table.exists():
        return table
    from .io import atomic_write_parquet
    from .travel.scenario import scenario_travel_times

    started = time.perf_counter()
    df = scenario_travel_times(scenario, progress=not quiet)
    far = df.attrs.get("far_points")
    df.attrs = {}  # attrs hold DataFrames: not for Parquet metadata
    atomic_write_parquet(table, df)
    if isinstance(far, pd.DataFrame) and not far.empty:
        from .io import atomic_write_csv

        atomic_write_csv(travel_dir / f"far_points_{key}.csv", far)
    write_json(stamp, {"status": "done", "finished": True, "fingerprint": key, "rows": len(df),
                       "seconds": time.perf_counter() - started})
    return table


# ----------------------------------------------------------------------------- one solve
def _per_service(result) -> dict:
    """Per-service figures if the model reports them (multi-service), else {}."""
    stats = result.stats or {}
    for key in ("per_service", "services"):
        v = stats.get(key)
        if isinstance(v, dict):
            return {str(k): dict(x) if isinstance(x, dict) else {"value": x} for k, x in v.items()}
    return {}


def _selected_sites(result) -> list[dict]:
    """The converted buildings: id, cost and (multi-service) the services placed in each."""
    sites = result.sites
    if sites is None or sites.empty:
        return []
    if {"service", "origin", "site_id"} <= set(sites.columns):  # multi-service: one row per placement
        new = sites[sites["origin"] == "new"]
        if new.empty:
            return []
        g = new.groupby("site_id", sort=False)
        out = pd.DataFrame({
            "site_id": list(g.groups),
            "services": g["service"].agg(lambda s: ";".join(sorted(s))).to_numpy(),
            "building_cost": g["building_cost"].first().to_numpy() if "building_cost" in new else np.nan,
            "fitout_cost": g["fitout_cost"].sum().to_numpy() if "fitout_cost" in new else 0.0,
        })
        out["cost"] = out["building_cost"] + out["fitout_cost"]
        return out.to_dict(orient="records")
    if "selected" in sites.columns:
        keep = [c for c in ("site_id", "cost", "x", "y", "served_population") if c in sites.columns]
        return sites.loc[sites["selected"].astype(bool), keep].to_dict(orient="records")
    return [{"site_id": s} for s in result.selected]


def result_record(result) -> dict:
    """A JSON-ready record of a result: ``Result.summary()`` plus per-service figures and the selected sites."""
    rec = result.summary()
    rec["per_service"] = _per_service(result)
    rec["selected_sites"] = _selected_sites(result)
    return rec


def _solve(solve_scenario, scenario, *, progress: bool):
    """``solve_scenario`` with a clear error when the model's module is missing from this build."""
    try:
        return solve_scenario(scenario, progress=progress)
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("siting."):
            raise
        from .errors import SitingError

        raise SitingError(f"{scenario.path}: model type '{scenario.model.type}' cannot be solved by this build "
                          f"(module {exc.name} is missing)") from None


def solve_record(scenario: str | Path, *, budget: float | None = None, travel: str | None = None,
                 overrides: dict | None = None) -> dict:
    """Solve one scenario file (with a budget / travel-table override) and return :func:`result_record`."""
    from .run import solve_scenario
    from .scenario import load_scenario

    sc = load_scenario(scenario)
    changes = dict(overrides or {})
    if travel is not None:
        changes["data.travel_times"] = travel
    if budget is not None:
        changes["model.budget"] = float(budget)
    if changes:
        sc = sc.with_overrides(**changes)
    result = _solve(solve_scenario, sc, progress=False)
    return result_record(result) | {"budget": sc.model.budget, "scenario": str(sc.path)}


def solve(scenario: str | Path, *, out_dir: str | Path | None = None, budget: float | None = None,
          quiet: bool = False):
    """Solve a scenario (network travel times cached) and write solution.json, sites.csv, coverage.csv.

    Returns ``(result, prepared)``; the files go to ``<out_dir>/solve``.
    """
    from .run import solve_scenario, write_outputs

    prep = prepare_scenario(scenario, out_dir=out_dir, quiet=quiet)
    changes = dict(prep.overrides)
    if budget is not None:
        changes["model.budget"] = float(budget)
    sc = prep.scenario.with_overrides(**changes) if changes else prep.scenario
    result = _solve(solve_scenario, sc, progress=not quiet)
    write_outputs(result, prep.out_dir / "solve")
    write_json(prep.out_dir / "solve" / "record.json", result_record(result) | {
        "finished": True, "fingerprint": prep.fingerprint, "budget": sc.model.budget})
    return result, prep


def sweep(scenario: str | Path, budgets=None, **kwargs) -> SweepResult:
    """Budget sweep; see :func:`siting.sweep.sweep` (``out_dir``, ``scheduler``, ``use_dask``, ``quiet``...)."""
    return _sweep(scenario, budgets, **kwargs)


def compare(scenarios, **kwargs):
    """Side-by-side comparison; see :func:`siting.compare.compare`."""
    from .compare import compare as _compare

    return _compare(scenarios, **kwargs)


def rank(scenario: str | Path, **kwargs):
    """Idle buildings ranked for conversion; see :func:`siting.rank.rank`."""
    from .rank import rank as _rank

    return _rank(scenario, **kwargs)


def report(scenario: str | Path, **kwargs):
    """HTML report + GeoPackage; see :func:`siting.report.build_report`."""
    from .report import build_report

    return build_report(scenario, **kwargs)


def run_demo(out_dir: str | Path = "out/demo", **kwargs):
    """Generate the demo district (if needed) and run it end to end; see :func:`siting.demo.run.run_demo`."""
    from .demo.run import run_demo as _run

    return _run(out_dir, **kwargs)


def load_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
