"""``GET /api/export``: the current plan as CSV or GeoPackage, and a scenario TOML that reproduces it.

The TOML is the scenario file with the request applied (budget — and, phased, every year's budget in
proportion —, service overrides, time limit) and absolute paths, so ``siting solve`` runs it from anywhere.
Locked buildings are statuses of the candidates table: with locks, a copy of that table with the statuses set
is written into the server's output folder and the TOML reads it. ``pin`` also locks the plan itself (its
buildings required, every other idle building excluded): ``siting solve`` then returns this plan even when
the original solve stopped at its time limit.
"""
from __future__ import annotations

import io
import math
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..data.instance import SiteStatus
from ..errors import InputError
from .planner import Planner
from .sessions import Plan

__all__ = ["plan_toml", "plan_csv", "plan_gpkg", "toml_text", "EXPORT_FORMATS"]

EXPORT_FORMATS = ("toml", "csv", "gpkg")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else '"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "nan"
        return repr(f) if math.isfinite(f) else ("inf" if f > 0 else "-inf")
    if isinstance(v, Path):
        v = str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(x)}" for k, x in v.items()) + " }"
    raise InputError(f"cannot write {type(v).__name__} value {v!r} to TOML")


def toml_text(raw: Mapping[str, Any], header: str = "") -> str:
    """TOML of a parsed scenario dict: scalars, then tables (nested tables as sub-tables), then ``[[phases]]``."""
    lines = [f"# {line}" for line in header.splitlines()]

    def table(name: str, body: Mapping[str, Any]) -> None:
        scalars = {k: v for k, v in body.items() if not isinstance(v, Mapping)}
        subs = {k: v for k, v in body.items() if isinstance(v, Mapping)}
        lines.extend(["", f"[{name}]"])
        lines.extend(f"{_key(str(k))} = {_value(v)}" for k, v in scalars.items())
        for k, v in subs.items():
            table(f"{name}.{_key(str(k))}", v)

    for k, v in raw.items():
        if not isinstance(v, Mapping) and k != "phases":
            lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in raw.items():
        if isinstance(v, Mapping):
            table(_key(k), v)
    for phase in raw.get("phases") or []:
        lines.extend(["", "[[phases]]"])
        lines.extend(f"{_key(str(k))} = {_value(v)}" for k, v in phase.items())
    return "\n".join(lines).lstrip("\n") + "\n"


def _absolute(raw: dict[str, Any], planner: Planner, plan: Plan) -> None:
    """Every file path of ``raw`` made absolute (the TOML is downloaded; it must run from anywhere)."""
    sc = plan.scenario
    base = sc.base_dir or Path.cwd()
    data = raw.setdefault("data", {})
    data["demand"], data["candidates"] = str(sc.data.demand), str(sc.data.candidates)
    if sc.data.travel_times is not None:
        data["travel_times"] = str(sc.data.travel_times)   # the cached walking times: no recomputation
    for section, key in (("network", "path"), ("model", "services"), ("report", "zones"), ("report", "streets"),
                         ("services", "path")):
        table = raw.get(section)
        if isinstance(table, dict) and isinstance(table.get(key), str) and not Path(table[key]).is_absolute():
            table[key] = str((base / table[key]).resolve())
    raw.pop("output", None)              # the reader chooses where `siting solve --out` writes


def _statuses(planner: Planner, plan: Plan, pin: bool) -> np.ndarray:
    status = planner.statuses(plan.request).astype(object)
    if pin:
        idle = status != SiteStatus.EXISTING.value
        chosen = np.isin(planner.instance.sites.ids.astype(str), list(plan.result.selected))
        status[idle & chosen] = SiteStatus.REQUIRED.value
        status[idle & ~chosen] = SiteStatus.EXCLUDED.value
    return status


def plan_toml(planner: Planner, plan: Plan, out_dir: Path, session_id: str, *, pin: bool = False) -> str:
    """The scenario TOML that reproduces ``plan`` with ``siting solve`` (see the module docstring)."""
    from ..workflow.candidates import candidates_with_statuses

    raw = _deep_copy(plan.scenario.raw)
    _absolute(raw, planner, plan)
    locked = pin or plan.request.required or plan.request.excluded
    note = ""
    if locked:
        source = Path(plan.scenario.data.candidates)
        by_id = dict(zip(planner.instance.sites.ids.astype(str), _statuses(planner, plan, pin), strict=True))
        folder = out_dir / "serve" / f"{session_id[:12]}-plan{plan.number}"
        folder.mkdir(parents=True, exist_ok=True)
        # the user's own table and format, id and status in the columns [data.columns] names
        target = candidates_with_statuses(source, by_id, folder / source.name,
                                          plan.scenario.data.columns)
        raw["data"]["candidates"] = str(target)
        note = (f"\nCandidates with the locks as statuses: {target}"
                f"\nrequired: {', '.join(plan.request.required) or '-'}; excluded: "
                f"{', '.join(plan.request.excluded) or '-'}" + ("; pinned to the plan's buildings" if pin else ""))
    raw["name"] = f"{plan.scenario.name}-serve-plan{plan.number}"
    r = plan.result
    header = (f"Written by `siting serve` (plan {plan.number}: {r.status}, {len(r.selected)} buildings, cost "
              f"{r.total_cost:,.0f}).\nRun it with: siting solve THIS.toml --out DIR" + note)
    return toml_text(raw, header)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def plan_csv(plan: Plan) -> str:
    """The plan's ``sites.csv`` (one row per site, or per site and service for multi-service plans)."""
    buf = io.StringIO()
    plan.result.sites.to_csv(buf, index=False)
    return buf.getvalue()


def plan_gpkg(planner: Planner, plan: Plan) -> bytes:
    """A GeoPackage with the plan's ``sites`` and the demand points' ``coverage`` (points, the scenario's CRS)."""
    import geopandas as gpd
    import pandas as pd

    inst, r = planner.instance, plan.result
    crs = plan.scenario.data.crs
    sites = r.sites.copy()
    if "x" not in sites or "y" not in sites:
        where = pd.Index(inst.sites.ids.astype(str)).get_indexer(sites["site_id"].astype(str))
        sites["x"], sites["y"] = np.asarray(inst.sites.x, float)[where], np.asarray(inst.sites.y, float)[where]
    coverage = r.coverage.copy()
    where = pd.Index(inst.demand.ids.astype(str)).get_indexer(coverage["demand_id"].astype(str))
    coverage["x"], coverage["y"] = np.asarray(inst.demand.x, float)[where], np.asarray(inst.demand.y, float)[where]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.gpkg"
        for layer, frame in (("sites", sites), ("coverage", coverage)):
            frame = frame.copy()
            for col in frame.columns:     # nullable ints and objects as plain columns the driver writes
                if str(frame[col].dtype) in ("Int64", "boolean"):
                    frame[col] = frame[col].astype("float64")
            gdf = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["x"], frame["y"]), crs=crs)
            gdf.to_file(path, layer=layer, driver="GPKG")
        return path.read_bytes()
