"""Positions of demand points and sites from what people have: points, building footprints, lon/lat.

* A polygon or multipolygon layer (building footprints) is placed at each footprint's representative point (a
  point inside the polygon, :func:`shapely.point_on_surface`), or — ``[data] geometry = "street"`` — at the point
  of the street network nearest to the footprint, where walks start (:func:`street_points`, applied with the
  network); the footprint itself is kept for the outputs (GeoPackage, :meth:`siting.result.Result.to_geodataframe`).
* Coordinates in degrees (``lon``/``lat`` columns, an EPSG:4326 layer, x/y declared as a geographic CRS) are
  projected to a metric CRS before anything is computed: ``[data] crs`` when it is projected, else the other
  layer's projected CRS, else the WGS-84 UTM zone of the layer's centre (:func:`utm_crs`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from ..errors import InputError
from .instance import Demand, Sites

Layer = TypeVar("Layer", Demand, Sites)

__all__ = ["Placed", "GEOMETRY_MODES", "is_geographic", "utm_crs", "project", "street_points", "move_to_streets"]

#: ``[data] geometry`` values: where a footprint is placed
GEOMETRY_MODES = ("representative_point", "street")

_POINT, _POLYGON, _MULTIPOLYGON = 0, 3, 6  # shapely geometry type ids


@dataclass(frozen=True)
class Placed:
    """Positions of one layer: ``x``, ``y`` (in ``crs``), footprints (None when every row is a point)."""

    x: np.ndarray
    y: np.ndarray
    footprints: np.ndarray | None
    crs: str | None
    input_crs: str | None


def is_geographic(crs: str | None) -> bool:
    """Whether ``crs`` is in degrees (False for None or a CRS pyproj cannot read).

    Examples
    --------
    >>> is_geographic("EPSG:4326"), is_geographic("EPSG:32648"), is_geographic(None)
    (True, False, False)
    """
    if crs is None:
        return False
    try:
        from pyproj import CRS

        return bool(CRS.from_user_input(crs).is_geographic)
    except Exception:  # noqa: BLE001 - an unreadable CRS is reported where it is compared
        return False


def utm_crs(lon: np.ndarray, lat: np.ndarray) -> str:
    """The WGS-84 UTM zone (``"EPSG:326xx"`` north, ``"EPSG:327xx"`` south) of the points' centre, from pyproj.

    The centre is the middle of the points' bounding box: one zone for the whole layer, so distances are never
    measured across two zones.

    Examples
    --------
    >>> utm_crs(np.array([106.50, 106.60]), np.array([29.50, 29.60]))  # Chongqing
    'EPSG:32648'
    """
    from pyproj.aoi import AreaOfInterest
    from pyproj.database import query_utm_crs_info

    lon_c = float((np.nanmin(lon) + np.nanmax(lon)) / 2)
    lat_c = float((np.nanmin(lat) + np.nanmax(lat)) / 2)
    found = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(lon_c, lat_c, lon_c, lat_c))
    codes = sorted(f"{c.auth_name}:{c.code}" for c in found if c.auth_name == "EPSG")
    if not codes:  # pragma: no cover - every point on Earth but the poles has a UTM zone
        raise InputError(f"no UTM zone for longitude {lon_c:g}, latitude {lat_c:g}; give [data] crs")
    return codes[0]


def project(x: np.ndarray, y: np.ndarray, footprints: np.ndarray | None, source: str, target: str
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``x``, ``y`` and footprints from CRS ``source`` to ``target`` (always lon/lat order for degrees)."""
    from pyproj import Transformer

    forward = Transformer.from_crs(source, target, always_xy=True)
    px, py = forward.transform(x, y)
    if footprints is not None:
        import shapely

        footprints = shapely.transform(footprints, lambda xy: np.column_stack(forward.transform(xy[:, 0], xy[:, 1])))
    return np.asarray(px, dtype=float), np.asarray(py, dtype=float), footprints


def geometry_positions(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int | None]:
    """x, y of points and footprints' representative points; footprints (None if all points); first bad row.

    The last value is the position of the first geometry that is neither a point nor a (multi)polygon (the
    caller names it), or None.
    """
    import shapely

    kind = shapely.get_type_id(geoms)
    bad = ~np.isin(kind, (_POINT, _POLYGON, _MULTIPOLYGON))
    if bad.any():
        return np.empty(0), np.empty(0), None, int(np.flatnonzero(bad)[0])
    area = kind != _POINT
    at = geoms.copy()
    if area.any():
        at[area] = shapely.point_on_surface(geoms[area])
    footprints = None
    if area.any():
        footprints = np.full(len(geoms), None, dtype=object)
        footprints[area] = geoms[area]
    return shapely.get_x(at).astype(float), shapely.get_y(at).astype(float), footprints, None


def street_points(x: np.ndarray, y: np.ndarray, footprints: np.ndarray | None, segments: np.ndarray, *,
                  max_distance_m: float = 300.0) -> tuple[np.ndarray, np.ndarray]:
    """Positions moved onto the street nearest to each footprint (``[data] geometry = "street"``).

    The street segment nearest to the footprint is found first; on it, the point nearest to the footprint's
    representative point is taken (a footprint along its street touches it at many nearest points; this one
    faces the building's middle).

    Parameters
    ----------
    x, y : representative points (kept for rows without a footprint or farther than ``max_distance_m``)
    footprints : polygons per row (None entries for point rows), in the streets' CRS
    segments : the street segments (shapely LineStrings, e.g. ``WalkGraph.seg_geom``)
    max_distance_m : footprints farther from every street keep their representative point (the walking-time
        search reports them as far from the network)

    Examples
    --------
    >>> import shapely
    >>> box = np.array([shapely.box(0, 10, 20, 30)], dtype=object)
    >>> street = np.array([shapely.LineString([(-50, 0), (50, 0)])], dtype=object)
    >>> street_points(np.array([10.0]), np.array([20.0]), box, street)
    (array([10.]), array([0.]))
    """
    import shapely

    x, y = np.array(x, dtype=float), np.array(y, dtype=float)
    if footprints is None or len(segments) == 0:
        return x, y
    rows = np.flatnonzero(np.array([g is not None for g in footprints], dtype=bool))
    if len(rows) == 0:
        return x, y
    polys = footprints[rows]
    tree = shapely.STRtree(segments)
    (pi, si) = tree.query_nearest(polys, max_distance=float(max_distance_m), all_matches=False)
    # on the street nearest to the footprint, the point nearest to the building's representative point: a
    # footprint parallel to its street has many nearest points, this one faces the building's middle
    seg = segments[si]
    at = shapely.points(x[rows[pi]], y[rows[pi]])
    on_street = shapely.line_interpolate_point(seg, shapely.line_locate_point(seg, at))
    x[rows[pi]] = shapely.get_x(on_street)
    y[rows[pi]] = shapely.get_y(on_street)
    return x, y


def move_to_streets(layer: Layer, segments: np.ndarray, *, max_distance_m: float = 300.0) -> Layer:
    """``layer`` with its footprints placed on their nearest street (``[data] geometry = "street"``).

    ``segments`` are the walking network's street geometries in the layer's CRS (``WalkGraph.seg_geom``);
    rows given as points keep their position. See :func:`street_points`.
    """
    if layer.footprints is None:
        return layer
    x, y = street_points(layer.x, layer.y, layer.footprints, np.asarray(segments, dtype=object),
                         max_distance_m=max_distance_m)
    return replace(layer, x=x, y=y)
