"""What ``GET /api/scenario`` returns: the services, budget and sites, and the map layers the page draws.

Coordinates go through the report's :class:`~siting.workflow.reporting.interactive.MapFrame` (a 0..10,000 SVG
box, north up, whole units), so the page needs no map library and no tile server: demand points, sites, the
scenario's streets (``[network] path`` or ``[report] streets``) and zones (``[report] zones``) are its own
vector layers. Street and zone problems become a ``notes`` line, never a failed page.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..data.instance import SiteStatus
from .planner import REPLAN_TIME_LIMIT_S, SERVICE_FIELDS, Planner

__all__ = ["scenario_payload", "service_rows"]

#: streets drawn at most (the longest first would need the graph's lengths; the first N keep the page light)
_MAX_SEGMENTS = 150_000


def service_rows(planner: Planner, lang: str) -> list[dict[str, Any]]:
    """The scenario's services with the fields a request may change (multi-service), else the one weight."""
    from ..i18n.labels import service_title

    params = planner.params
    catalog = getattr(params, "catalog", None)
    if catalog is None:
        column = str(getattr(params, "weight_column", "population"))
        return [{"key": column, "name": column, "title": column, "enabled": True, "editable": False}]
    rows = []
    for s in catalog.services:
        rows.append({"key": s.key, "name": s.name, "title": service_title(s.key, s.name, lang),
                     "demand_column": s.demand_column, "threshold_minutes": s.threshold_minutes,
                     "editable": True, **{f: getattr(s, f) for f in SERVICE_FIELDS}})
    return rows


def _frame(planner: Planner) -> Any:
    from ..workflow.reporting.interactive import MapFrame

    inst = planner.instance
    x = np.concatenate([np.asarray(inst.demand.x, float), np.asarray(inst.sites.x, float)])
    y = np.concatenate([np.asarray(inst.demand.y, float), np.asarray(inst.sites.y, float)])
    return MapFrame.around(x, y)


def _streets(planner: Planner, frame: Any) -> tuple[str, str | None]:
    from ..workflow.reporting.interactive import path_data
    from ..workflow.reporting.streets import read_streets, segments_of

    layer = read_streets(planner.scenario)
    if layer.graph is None:
        return "", layer.note
    return path_data(segments_of(layer.graph, max_segments=_MAX_SEGMENTS), frame), None


def _zones(planner: Planner, frame: Any) -> tuple[list[str], str | None]:
    from ..errors import SitingError
    from ..workflow.reporting.gpkg_zones import read_zones

    report = planner.scenario.report or {}
    given = report.get("zones")
    if given is None:
        return [], None
    base = planner.scenario.base_dir or Path.cwd()
    try:
        zones = read_zones(base / str(given), planner.scenario.data.crs or "",
                           community_column=str(getattr(planner.params, "community_column", "community")),
                           layer=report.get("zones_layer"))
    except SitingError as exc:
        return [], f"zones not drawn: {exc}"
    except Exception as exc:  # noqa: BLE001 - a reader's own error is a note on the page, never a failed page
        return [], f"zones not drawn: {given}: {type(exc).__name__}: {exc}"
    paths = []
    for geom in zones.geometry:
        for poly in getattr(geom, "geoms", [geom]):
            xs, ys = np.asarray(poly.exterior.coords.xy[0]), np.asarray(poly.exterior.coords.xy[1])
            u, v = frame.uv(xs, ys)
            paths.append("M" + "L".join(f"{a} {b}" for a, b in zip(u.tolist(), v.tolist(), strict=True)) + "Z")
    return paths, None


def scenario_payload(planner: Planner, lang: str) -> dict[str, Any]:
    """Services, budget, time limit, sites with status, and the map layers (see the module docstring)."""
    sc, inst = planner.scenario, planner.instance
    frame = _frame(planner)
    du, dv = frame.uv(np.asarray(inst.demand.x, float), np.asarray(inst.demand.y, float))
    su, sv = frame.uv(np.asarray(inst.sites.x, float), np.asarray(inst.sites.y, float))
    sites = inst.sites
    names = sites.labels.get("name")
    provided = sites.labels.get("services")
    status = np.asarray(sites.status).astype(str)
    cost = np.where(status == SiteStatus.EXISTING.value, 0.0, np.asarray(sites.cost, float))
    site_rows = [{"id": str(sites.ids[j]), "u": int(su[j]), "v": int(sv[j]), "status": status[j],
                  "cost": float(cost[j]), "name": "" if names is None else str(names[j] or ""),
                  "services": "" if provided is None else str(provided[j] or "")}
                 for j in range(len(sites))]
    streets, street_note = _streets(planner, frame)
    zones, zone_note = _zones(planner, frame)
    phases = [{"year": int(p.year), "budget": float(p.budget)} for p in getattr(planner.params, "phases", ()) or ()]
    budget = sc.model.get("budget")
    return {
        "name": sc.name, "description": sc.description, "model": sc.model.type, "lang": lang,
        "budget": None if budget is None else float(budget), "phases": phases,
        "time_limit": sc.solver.time_limit, "services": service_rows(planner, lang),
        "replan_time_limit": min(REPLAN_TIME_LIMIT_S, sc.solver.time_limit or REPLAN_TIME_LIMIT_S),
        "sites": site_rows,
        "map": {"width": frame.size[0], "height": frame.size[1], "metres_per_unit": 1.0 / frame.scale,
                "demand_u": du.astype(int).tolist(), "demand_v": dv.astype(int).tolist(),
                "demand_id": inst.demand.ids.astype(str).tolist(), "streets": streets, "zones": zones},
        "notes": [n for n in (street_note, zone_note) if n],
    }
