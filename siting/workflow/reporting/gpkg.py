"""A GeoPackage for GIS (QGIS opens it): the plan, coverage and service areas as layers.

Layers (all in the demand layer's CRS):

* ``selected_sites`` — converted buildings (points): id, cost, services hosted, demand covered only there
  (and ``year``, the year it opens, for a phased plan);
* ``existing_facilities`` — points with their ``services``;
* ``candidates`` — every idle building with ``selected`` (and the rank columns when a ranking exists);
* ``demand_covered`` / ``demand_uncovered`` — demand points covered for every service after the plan (as the
  solve's ``coverage.csv`` says), or not; both carry ``before_<service>`` / ``after_<service>`` flags;
* ``service_areas`` — per (service, providing site) the area of the demand it reaches within the threshold
  (a concave hull of those demand points and the site, buffered by 40 m), with ``new`` = converted in the plan.
  These are drawn from reached demand points over the network, not street isochrones.

Example
-------
>>> from siting.workflow.reporting.gpkg import LAYERS
>>> LAYERS[0]
'selected_sites'
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...io import atomic_path
from ..reach import PlanReach

__all__ = ["LAYERS", "write_geopackage", "service_area_polygons"]

LAYERS = ("selected_sites", "existing_facilities", "candidates", "demand_covered", "demand_uncovered",
          "service_areas")


def service_area_polygons(model: PlanReach, providers: Mapping[str, np.ndarray], new_mask: np.ndarray,
                          buffer_m: float = 40.0) -> list[dict[str, Any]]:
    """Rows (service, site_id, new, reached_weight, geometry) for every providing site of every service."""
    import shapely

    rows = []
    dx, dy = model.demand.x, model.demand.y
    sx, sy = model.sites.x, model.sites.y
    for s in model.specs:
        A = model.A[s.key].tocsc()
        for j in np.flatnonzero(providers[s.key]):
            i = A.indices[A.indptr[j]:A.indptr[j + 1]]
            pts = np.column_stack([np.append(dx[i], sx[j]), np.append(dy[i], sy[j])])
            geom = shapely.multipoints(pts)
            hull = shapely.concave_hull(geom, ratio=0.4) if len(pts) > 3 else shapely.convex_hull(geom)
            rows.append({"service": s.key, "site_id": str(model.sites.ids[j]), "new": bool(new_mask[j]),
                         "threshold_min": np.nan if s.threshold_min is None else s.threshold_min,
                         "reached_weight": float(model.w[s.key][i].sum()),
                         "geometry": shapely.buffer(hull, buffer_m)})
    return rows


def write_geopackage(path: str | Path, model: PlanReach, covered_before: Mapping[str, np.ndarray],
                     covered_after: Mapping[str, np.ndarray], providers_after: Mapping[str, np.ndarray],
                     plan: Mapping[str, set[str]], *, ranking: pd.DataFrame | None = None,
                     crs: str | None = None, opened_year: Mapping[str, int] | None = None) -> Path:
    """Write the report layers (see module docstring) atomically into one GeoPackage.

    ``covered_before`` / ``covered_after`` : per service, a flag per demand point; ``providers_after`` : per
    service, the providing sites with the plan; ``plan`` : site id -> services placed there;
    ``opened_year`` : site id -> year of its first new placement (a phased plan): the sites layers get a
    ``year`` column (empty for sites the plan does not open).
    """
    import geopandas as gpd  # third-party and slow to import: only when a GeoPackage is written
    import pyogrio

    crs = crs or model.demand.crs
    sites, demand = model.sites, model.demand
    ids = sites.ids.astype(str)
    status = np.array([str(s) for s in sites.status])
    selected = np.array([i in plan for i in ids])
    loss = model.drop_loss(providers_after)
    drop = np.zeros(len(ids))
    for _k, v in loss.items():
        drop += v
    site_df = pd.DataFrame({
        "site_id": ids, "status": status, "cost": sites.cost,
        "floor_area": sites.floor_area if sites.floor_area is not None else np.nan,
        "selected": selected, "services": [";".join(sorted(plan.get(i, ()))) for i in ids],
        "existing_services": model.existing_services(),
        "covered_only_here": drop,
    })
    if opened_year:
        site_df["year"] = pd.array([opened_year.get(i) for i in ids], dtype="Int64")
    if ranking is not None and not ranking.empty:
        keep = [c for c in ("rank", "selection_frequency", "marginal_per_million_yuan", "reasons") if c in ranking]
        site_df = site_df.merge(ranking[["site_id", *keep]], on="site_id", how="left")
    site_geo = gpd.points_from_xy(sites.x, sites.y)
    sites_gdf = gpd.GeoDataFrame(site_df, geometry=site_geo, crs=crs)
    dem: dict[str, Any] = {"demand_id": demand.ids.astype(str), "population": demand.population}
    for g, v in demand.groups.items():
        dem[g] = v
    for g, v in getattr(demand, "labels", {}).items():
        dem[g] = v
    all_cov = np.ones(len(demand), dtype=bool)
    for s in model.specs:
        dem[f"before_{s.key}"] = np.asarray(covered_before[s.key], dtype=bool)
        dem[f"after_{s.key}"] = np.asarray(covered_after[s.key], dtype=bool)
        all_cov &= dem[f"after_{s.key}"]
    dem["covered_all_services"] = all_cov
    dem["services_covered_after"] = np.sum([covered_after[s.key] for s in model.specs], axis=0)
    dem_gdf = gpd.GeoDataFrame(pd.DataFrame(dem), geometry=gpd.points_from_xy(demand.x, demand.y), crs=crs)
    new_mask = selected & (status != "existing")
    areas = service_area_polygons(model, providers_after, new_mask)
    areas_gdf = gpd.GeoDataFrame(pd.DataFrame(areas) if areas else pd.DataFrame(
        {"service": [], "site_id": [], "new": [], "threshold_min": [], "reached_weight": [], "geometry": []}),
        geometry="geometry", crs=crs)
    layers = {
        "selected_sites": sites_gdf[selected & (status != "existing")],
        "existing_facilities": sites_gdf[status == "existing"],
        "candidates": sites_gdf[status != "existing"],
        "demand_covered": dem_gdf[all_cov],
        "demand_uncovered": dem_gdf[~all_cov],
        "service_areas": areas_gdf,
    }
    path = Path(path)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        if crs is None:  # layers without a CRS (plain x/y tables) are written as such
            warnings.filterwarnings("ignore", message=".*crs.*", category=UserWarning)
        tmp.unlink()
        for name in LAYERS:
            gdf = layers[name]
            if gdf.empty:  # an empty layer still needs a geometry type
                pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", append=tmp.exists(),
                                        geometry_type="Polygon" if name == "service_areas" else "Point")
            else:
                pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", append=tmp.exists())
    return path
