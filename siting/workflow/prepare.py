"""Scenario preparation: one path from a scenario file to repeated solves, for the CLI and for Python.

:func:`prepare_scenario` loads and checks the scenario (``[sweep]`` and ``[output]`` too), picks and checks
its output folder (before any solving), fingerprints what a solve depends on, and computes the walking times
of a ``[network]`` scenario once into ``<out_dir>/travel/travel_<key>.parquet`` (reused while the scenario
and its input files are unchanged), so that every solve of a sweep, a ranking or a report shares them.

Example
-------
>>> prep = prepare_scenario("scenarios/example/mclp.toml", out_dir="out/example", quiet=True)  # doctest: +SKIP
>>> prep.task("budget-2M", budget=2e6)["fingerprint"] == prep.fingerprint  # doctest: +SKIP
True
"""
from __future__ import annotations

import difflib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..data.travel_table import travel_metadata
from ..errors import ScenarioError
from ..io import atomic_write_csv, atomic_write_parquet, to_jsonable
from ..scenario import Scenario, load_scenario
from ..travel.config import NetworkConfig
from ..travel.scenario import network_config, scenario_cutoff, scenario_travel_times
from ..travel.speed import WALKING_MODEL_VERSION
from .budgets import parse_budgets
from .records import fingerprint, output_folder, read_record, write_record
from .tasks import SolveTask

__all__ = ["Prepared", "prepare_scenario", "travel_limits", "SWEEP_KEYS", "OUTPUT_KEYS"]

SWEEP_KEYS = ("budgets",)
OUTPUT_KEYS = ("dir",)


@dataclass(frozen=True)
class Prepared:
    """A validated scenario ready for repeated solves.

    ``overrides`` are the scenario changes every solve applies (the cached travel table);
    ``effective`` is the scenario with them applied.
    """

    scenario_path: Path
    scenario: Scenario
    name: str
    out_dir: Path
    fingerprint: str
    travel: str | None = None           # cached travel-time table (when computed from [network])
    overrides: dict[str, Any] = field(default_factory=dict)
    sweep_budgets: list[float] | None = None

    @property
    def effective(self) -> Scenario:
        """The scenario with :attr:`overrides` applied (what a solve sees)."""
        return self.scenario.with_overrides(**self.overrides) if self.overrides else self.scenario

    def task(self, name: str, *, budget: float | None = None, overrides: dict[str, Any] | None = None
             ) -> SolveTask:
        """A solve task of this scenario (for :func:`~siting.workflow.tasks.run_resumable`)."""
        return SolveTask(name=name, scenario=str(self.scenario_path), budget=budget, travel=self.travel,
                         fingerprint=self.fingerprint, overrides=dict(self.overrides, **(overrides or {})))


def _check_raw_section(scenario: Scenario, section: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    table = getattr(scenario, section) or {}
    for key in table:
        if key not in allowed:
            guess = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            raise ScenarioError(f"unknown key{hint}; allowed: {', '.join(allowed)}", file=str(scenario.path),
                                key=f"{section}.{key}")
    return table


def _input_files(scenario: Scenario) -> list[Path]:
    files = [scenario.data.demand, scenario.data.candidates]
    if scenario.data.travel_times is not None:
        files.append(scenario.data.travel_times)
    if scenario.model.services is not None:  # the multi-service catalogue file
        files.append(scenario.model.services)
    base = scenario.path.parent if scenario.path is not None else Path.cwd()
    for v in (scenario.network or {}).values():
        if isinstance(v, str) and (base / v).is_file():
            files.append((base / v).resolve())
    return files


def _sweep_budgets(scenario: Scenario, spath: Path) -> list[float] | None:
    sw = _check_raw_section(scenario, "sweep", SWEEP_KEYS)
    if "budgets" not in sw:
        return None
    if not isinstance(sw["budgets"], list):
        raise ScenarioError(f"expected a list of numbers, got {sw['budgets']!r}", file=str(spath),
                            key="sweep.budgets")
    return parse_budgets(sw["budgets"], file=str(spath), key="sweep.budgets")


def _out_dir(scenario: Scenario, spath: Path, out_dir: str | Path | None, out_key: str) -> Path:
    outp = _check_raw_section(scenario, "output", OUTPUT_KEYS)
    if out_dir is not None:
        return output_folder(out_dir, key=out_key)
    if "dir" in outp:
        if not isinstance(outp["dir"], str) or not outp["dir"].strip():
            raise ScenarioError(f"expected a folder path, got {outp['dir']!r}", file=str(spath), key="output.dir")
        return output_folder(spath.parent / outp["dir"], key="output.dir", file=str(spath))
    return output_folder(Path("out") / scenario.name, key=out_key)


def prepare_scenario(path: str | Path, *, out_dir: str | Path | None = None, quiet: bool = False,
                     travel: bool = True, travel_dir: str | Path | None = None,
                     out_key: str = "out_dir") -> Prepared:
    """Load and check a scenario (``[sweep]``/``[output]`` too), pick its output folder, cache its travel times.

    Parameters
    ----------
    path : str or Path
        Scenario TOML file.
    out_dir : str or Path, optional
        Output folder; default the scenario's ``[output] dir``, else ``out/<scenario name>``. It is checked
        (and created) here, before any solving: naming an existing file is a one-line error.
    quiet : bool
        No progress bar while walking times are computed.
    travel : bool
        Compute (or reuse) the walking times of a ``[network]`` scenario.
    travel_dir : str or Path, optional
        Folder of the travel cache; default ``<out_dir>/travel``.
    out_key : str
        How error messages name ``out_dir`` (``--out`` from the command line).

    Raises
    ------
    ScenarioError
        One line naming the file and key: unknown or malformed keys, a bad output folder.
    """
    scenario = load_scenario(path)
    spath = Path(scenario.path) if scenario.path is not None else Path(path)
    budgets = _sweep_budgets(scenario, spath)
    out = _out_dir(scenario, spath, out_dir, out_key)
    travel_path = None
    overrides: dict[str, Any] = {}
    if travel and scenario.data.travel_times is None and scenario.network:
        cache = output_folder(travel_dir, key="travel_dir") if travel_dir is not None else out / "travel"
        travel_path = str(_cached_travel(scenario, cache, quiet=quiet))
        overrides["data.travel_times"] = travel_path
    return Prepared(scenario_path=spath, scenario=scenario, name=scenario.name, out_dir=out,
                    fingerprint=_scenario_key(scenario), travel=travel_path, overrides=overrides,
                    sweep_budgets=budgets)


def _scenario_key(scenario: Scenario) -> str:
    """Fingerprint of what a solve depends on: the scenario minus [sweep] / [output], and its input files.

    Editing the sweep's budget list or the output folder therefore keeps finished results.
    """
    raw = {k: v for k, v in (scenario.raw or {}).items() if k not in ("sweep", "output")}
    return fingerprint(scenario.path or scenario.name, _input_files(scenario),
                       extra=json.dumps(raw, sort_keys=True, default=str),
                       include_scenario=False)


def _travel_key(scenario: Scenario) -> str:
    """Fingerprint of what travel times depend on: the [network] table and the files it, demand and sites name."""
    # the walking model's version too: a table cached under an older stair / slope model is not reused
    net = json.dumps({"network": scenario.network, "walking_model": WALKING_MODEL_VERSION}, sort_keys=True,
                     default=str)
    files = [f for f in _input_files(scenario) if f != scenario.data.travel_times]
    return fingerprint(scenario.path or scenario.name, files, extra=net, include_scenario=False)


def travel_limits(cfg: NetworkConfig, cutoff_min: float, rows: int) -> dict[str, Any]:
    """The metadata a table computed over ``cfg``'s network carries (:func:`~siting.data.travel_table.travel_metadata`).

    Besides the cutoff and the speeds (what reading checks), the walking assumptions are kept for readers:
    slopes on or off, the stair model (per-group rates, or the legacy factor) and the snapping distance.
    """
    legacy = bool(getattr(cfg, "legacy_stairs", True))
    return travel_metadata(cutoff_min, cfg.speeds, rows, network=cfg.path.name, slope=cfg.slope,
                           max_snap_m=cfg.max_snap_m, stairs_factor=cfg.stairs_factor if legacy else None,
                           stairs=to_jsonable(getattr(cfg, "stairs", {})),
                           slopes=to_jsonable(getattr(cfg, "slopes", {})))


def _cached_travel(scenario: Scenario, travel_dir: Path, *, quiet: bool) -> Path:
    """Compute the scenario's network travel times once into ``travel_dir`` (reused while inputs are unchanged)."""
    key = _travel_key(scenario)
    table = travel_dir / f"travel_{key}.parquet"
    stamp = travel_dir / f"travel_{key}.json"
    if read_record(stamp, key) is not None and table.exists():
        return table
    started = time.perf_counter()
    df = scenario_travel_times(scenario, progress=not quiet)
    far = df.attrs.get("far_points")
    df.attrs = {}  # attrs hold DataFrames: not for Parquet metadata
    cfg = network_config(scenario)
    # the table records its cutoff and speeds, so reading it back can refuse a threshold beyond the cutoff
    atomic_write_parquet(table, df, metadata=travel_limits(cfg, scenario_cutoff(scenario, cfg), len(df)))
    if isinstance(far, pd.DataFrame) and not far.empty:
        atomic_write_csv(travel_dir / f"far_points_{key}.csv", far)
    write_record(stamp, {"status": "done", "finished": True, "fingerprint": key, "rows": len(df),
                         "seconds": time.perf_counter() - started})
    return table
