"""Per-community coverage as polygons, for the report GeoPackage's ``community_coverage`` layer.

The polygons are the zones layer given (``[report] zones = "file.gpkg"``, one or more polygons per value of
its ``community`` attribute) or, without one, drawn from the demand points themselves: the Voronoi cells of
the demand points merged per community label (``outline = "derived"``), clipped to 150 m around the points.
A demand point belongs to the community of its label when the demand layer has that column, else to the
zone polygon it falls in (points in no zone are left out of every row).

Per community and service ``k`` (weight = the service's demand column): ``target_k``, ``covered_before_k``,
``covered_after_k``, ``share_before_k``, ``share_after_k``; ``share_after_min`` / ``share_before_min`` are the
lowest share over the services (what the layer's style colours), ``n_demand`` the number of demand points.

Example
-------
>>> import numpy as np
>>> z = derived_zones(np.array([0., 10, 0, 10]), np.array([0., 0, 10, 10]), np.array(["a", "a", "b", "b"]),
...                   "EPSG:32648")
>>> list(z["community"]), round(float(z.area.sum()))  # two halves of the points' hull, 150 m around them
(['a', 'b'], 76333)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...errors import InputError

__all__ = ["read_zones", "derived_zones", "community_coverage", "DERIVED_MARGIN_M"]

DERIVED_MARGIN_M = 150.0  # derived outlines reach this far beyond the outermost demand points


def read_zones(zones: Any, crs: str, *, community_column: str = "community", layer: str | None = None) -> Any:
    """Zone polygons (GeoDataFrame ``community``, ``geometry`` in ``crs``), one row per community.

    ``zones`` is a GeoDataFrame or a vector file (GeoPackage: ``layer``, else its only or ``zones`` layer).
    A zones layer without a CRS is taken to be in ``crs``; one in another CRS is reprojected (polygons drawn
    for context, not measured). Missing column or non-polygon geometry: a one-line :class:`InputError`.
    """
    import geopandas as gpd
    import pyogrio

    source = "zones"
    if not isinstance(zones, gpd.GeoDataFrame):
        path = Path(zones)
        source = str(path)
        if not path.is_file():
            raise InputError("zones file not found", file=source)
        try:
            if layer is None and path.suffix.lower() == ".gpkg":
                names = [str(n) for n, _ in pyogrio.list_layers(path)]
                layer = "zones" if "zones" in names else names[0] if len(names) == 1 else None
                if layer is None:
                    raise InputError(f"several layers ({', '.join(names)}) and none named 'zones'; "
                                     "name the layer", file=source)
            zones = pyogrio.read_dataframe(path, layer=layer)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - any GDAL failure is a user-facing format problem
            raise InputError(f"cannot read the zones layer: {str(exc).splitlines()[0]}", file=source) from None
    if community_column not in zones.columns:
        others = ", ".join(str(c) for c in zones.columns if c != zones.geometry.name)
        raise InputError(f"no '{community_column}' attribute in the zones layer (attributes: {others})",
                         file=source, column=community_column)
    kind = zones.geometry.geom_type.to_numpy(dtype=object)
    bad = ~np.isin(kind, ("Polygon", "MultiPolygon"))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise InputError(f"expected a Polygon geometry, got {kind[pos]}", file=source, feature=pos + 1,
                         column=zones.geometry.name)
    zones = zones if zones.crs is not None else zones.set_crs(crs)
    zones = zones.to_crs(crs)
    frame = gpd.GeoDataFrame({"community": zones[community_column].astype(str).str.strip().to_numpy()},
                             geometry=zones.geometry.to_numpy(), crs=crs)
    return frame.dissolve(by="community", as_index=False)


def derived_zones(x: np.ndarray, y: np.ndarray, labels: np.ndarray, crs: str,
                  margin_m: float = DERIVED_MARGIN_M) -> Any:
    """Community outlines from labelled points: their Voronoi cells merged per label (see module docstring)."""
    import geopandas as gpd
    import shapely

    points = shapely.points(x, y)
    frame_area = shapely.buffer(shapely.convex_hull(shapely.multipoints(points)), margin_m)
    # extend_to: GEOS would otherwise stop the outer cells a little beyond the points, short of the margin
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=frame_area))
    # voronoi_polygons does not keep the input order: find each cell's point (one point per cell)
    tree = shapely.STRtree(points)
    cell_pos, point_pos = tree.query(cells, predicate="contains")
    owner = np.full(len(cells), -1)
    owner[cell_pos] = point_pos
    if len(cells) == 0:  # a single distinct point has no Voronoi cells: a disc around it
        cells, owner = shapely.buffer(points, margin_m), np.arange(len(points))
    keep = owner >= 0  # repeated points share one cell (GEOS merges them): any of them gives its label
    codes, names = pd.factorize(pd.Index(np.asarray(labels, dtype=object)[owner[keep]].astype(str)), sort=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    kept = cells[keep][order]
    # the cells tile the plane: a coverage union is several times faster than a general union
    merged = [shapely.coverage_union_all(kept[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    out = gpd.GeoDataFrame({"community": np.asarray(names, dtype=object)},
                           geometry=shapely.intersection(np.asarray(merged, dtype=object), frame_area), crs=crs)
    return out


def _community_of(zones: Any, demand: Any, column: str) -> np.ndarray:
    """Position in ``zones`` of each demand point's community (-1: none)."""
    labels = getattr(demand, "labels", {}).get(column)
    if labels is not None:
        return pd.Index(zones["community"]).get_indexer(pd.Index(np.asarray(labels).astype(str)))
    import shapely

    points = shapely.points(demand.x, demand.y)
    point_pos, zone_pos = shapely.STRtree(zones.geometry.to_numpy()).query(points, predicate="within")
    out = np.full(len(points), -1)
    out[point_pos[::-1]] = zone_pos[::-1]  # a point on a shared border goes to the first zone
    return out


def community_coverage(zones: Any, demand: Any, weights: Mapping[str, np.ndarray], keys: Sequence[str],
                       covered_before: Mapping[str, np.ndarray], covered_after: Mapping[str, np.ndarray], *,
                       community_column: str = "community") -> Any:
    """The ``community_coverage`` layer: ``zones`` with the coverage columns of the module docstring."""
    code = _community_of(zones, demand, community_column)
    inside = code >= 0
    n = len(zones)
    out = zones[["community", "geometry"]].copy()
    out["n_demand"] = np.bincount(code[inside], minlength=n)
    out["population"] = np.bincount(code[inside], weights=np.asarray(demand.population)[inside], minlength=n)
    mins = {"before": np.full(n, np.inf), "after": np.full(n, np.inf)}
    for k in keys:
        w = np.asarray(weights[k], dtype=float)[inside]
        target = np.bincount(code[inside], weights=w, minlength=n)
        out[f"target_{k}"] = target
        for when, flags in (("before", covered_before[k]), ("after", covered_after[k])):
            covered = np.bincount(code[inside], weights=w * np.asarray(flags, dtype=bool)[inside], minlength=n)
            share = np.divide(covered, target, out=np.full(n, np.nan), where=target > 0)
            out[f"covered_{when}_{k}"] = covered
            out[f"share_{when}_{k}"] = share
            mins[when] = np.fmin(mins[when], np.where(np.isnan(share), np.inf, share))
    for when, low in mins.items():
        out[f"share_{when}_min"] = np.where(np.isfinite(low), low, np.nan)
    return out
