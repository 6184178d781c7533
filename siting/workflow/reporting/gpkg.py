"""A GeoPackage for GIS (QGIS opens it): the plan, coverage and service areas as layers.

Layers (every one in the inputs' CRS: a GeoPackage/GeoJSON input's own, else the scenario's ``[data] crs``;
with neither, writing is an error asking for ``[data] crs`` rather than a file QGIS shows as "Undefined SRS"):

* ``selected_sites`` — converted buildings (points): id, cost, services hosted, demand covered only there
  (and ``year``, the year it opens, for a phased plan);
* ``existing_facilities`` — points with their ``services``;
* ``candidates`` — every idle building with ``selected`` (and the rank columns when a ranking exists);
* ``demand_covered`` / ``demand_uncovered`` — demand points covered for every service after the plan (as the
  solve's ``coverage.csv`` says), or not; both carry ``before_<service>`` / ``after_<service>`` flags;
* ``service_areas`` — one polygon per (service, providing site), with ``new`` = converted in the plan and
  ``method`` saying how it was drawn: ``"network"`` (the streets a walker reaches the site from within the
  service's threshold at its speed group's pace, buffered by 40 m: :func:`.streets.site_service_areas`) when a
  street network is readable, else ``"hull (no street network)"`` (a concave hull of the demand points the
  travel table puts within the threshold and the site, buffered by 40 m); a service without a threshold is
  always a hull, ``"hull (no threshold)"``. ``reached_weight`` is the travel table's figure either way.
* ``site_footprints`` / ``demand_footprints`` (only when the inputs were building polygons) — the same rows
  as ``candidates`` + ``existing_facilities`` / the demand layers, drawn as the footprints;
* ``community_coverage`` (only with a zones layer, or demand points labelled with a community) — one
  polygon per community with the covered weight and share per service before and after the plan and
  ``share_after_min``, the lowest share over the services (:mod:`.gpkg_zones`).

Every layer has a default QGIS style in the ``layer_styles`` table (:mod:`.gpkg_styles`): covered demand green,
uncovered red (orange when another service covers it), converted buildings orange stars, existing facilities
blue squares, communities from red (lowest service below 50 %) to green (every service >= 95 %).

Example
-------
>>> from siting.workflow.reporting.gpkg import LAYERS
>>> LAYERS[0]
'selected_sites'
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...data.instance import Demand, Sites
from ...errors import InputError
from ...io import atomic_path, sqlite_unsynced
from ..reach import PlanReach
from .gpkg_styles import LAYER_RULES, STYLE_TABLE, Rule, write_layer_styles
from .gpkg_zones import community_coverage, derived_zones, read_zones
from .streets import StreetLayer, site_service_areas

__all__ = ["LAYERS", "COMMUNITY_LAYER", "FOOTPRINT_LAYERS", "STYLE_TABLE", "NETWORK", "HULL_NO_STREETS", "HULL_NO_THRESHOLD",
           "write_geopackage", "service_area_polygons", "geopackage_crs"]

#: the geometry layers every report GeoPackage has (besides the ``layer_styles`` table)
LAYERS = ("selected_sites", "existing_facilities", "candidates", "demand_covered", "demand_uncovered",
          "service_areas")
#: the polygon layer written when communities are known (a zones layer, or a community column on the demand)
COMMUNITY_LAYER = "community_coverage"
#: polygon layers written when the inputs were building footprints: the candidates' and the demand's
FOOTPRINT_LAYERS = ("site_footprints", "demand_footprints")
#: their default QGIS styles: converted buildings orange, existing facilities blue, covered homes green
FOOTPRINT_RULES = {
    FOOTPRINT_LAYERS[0]: (Rule("converted (the plan)", '"selected"', "245,120,20", "fill", alpha=200),
                          Rule("existing facility", "\"status\" = 'existing'", "33,102,172", "fill", alpha=200),
                          Rule("other idle building", "ELSE", "150,150,150", "fill", alpha=120)),
    FOOTPRINT_LAYERS[1]: (Rule("covered for every service", '"covered_all_services"', "26,150,65", "fill", alpha=160),
                          Rule("not covered for every service", "ELSE", "215,25,28", "fill", alpha=160)),
}


def geopackage_crs(demand: Demand, sites: Sites, crs: str | None = None) -> str:
    """The CRS the GeoPackage layers get: ``crs``, else the demand's, else the candidates'.

    Raises a one-line :class:`~siting.errors.InputError` when none is known (plain x/y inputs and no
    ``[data] crs``): call it before a long solve to fail early.
    """
    found = crs or demand.crs or sites.crs
    if found is None:
        raise InputError(f"cannot write a GeoPackage without a coordinate reference system: {demand.source} and "
                         f"{sites.source} are plain x/y; state the CRS they are in with crs = \"EPSG:32648\" "
                         "(for example; UTM 48N) in the scenario's [data] section", file="[data] crs")
    return found


#: ``service_areas.method`` values
NETWORK, HULL_NO_STREETS, HULL_NO_THRESHOLD = "network", "hull (no street network)", "hull (no threshold)"


def service_area_polygons(model: PlanReach, providers: Mapping[str, np.ndarray], new_mask: np.ndarray,
                          buffer_m: float = 40.0, *, streets: StreetLayer | None = None,
                          speed_groups: Mapping[str, str | None] | None = None,
                          crs: str | None = None) -> list[dict[str, Any]]:
    """Rows (service, site_id, new, method, threshold_min, reached_weight, geometry) per providing site.

    With a street graph (``streets.graph``) a service with a threshold gets network service areas at the pace
    of its speed group (``speed_groups``: service -> group, None = the default pace); otherwise concave hulls
    of the reached demand points (see the module docstring). ``crs`` is the layer's CRS: sites are carried
    into the graph's CRS and the areas back when the two differ.
    """
    import shapely

    graph = streets.graph if streets is not None else None
    if graph is not None and graph.n_nodes == 0:  # an empty network draws nothing: say hull, not network
        graph = None
    frame = _GraphFrame(crs, graph.crs) if graph is not None else None
    rows = []
    dx, dy = model.demand.x, model.demand.y
    sx, sy = model.sites.x, model.sites.y
    for s in model.specs:
        A = model.A[s.key].tocsc()
        sites = np.flatnonzero(providers[s.key])
        networked = None
        if streets is not None and frame is not None and s.threshold_min is not None and len(sites):
            gx, gy = frame.to_graph(sx[sites], sy[sites])
            areas = site_service_areas(streets, gx, gy, threshold_min=s.threshold_min, buffer_m=buffer_m,
                                       speed_group=(speed_groups or {}).get(s.key))
            networked = frame.to_layer(areas)
        method = NETWORK if networked is not None else \
            HULL_NO_THRESHOLD if graph is not None and s.threshold_min is None else HULL_NO_STREETS
        for n, j in enumerate(sites):
            i = A.indices[A.indptr[j]:A.indptr[j + 1]]
            if networked is not None:
                geom = networked[n]
            else:
                pts = shapely.multipoints(np.column_stack([np.append(dx[i], sx[j]), np.append(dy[i], sy[j])]))
                hull = shapely.concave_hull(pts, ratio=0.4) if len(i) > 2 else shapely.convex_hull(pts)
                geom = shapely.buffer(hull, buffer_m)
            rows.append({"service": s.key, "site_id": str(model.sites.ids[j]), "new": bool(new_mask[j]),
                         "method": method, "threshold_min": np.nan if s.threshold_min is None else s.threshold_min,
                         "reached_weight": float(model.w[s.key][i].sum()), "geometry": geom})
    return rows


class _GraphFrame:
    """Coordinates between the layer's CRS and the street graph's (the identity when equal or unknown)."""

    def __init__(self, layer_crs: str | None, graph_crs: str | None) -> None:
        self.forward = self.back = None
        if layer_crs and graph_crs:
            from pyproj import CRS, Transformer

            a, b = CRS.from_user_input(layer_crs), CRS.from_user_input(graph_crs)
            if a != b:
                self.forward = Transformer.from_crs(a, b, always_xy=True)
                self.back = Transformer.from_crs(b, a, always_xy=True)

    def to_graph(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.forward is None:
            return x, y
        gx, gy = self.forward.transform(x, y)
        return np.asarray(gx, dtype=float), np.asarray(gy, dtype=float)

    def to_layer(self, geoms: list[Any]) -> list[Any]:
        import shapely

        back = self.back
        if back is None:
            return geoms
        return [g if g is None or g.is_empty else
                shapely.transform(g, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1])))
                for g in geoms]


def write_geopackage(path: str | Path, model: PlanReach, covered_before: Mapping[str, np.ndarray],
                     covered_after: Mapping[str, np.ndarray], providers_after: Mapping[str, np.ndarray],
                     plan: Mapping[str, set[str]], *, ranking: pd.DataFrame | None = None,
                     crs: str | None = None, opened_year: Mapping[str, int] | None = None,
                     zones: Any = None, zones_layer: str | None = None,
                     community_column: str = "community", streets: StreetLayer | None = None,
                     speed_groups: Mapping[str, str | None] | None = None) -> Path:
    """Write the report layers (see module docstring) and their QGIS styles atomically into one GeoPackage.

    ``covered_before`` / ``covered_after`` : per service, a flag per demand point; ``providers_after`` : per
    service, the providing sites with the plan; ``plan`` : site id -> services placed there;
    ``opened_year`` : site id -> year of its first new placement (a phased plan): the sites layers get a
    ``year`` column (empty for sites the plan does not open); ``crs`` : overrides the inputs' CRS (see
    :func:`geopackage_crs`); ``zones`` : a polygon layer (file path, e.g. ``[report] zones``, or
    GeoDataFrame; ``zones_layer`` names a GeoPackage layer) whose ``community_column`` attribute names the
    communities; without it, communities are outlined from the demand's ``community_column`` labels when the
    demand has them (no community layer otherwise); ``streets`` (:func:`.streets.read_streets`) and
    ``speed_groups`` (service -> speed group, :func:`.plan_maps.speed_groups`): the street network the
    ``service_areas`` layer is drawn on (concave hulls, labelled so in ``method``, when it has no graph).
    """
    import geopandas as gpd  # third-party and slow to import: only when a GeoPackage is written
    import pyogrio

    crs = geopackage_crs(model.demand, model.sites, crs)
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
    for key, values in sites.labels.items():  # the candidates' own text columns: name, address, owner, ...
        if key not in site_df.columns:
            site_df[key] = values
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
    areas = service_area_polygons(model, providers_after, new_mask, streets=streets, speed_groups=speed_groups,
                                  crs=crs)
    areas_gdf = gpd.GeoDataFrame(pd.DataFrame(areas) if areas else pd.DataFrame(
        {"service": [], "site_id": [], "new": [], "method": [], "threshold_min": [], "reached_weight": [],
         "geometry": []}), geometry="geometry", crs=crs)
    layers: dict[str, Any] = {
        "selected_sites": sites_gdf[selected & (status != "existing")],
        "existing_facilities": sites_gdf[status == "existing"],
        "candidates": sites_gdf[status != "existing"],
        "demand_covered": dem_gdf[all_cov],
        "demand_uncovered": dem_gdf[~all_cov],
        "service_areas": areas_gdf,
    }
    communities = _communities(model, crs, covered_before, covered_after, zones, zones_layer, community_column)
    if communities is not None:
        layers[COMMUNITY_LAYER] = communities
    layers.update(_footprint_layers(sites_gdf, dem_gdf, sites.footprints, demand.footprints))
    path = Path(path)
    with atomic_path(path) as tmp, sqlite_unsynced():
        tmp.unlink()
        for name, gdf in layers.items():
            if gdf.empty:  # an empty layer still needs a geometry type
                pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", append=tmp.exists(),
                                        geometry_type="Point" if name in LAYERS[:5] else "MultiPolygon"
                                        if name == COMMUNITY_LAYER else "Polygon")
            else:  # one geometry type per layer: multi when any is (a network area may be in pieces)
                multi = name == COMMUNITY_LAYER or bool(gdf.geom_type.eq("MultiPolygon").any())
                pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", append=tmp.exists(),
                                        promote_to_multi=multi)
        write_layer_styles(tmp, list(layers), rules={**LAYER_RULES, **FOOTPRINT_RULES})
    return path


def _footprint_layers(sites_gdf: Any, dem_gdf: Any, site_shapes: np.ndarray | None,
                      demand_shapes: np.ndarray | None) -> dict[str, Any]:
    """``site_footprints`` / ``demand_footprints``: the buildings drawn as the polygons the inputs gave."""
    out: dict[str, Any] = {}
    for name, gdf, shapes in ((FOOTPRINT_LAYERS[0], sites_gdf, site_shapes),
                              (FOOTPRINT_LAYERS[1], dem_gdf, demand_shapes)):
        if shapes is None:
            continue
        has = np.array([g is not None for g in shapes], dtype=bool)
        layer = gdf[has].copy()
        out[name] = layer.set_geometry(list(shapes[has]), crs=gdf.crs)
    return out


def _communities(model: PlanReach, crs: str, covered_before: Mapping[str, np.ndarray],
                 covered_after: Mapping[str, np.ndarray], zones: Any, zones_layer: str | None,
                 community_column: str) -> Any:
    """The ``community_coverage`` layer, or None when no communities are known."""
    demand = model.demand
    if zones is not None:
        outlines = read_zones(zones, crs, community_column=community_column, layer=zones_layer)
        outlines["outline"] = "given"
    elif community_column in getattr(demand, "labels", {}):
        outlines = derived_zones(demand.x, demand.y, demand.labels[community_column], crs)
        outlines["outline"] = "derived"
    else:
        return None
    layer = community_coverage(outlines, demand, model.w, [s.key for s in model.specs], covered_before,
                               covered_after, community_column=community_column)
    layer["outline"] = outlines["outline"].to_numpy()
    return layer
