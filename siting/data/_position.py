"""Where each row of a demand or candidates layer is, in metres: from a geometry, x/y or lon/lat columns.

:func:`place` is the one path: positions as given (:func:`coordinates`), the CRS they are in (the layer's own,
or the stated ``[data] crs``), and degrees projected to a metric CRS (:mod:`._geometry`). Every problem is a
one-line :class:`~siting.errors.InputError` naming the file, row and column.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ._geometry import Placed, geometry_positions, is_geographic, project, utm_crs
from ._read import RawTable, crs_text, geometry_name, same_crs
from ._validate import fail, number_column, require_columns

__all__ = ["coordinates", "place", "projected_crs"]


def coordinates(raw: RawTable, ids: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str]:
    """x, y (as given), footprints and where they came from: ``"geometry"``, ``"xy"`` or ``"lonlat"``."""
    geom_col = geometry_name(raw.frame)
    columns = set(raw.frame.columns)
    if geom_col is None:
        if not {"x", "y"} & columns and {"lon", "lat"} & columns:
            require_columns(raw, ("lon", "lat"), what, " (give lon and lat in degrees, WGS-84)")
            lon = number_column(raw, "lon", ids, what="longitude", minimum=-180.0)
            lat = number_column(raw, "lat", ids, what="latitude", minimum=-90.0)
            for column, values, limit in (("lon", lon, 180.0), ("lat", lat, 90.0)):
                out = np.abs(values) > limit
                if out.any():
                    pos = int(np.flatnonzero(out)[0])
                    raise fail(raw, f"{values[pos]:g} is not a {'longitude' if column == 'lon' else 'latitude'} "
                               "(degrees, WGS-84)", pos=pos, row_id=ids[pos], column=column)
            return lon, lat, None, "lonlat"
        require_columns(raw, ("x", "y"), what, " (give x and y, lon and lat, or a point geometry or building polygons)")
        x = number_column(raw, "x", ids, what="coordinate", minimum=None)
        y = number_column(raw, "y", ids, what="coordinate", minimum=None)
        return x, y, None, "xy"
    geom = raw.frame[geom_col]
    empty = (geom.isna() | geom.is_empty).to_numpy()
    if empty.any():
        pos = int(np.flatnonzero(empty)[0])
        raise fail(raw, "missing or empty geometry", pos=pos, row_id=ids[pos], column=geom_col)
    x, y, footprints, bad = geometry_positions(np.asarray(geom.values, dtype=object))
    if bad is not None:
        raise fail(raw, f"expected a Point, Polygon or MultiPolygon geometry, got {geom.iloc[bad].geom_type}",
                   pos=bad, row_id=ids[bad], column=geom_col)
    return x, y, footprints, "geometry"


def projected_crs(raw: RawTable, declared: str | None) -> str | None:
    """The metric CRS a layer names before it is validated: ``declared`` when projected, else the layer's own."""
    for crs in (declared, raw.crs if geometry_name(raw.frame) is not None else None):
        if crs is not None and not is_geographic(crs_text(crs, raw.source)):
            return crs_text(crs, raw.source)
    return None


def place(raw: RawTable, ids: np.ndarray, what: str, declared: str | None, target: str | None) -> Placed:
    """Positions in a metric CRS: the layer's own or ``declared``; degrees projected (see :mod:`._geometry`).

    ``declared`` is a scenario's ``[data] crs``: the CRS plain x/y are in, and the CRS degrees are projected to
    when it is projected. ``target`` is the metric CRS the other layer uses (degrees go there before a UTM zone
    is chosen). A projected layer whose own CRS differs from ``declared`` is an error: metric coordinates are
    never reprojected silently.
    """
    x, y, footprints, given = coordinates(raw, ids, what)
    declared = crs_text(declared, raw.source) if declared is not None else None
    own = raw.crs if given == "geometry" else None
    if given == "lonlat":
        native: str | None = "EPSG:4326"
    elif own is None:
        native = declared
    elif declared is None or same_crs(own, declared) or (is_geographic(own) and not is_geographic(declared)):
        native = own  # degrees with a projected [data] crs: projected to it below
    else:
        raise InputError(f"the layer's CRS is {own} but [data] crs is {declared}; reproject the layer "
                         f"(ogr2ogr -t_srs {declared}) or set [data] crs = \"{own}\"", file=raw.source,
                         column=geometry_name(raw.frame) or "geometry")
    if native is None or not is_geographic(native):
        return Placed(x, y, footprints, native, None)
    if given == "xy":  # plain x/y declared in degrees: they must be longitudes and latitudes
        for column, values, limit in (("x", x, 180.0), ("y", y, 90.0)):
            out = np.abs(values) > limit
            if out.any():
                pos = int(np.flatnonzero(out)[0])
                raise fail(raw, f"{values[pos]:g} is not a {'longitude' if column == 'x' else 'latitude'} but "
                           f"[data] crs {native} is in degrees; give the CRS the x/y are in (e.g. EPSG:32648)",
                           pos=pos, row_id=ids[pos], column=column)
    metric = target or (declared if declared is not None and not is_geographic(declared) else None)
    if metric is None:
        lon, lat = (x, y) if same_crs(native, "EPSG:4326") else project(x, y, None, native, "EPSG:4326")[:2]
        metric = utm_crs(lon, lat)
    px, py, pf = project(x, y, footprints, native, metric)
    return Placed(px, py, pf, metric, native)
