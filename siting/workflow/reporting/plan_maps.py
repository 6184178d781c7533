"""The report's maps of one plan: map coordinates, streets, network service areas, static and interactive maps.

Everything is drawn in one metric frame: the inputs' coordinates, or the street network's projected CRS when the
inputs are longitude / latitude and the network was projected on reading (an OpenStreetMap file). Without a metric
frame the maps have no scale bar (and say so).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...i18n import Language, current_language
from ...i18n.labels import service_title, tr, tr_note
from ..evaluation import ModelInputs
from ..reach import PlanReach
from .interactive import MapFrame, interactive_map
from .maps import before_after_map, lines_to_segments, street_raster
from .streets import StreetLayer, minutes_to_nearest, reached_lines, segment_minutes, segments_of, speed_of_group

__all__ = ["MapCoordinates", "map_coordinates", "speed_groups", "service_areas", "static_maps", "plan_map_html",
           "site_names"]

#: half the width of the band drawn along the streets of a service area (m)
AREA_BUFFER_M = 40.0
#: at most this many plan buildings are named on a static map (all are named in the interactive one)
MAX_LABELS = 40


@dataclass(frozen=True)
class MapCoordinates:
    """Demand and site coordinates in the map's frame; ``metric`` = metres (scale bar), ``note`` when not."""

    dx: np.ndarray
    dy: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    metric: bool
    note: str | None = None


def _geographic(crs: str | None, x: np.ndarray, y: np.ndarray) -> bool:
    if crs:
        try:
            from pyproj import CRS

            return bool(CRS.from_user_input(crs).is_geographic)
        except Exception:  # noqa: BLE001 - an unknown CRS text: judge by the numbers
            pass
    return bool(len(x)) and bool(np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90))


def map_coordinates(reach: PlanReach, streets: StreetLayer) -> MapCoordinates:
    """The points in the map frame (see the module docstring)."""
    d, s = reach.demand, reach.sites
    if not _geographic(d.crs, d.x, d.y):
        return MapCoordinates(d.x, d.y, s.x, s.y, True)
    graph = streets.graph
    if graph is not None and graph.crs and graph.crs != graph.source_crs:
        from pyproj import Transformer

        tr = Transformer.from_crs(graph.source_crs or "EPSG:4326", graph.crs, always_xy=True)
        dx, dy = tr.transform(d.x, d.y)
        sx, sy = tr.transform(s.x, s.y)
        return MapCoordinates(np.asarray(dx), np.asarray(dy), np.asarray(sx), np.asarray(sy), True)
    return MapCoordinates(d.x, d.y, s.x, s.y, False, "coordinates are longitude / latitude: no scale bar")


def speed_groups(inputs: ModelInputs) -> dict[str, str | None]:
    """Service -> the speed group it walks at (a single model's ``speed_group``, a catalog service's own)."""
    from ...models.multiservice_params import MultiserviceParams, resolved_catalog

    params = inputs.params
    if isinstance(params, MultiserviceParams):
        return {svc.key: svc.speed_group for svc in resolved_catalog(params)}
    return {inputs.model.name: getattr(params, "speed_group", None)}


def service_areas(reach: PlanReach, streets: StreetLayer, coords: MapCoordinates, groups: Mapping[str, str | None],
                  before: Mapping[str, np.ndarray], after: Mapping[str, np.ndarray]) -> dict[str, dict[str, Any]]:
    """Service -> ``{"before": segments, "after": segments}`` of its network service area (empty without streets)."""
    graph = streets.graph
    out: dict[str, dict[str, Any]] = {}
    if graph is None:
        return out
    for spec in reach.specs:
        if spec.threshold_min is None:
            continue
        speed = speed_of_group(streets, groups.get(spec.key))
        segment_min = segment_minutes(streets, groups.get(spec.key))  # one network pass for before and after
        entry = {}
        for when, providers in (("before", before), ("after", after)):
            mask = providers[spec.key]
            minutes = minutes_to_nearest(graph, coords.sx[mask], coords.sy[mask], speed_m_s=speed,
                                         use_slope=streets.use_slope, stairs_factor=streets.stairs_factor,
                                         limit_min=spec.threshold_min, segment_min=segment_min)
            entry[when] = lines_to_segments(reached_lines(graph, minutes, spec.threshold_min))
        out[spec.key] = entry
    return out


def site_names(reach: PlanReach) -> np.ndarray | None:
    """The candidates' ``name`` column (text), None when the table has none."""
    labels = getattr(reach.sites, "labels", {}) or {}
    for key in ("name", "Name", "NAME"):
        if key in labels:
            return np.array(["" if v is None or v != v else str(v) for v in labels[key]], dtype=object)
    return None


def _english(label: str) -> str:
    """The ASCII part of a catalogue label for English map titles."""
    m = re.search(r"\(([ -~]+)\)\s*$", label or "")
    return f" ({m.group(1)})" if m else ""


def service_map_title(key: str, label: str) -> str:
    """A service as a map names it: ``elderly_care (elderly day care station)`` / ``日间照料中心``."""
    if current_language() is Language.ZH:
        return service_title(key, label, Language.ZH)
    return f"{key}{_english(label)}"


def static_maps(reach: PlanReach, coords: MapCoordinates, streets: StreetLayer, background: Any,
                plan: Mapping[str, set[str]], before: Mapping[str, np.ndarray],
                covered_before: Mapping[str, np.ndarray], covered_after: Mapping[str, np.ndarray],
                areas: Mapping[str, Mapping[str, Any]], advance: Any = None) -> list[tuple[str, bytes]]:
    """One before / after PNG per service."""
    street_img = None
    if streets.graph is not None:
        pad = 0.03 * max(np.ptp(coords.dx), np.ptp(coords.dy), 1.0)
        street_img = street_raster(segments_of(streets.graph), (coords.dx.min() - pad, coords.dx.max() + pad,
                                                                coords.dy.min() - pad, coords.dy.max() + pad))
    names = site_names(reach)
    notes = [tr_note(n) for n in (streets.note, coords.note) if n]
    maps = []
    for s in reach.specs:
        hosted = np.array([s.key in plan.get(i, ()) for i in reach.ids], dtype=bool)
        shown = before[s.key] & ~hosted
        idx = np.flatnonzero(hosted)[:MAX_LABELS]
        labels = [(float(coords.sx[j]), float(coords.sy[j]), str(names[j]) if names is not None and names[j]
                   else str(reach.ids[j])) for j in idx]
        reach_text = tr("reachable") if s.threshold_min is None else \
            tr("within {minutes} min").format(minutes=f"{s.threshold_min:.1f}")
        area = areas.get(s.key, {})
        png = before_after_map(coords.dx, coords.dy, reach.w[s.key], covered_before[s.key], covered_after[s.key],
                               providers_xy=(coords.sx[shown], coords.sy[shown]),
                               new_xy=(coords.sx[hosted], coords.sy[hosted]), streets=street_img,
                               background=background, area_before=area.get("before"), area_after=area.get("after"),
                               labels=labels, metric=coords.metric, note="; ".join(notes),
                               title=f"{service_map_title(s.key, s.label)}: {tr(s.weight_column)} {reach_text}")
        maps.append((s.key, png))
        if advance is not None:
            advance()
    return maps


def plan_map_html(reach: PlanReach, coords: MapCoordinates, streets: StreetLayer, background: Any,
                  plan: Mapping[str, set[str]], covered_after: Mapping[str, np.ndarray],
                  areas: Mapping[str, Mapping[str, Any]], *, currency: str, plan_cost: Mapping[str, float],
                  ranking: pd.DataFrame | None, opened_year: Mapping[str, int] | None,
                  covered_only_here: np.ndarray) -> str:
    """The interactive map's HTML fragment for the plan."""
    names = site_names(reach)
    status = np.array([str(v) for v in reach.sites.status])
    existing = reach.existing_services()
    rank_rows: dict[str, dict[str, Any]] = {}
    if ranking is not None and not ranking.empty and "site_id" in ranking:
        cols = [c for c in ("rank", "reasons") if c in ranking]
        for row in ranking[["site_id", *cols]].to_dict("records"):
            rank_rows[str(row.pop("site_id"))] = {str(k): v for k, v in row.items()}
    floor = reach.sites.floor_area
    sites = []
    for j, sid in enumerate(reach.ids):
        kind = "existing" if status[j] == "existing" else "new" if sid in plan else "candidate"
        extra = rank_rows.get(sid, {})
        sites.append({"id": sid, "name": str(names[j]) if names is not None and names[j] else "", "kind": kind,
                      "x": coords.sx[j], "y": coords.sy[j], "services": ";".join(sorted(plan.get(sid, ()))),
                      "existing_services": existing[j],
                      "cost": plan_cost.get(sid, float(reach.sites.cost[j])) if kind != "existing" else None,
                      "floor_area": None if floor is None else float(floor[j]),
                      "year": (opened_year or {}).get(sid), "rank": extra.get("rank"),
                      "reasons": extra.get("reasons"), "covered_only_here": float(covered_only_here[j])})
    services = [{"key": s.key, "title": service_map_title(s.key, s.label)} for s in reach.specs]
    frame = MapFrame.around(np.concatenate([coords.dx, coords.sx]), np.concatenate([coords.dy, coords.sy]))
    weight = reach.demand.population
    return interactive_map(frame=frame, metres_per_unit=1.0 if coords.metric else None, currency=currency,
                           services=services, demand_xy=(coords.dx, coords.dy), demand_weight=weight,
                           covered_after=dict(covered_after), sites=sites,
                           streets=segments_of(streets.graph, 80_000) if streets.graph is not None else None,
                           areas={k: dict(v) for k, v in areas.items()}, area_buffer_m=AREA_BUFFER_M,
                           background=background, label_ids=names is None)
