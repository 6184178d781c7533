"""``siting prepare osm``: an OpenStreetMap extract -> streets, candidates, demand and a scenario ready to solve.

Written into ``out_dir`` (every layer in one metric CRS, the local UTM zone unless ``crs`` is given):

- ``streets.gpkg`` (layer ``streets``): walkable ways split at junctions, ``highway``, ``steps``, ``name``,
  ``foot``, ``length_m``; 3-D vertices sampled from ``dem`` when given.
- ``candidates.gpkg`` (layer ``candidates``): the selected buildings as points (representative point of the
  footprint), ``id``, ``name``, ``building``, ``cost`` = floor area x ``cost_per_m2``, ``floor_area``,
  ``area_m2``, ``levels``.
- ``demand.gpkg`` (layer ``demand``): residential buildings (and population-grid cells without one) with
  ``population``, ``elderly``, ``children``, ``name``, ``building``.
- ``footprints.gpkg`` (layers ``candidates``, ``demand``): the same rows with their footprint polygons.
- ``scenario.toml``: ``[data]``, ``[network]``, an MCLP ``[model]``, ``[solver]``, ``[report]``.
- ``prepare.json``: counts and every default used.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, ScenarioError
from ..io import atomic_path, atomic_write_json, atomic_write_text
from . import buildings as bld
from .population import read_grid, share_grid
from .scenario_writer import render_scenario
from .streets import drape, walking_streets

__all__ = ["prepare_osm", "parse_bbox", "PreparedOSM", "GEOMETRY_CHOICES", "DEFAULT_THRESHOLD_MIN", "DEFAULT_BUDGET_SHARE"]

GEOMETRY_CHOICES = ("point", "footprint")
#: the MCLP threshold written into scenario.toml (the 10-minute tier of the life circle)
DEFAULT_THRESHOLD_MIN = 10.0
#: the budget written into scenario.toml: this share of the candidates' total cost (a starting point to edit)
DEFAULT_BUDGET_SHARE = 0.25


@dataclass(frozen=True)
class PreparedOSM:
    """What :func:`prepare_osm` wrote (``paths``) and counted (``summary``, also in ``prepare.json``)."""

    paths: dict[str, Path]
    summary: dict[str, Any] = field(default_factory=dict)


def _write_layers(path: Path, layers: dict[str, Any]) -> Path:
    """Several layers into one GeoPackage, atomically; the first is the one siting reads."""
    with atomic_path(path) as tmp:
        tmp.unlink()
        for k, (name, gdf) in enumerate(layers.items()):
            gdf.to_file(tmp, driver="GPKG", layer=name, engine="pyogrio", **({"append": True} if k else {}))
    return path


def _points(frame: Any, geometry: str) -> Any:
    if geometry == "footprint":
        return frame
    out = frame.copy()
    out["geometry"] = frame.geometry.representative_point()
    return out.set_geometry("geometry", crs=frame.crs)


def _check_number(value: float, key: str, *, gt: float | None = None, ge: float | None = None) -> float:
    v = float(value)
    if not np.isfinite(v) or (gt is not None and not v > gt) or (ge is not None and not v >= ge):
        bound = f"greater than {gt:g}" if gt is not None else f"at least {ge:g}"
        raise ScenarioError(f"must be a finite number {bound}, got {value!r}", key=key)
    return v


def parse_bbox(text: str | None) -> list[float] | None:
    """``"min_lon,min_lat,max_lon,max_lat"`` as four numbers, checked; ``None`` stays ``None``.

    Examples
    --------
    >>> parse_bbox("106.50,29.52,106.60,29.58")
    [106.5, 29.52, 106.6, 29.58]
    """
    if text is None:
        return None
    try:
        box = [float(v) for v in str(text).split(",")]
    except ValueError:
        box = []
    ok = (len(box) == 4 and all(np.isfinite(box)) and -180 <= box[0] < box[2] <= 180
          and -90 <= box[1] < box[3] <= 90)
    if not ok:
        raise ScenarioError(f"expected min_lon,min_lat,max_lon,max_lat in degrees (min < max), got {text!r}",
                            key="--bbox")
    return box


def prepare_osm(pbf: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, dem: str | None = None,
                candidates: str | None = None, persons_per_m2: float = bld.DEFAULT_PERSONS_PER_M2,
                population_grid: str | None = None, cost_per_m2: float = bld.DEFAULT_COST_PER_M2,
                default_levels: float = bld.DEFAULT_LEVELS, crs: str | None = None,
                threshold_minutes: float = DEFAULT_THRESHOLD_MIN, budget: float | None = None,
                geometry: str = "point", bbox: str | None = None) -> PreparedOSM:
    """Prepare the inputs of a siting scenario from an OpenStreetMap ``.osm.pbf`` extract (offline).

    Parameters
    ----------
    pbf : path
        The extract (e.g. from Geofabrik or BBBike).
    out_dir : path
        Output folder (created).
    dem : path, optional
        GeoTIFF of elevations (m), any CRS; sampled onto every street vertex.
    candidates : str, optional
        pandas ``query`` expression over the building tags selecting candidates (default: the idle tags of
        :data:`siting.prepare.buildings.IDLE_TAGS`; the name ``idle`` stands for that test).
    persons_per_m2, default_levels : float
        Population = footprint area x levels x ``persons_per_m2`` (ignored with ``population_grid``).
    population_grid : path, optional
        GeoTIFF or CSV of cells shared among residential buildings (see :mod:`siting.prepare.population`).
    cost_per_m2 : float
        Conversion cost per m2 of floor area (CNY).
    crs : str, optional
        Metric CRS of every layer (default: the local UTM zone).
    threshold_minutes, budget : float
        Written into the scenario's MCLP (default budget: :data:`DEFAULT_BUDGET_SHARE` of the candidates' cost).
    geometry : {"point", "footprint"}
        Geometry of the ``demand`` / ``candidates`` layers: representative points (read by every siting
        version) or the footprint polygons.
    bbox : str, optional
        ``"min_lon,min_lat,max_lon,max_lat"`` (WGS-84): only this part of the extract (a district of a city).

    Raises
    ------
    InputError, ScenarioError
        Unreadable inputs, no candidate or no residential building, a bad option value.
    """
    pbf = Path(pbf)
    if not pbf.exists():
        raise InputError("OpenStreetMap file not found", file=str(pbf))
    if geometry not in GEOMETRY_CHOICES:
        raise ScenarioError(f"expected one of {', '.join(GEOMETRY_CHOICES)}, got {geometry!r}", key="--geometry")
    persons_per_m2 = _check_number(persons_per_m2, "--persons-per-m2", ge=0)
    cost_per_m2 = _check_number(cost_per_m2, "--cost-per-m2", ge=0)
    default_levels = _check_number(default_levels, "--default-levels", gt=0)
    threshold_minutes = _check_number(threshold_minutes, "--threshold-minutes", gt=0)
    if crs is not None:
        from pyproj import CRS

        try:
            if CRS.from_user_input(crs).is_geographic:
                raise ScenarioError(f"needs a metric CRS (e.g. EPSG:32648), got the geographic {crs}", key="--crs")
        except ScenarioError:
            raise
        except Exception:  # noqa: BLE001 - pyproj's own message is long; ours names the option
            raise ScenarioError(f"unknown CRS {crs!r}", key="--crs") from None
    box = parse_bbox(bbox)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    table = bld.read_buildings(str(pbf), crs=crs, default_levels=default_levels, bounding_box=box)
    frame, metric = table.frame, table.crs
    summary: dict[str, Any] = {"source": str(pbf), "bbox": box, "crs": metric, "buildings": int(len(frame)),
                               "levels_defaulted": int((~frame["levels_known"]).sum()),
                               "defaults": {"persons_per_m2": persons_per_m2, "cost_per_m2": cost_per_m2,
                                            "default_levels": default_levels, "shares": bld.DEFAULT_SHARES,
                                            "idle_tags": {k: list(v) for k, v in bld.IDLE_TAGS.items()}}}

    picked = bld.select_candidates(frame, candidates)
    if not picked.any():
        what = f"the expression {candidates!r}" if candidates else "the default idle tags (disused, abandoned, vacant, ...)"
        raise ScenarioError(f"no building matched {what}; give --candidates EXPR, e.g. "
                            "\"idle or building in ['public', 'industrial']\"", file=str(pbf), key="--candidates")
    cand = frame[picked].copy()
    floor_m2 = cand["floor_area_m2"].round(1)  # the cost follows the floor area as written
    cand_layer = cand.assign(id=cand["osm_id"], status="candidate", cost=(floor_m2 * cost_per_m2).round(2),
                             floor_area=floor_m2, area_m2=cand["area_m2"].round(1))
    cand_cols = ["id", "name", "building", "status", "cost", "floor_area", "area_m2", "levels", "geometry"]
    cand_layer = cand_layer[cand_cols]

    demand_layer, demand_notes = _demand(frame, persons_per_m2, population_grid, metric, source=str(pbf))
    summary |= {"candidates": int(len(cand_layer)), "candidate_filter": candidates or "idle (default tags)",
                "demand_points": int(len(demand_layer)), "population": float(demand_layer["population"].sum())}
    summary |= demand_notes

    streets = walking_streets(str(pbf), metric, bounding_box=box)
    if dem is not None:
        streets, off = drape(streets, dem, metric)
        summary |= {"dem": str(dem), "street_vertices_off_dem": off}
    summary["street_segments"] = int(len(streets))

    paths = {
        "streets": _write_layers(out / "streets.gpkg", {"streets": streets}),
        "candidates": _write_layers(out / "candidates.gpkg", {"candidates": _points(cand_layer, geometry)}),
        "demand": _write_layers(out / "demand.gpkg", {"demand": _points(demand_layer, geometry)}),
        # one layer per input file (the loader reads a file's only layer); the polygons live apart, for maps
        "footprints": _write_layers(out / "footprints.gpkg", {"candidates": cand_layer, "demand": demand_layer}),
    }
    total_cost = float(cand_layer["cost"].sum())
    if budget is None:
        budget = max(round(DEFAULT_BUDGET_SHARE * total_cost, -3), float(cand_layer["cost"].min()))
    budget = _check_number(budget, "--budget", ge=0)
    summary |= {"total_candidate_cost": total_cost, "budget": budget, "threshold_minutes": threshold_minutes}
    paths["scenario"] = atomic_write_text(out / "scenario.toml", _scenario_text(pbf, summary, dem is not None))
    paths["summary"] = atomic_write_json(out / "prepare.json", summary)
    return PreparedOSM(paths=paths, summary=summary)


def _demand(frame: Any, persons_per_m2: float, grid_path: str | None, crs: str,
            source: str = "OpenStreetMap extract") -> tuple[Any, dict[str, Any]]:
    """Residential buildings with population (and grid cells without a building), plus notes for the summary."""
    import geopandas as gpd

    res = frame[bld.residential_mask(frame)].copy()
    if len(res) == 0:
        raise InputError(f"no residential building (building={', '.join(bld.RESIDENTIAL_BUILDINGS)}) in the extract",
                         file=source, column="building")
    notes: dict[str, Any] = {}
    if grid_path is None:
        res["population"] = res["floor_area_m2"] * persons_per_m2
        notes["population_from"] = "floor area x persons per m2"
        extra = None
    else:
        pts = res.geometry.representative_point()
        minx, miny, maxx, maxy = res.total_bounds
        grid = read_grid(grid_path, crs, (minx, miny, maxx, maxy))
        res["population"], orphans = share_grid(grid, pts.x.to_numpy(), pts.y.to_numpy(),
                                                res["floor_area_m2"].to_numpy())
        notes |= {"population_from": f"grid {grid_path}", "grid_cells_without_building": int(orphans.size),
                  "grid_population_on_cells_without_building": float(grid.population[orphans].sum())}
        extra = gpd.GeoDataFrame({"osm_id": [f"cell{k}" for k in orphans], "name": None, "building": "grid cell",
                                  "population": grid.population[orphans]},
                                 geometry=gpd.points_from_xy(grid.x[orphans], grid.y[orphans]).buffer(1.0), crs=res.crs)
    layer = res[["osm_id", "name", "building", "population", "geometry"]]
    if extra is not None and len(extra):
        layer = pd.concat([layer, extra[layer.columns]], ignore_index=True)
    layer = layer.rename(columns={"osm_id": "id"}).reset_index(drop=True)
    layer["population"] = layer["population"].astype(float).round(2)
    for group, share in bld.DEFAULT_SHARES.items():
        layer[group] = (layer["population"] * share).round(2)
    return gpd.GeoDataFrame(layer, geometry="geometry", crs=res.crs), notes


def _scenario_text(pbf: Path, s: dict[str, Any], with_dem: bool) -> str:
    d = s["defaults"]
    comments = [
        f"Prepared by `siting prepare osm` from {pbf.name}: edit freely, then `siting solve scenario.toml --out DIR`.",
        f"{s['candidates']} candidate buildings ({s['candidate_filter']}), cost = floor area x {d['cost_per_m2']:g} CNY/m2;",
        f"{s['demand_points']} demand points, {s['population']:.0f} residents ({s['population_from']};",
        f"{d['persons_per_m2']:g} persons per m2 of floor area, {s['levels_defaulted']} of {s['buildings']} buildings "
        f"without building:levels counted as {d['default_levels']:g} storey(s));",
        f"elderly = {d['shares']['elderly']:.1%} and children = {d['shares']['children']:.2%} of residents "
        "(2020 census shares, assumptions). All layers in " + s["crs"] + ".",
        "The budget is a starting point: "
        f"{DEFAULT_BUDGET_SHARE:.0%} of the candidates' total cost ({s['total_candidate_cost']:.0f} CNY).",
    ]
    threshold = s["threshold_minutes"]
    network = {"path": "streets.gpkg", "layer": "streets", "cutoff_minutes": max(15.0, threshold)}
    if not with_dem:
        network["slope"] = (False, "no --dem: the streets have no elevation")
    sections = {
        "data": {"demand": "demand.gpkg", "candidates": "candidates.gpkg", "crs": s["crs"]},
        "network": network,
        "model": {"type": "mclp", "threshold_minutes": threshold, "budget": (s["budget"], "CNY")},
        "solver": {"name": "highs", "time_limit": 60},
        "report": {"currency": "CNY", "streets": "streets.gpkg", "streets_layer": "streets"},
    }
    return render_scenario(description=f"MCLP on {pbf.name}: {threshold:g}-minute walk", comments=comments,
                           sections=sections)
