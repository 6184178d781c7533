"""Give node elevations to a network that has none (OpenStreetMap, flat line layers).

Elevation samples (for example DEM cells exported as points, or surveyed spot heights)
are interpolated linearly (Delaunay triangulation) at the nodes; nodes outside the
samples' convex hull take the nearest sample.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from siting.errors import InputError
from siting.travel.graph import WalkGraph

__all__ = ["with_node_elevation", "read_elevation_points", "interpolate_elevation"]


def with_node_elevation(graph: WalkGraph, x: ArrayLike, y: ArrayLike, z: ArrayLike) -> WalkGraph:
    r"""A copy of ``graph`` whose node elevations are interpolated from samples ``(x, y, z)``.

    Segment rises are re-derived from the new node elevations and spread over the
    segment's pieces in proportion to their length (uniform grade along a segment).

    Notes
    -----
    Inside the hull of the samples :math:`z(p) = \sum_k \lambda_k(p) z_k` (barycentric weights of
    the Delaunay triangle holding :math:`p`); outside, the nearest sample.

    Examples
    --------
    >>> g = WalkGraph.from_segments([0, 100], [0, 0], None, [0], [1])
    >>> h = with_node_elevation(g, [0, 200, 0], [-10, -10, 50], [0.0, 20.0, 0.0])
    >>> h.node_z.round(1).tolist(), [round(float(c), 1) for c in h.segment_costs()[0]]
    ([0.0, 10.0], [141.9])
    """
    zn = interpolate_elevation(x, y, z, graph.node_x, graph.node_y)
    rise = zn[graph.seg_v] - zn[graph.seg_u]
    seg_len = np.bincount(graph.piece_seg, weights=graph.piece_len_m, minlength=graph.n_segments)
    grade = rise / np.where(seg_len > 0, seg_len, 1.0)
    return replace(graph, node_z=zn, piece_rise_m=graph.piece_len_m * grade[graph.piece_seg])


def interpolate_elevation(x: ArrayLike, y: ArrayLike, z: ArrayLike, at_x: ArrayLike, at_y: ArrayLike) -> np.ndarray:
    """Elevation samples ``(x, y, z)`` interpolated at ``(at_x, at_y)``: linear inside their hull, nearest outside.

    Examples
    --------
    >>> interpolate_elevation([0, 100, 0], [0, 0, 100], [0.0, 10.0, 0.0], [50.0, 500.0], [0.0, 0.0]).tolist()
    [5.0, 10.0]
    """
    from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    z = np.asarray(z, dtype=float)
    at_x = np.asarray(at_x, dtype=float)
    at_y = np.asarray(at_y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
    if ok.sum() < 1:
        raise InputError("no usable elevation sample (x, y, z all finite)", column="z")
    pts = np.c_[x[ok], y[ok]]
    out = np.full(at_x.shape, np.nan)
    if ok.sum() >= 3:
        try:
            out = LinearNDInterpolator(pts, z[ok])(at_x, at_y)
        except Exception:  # noqa: BLE001 - collinear samples: nearest only
            pass
    miss = ~np.isfinite(out)
    if miss.any():
        out[miss] = NearestNDInterpolator(pts, z[ok])(at_x[miss], at_y[miss])
    return out


def read_elevation_points(path: str | os.PathLike[str],
                          graph: WalkGraph | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Read elevation samples for :func:`with_node_elevation`.

    Parameters
    ----------
    path : path
        CSV/Parquet with columns ``x``, ``y``, ``z`` (in the network's CRS), or a point layer
        (GeoPackage/GeoJSON) with a ``z`` column or Z coordinates.
    graph : WalkGraph, optional
        A point layer is reprojected to this network's CRS.

    Returns
    -------
    x, y, z : numpy.ndarray
        Sample coordinates and elevations in metres.

    Raises
    ------
    InputError
        The file is missing or unreadable, lacks a column, or holds a value that is not a number
        (the message names the row and column).

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "dem.csv"
    >>> _ = p.write_text("x,y,z\n0,0,250\n100,0,oops\n")
    >>> read_elevation_points(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    siting.errors.InputError: .../dem.csv: row 1, column 'z': not a number
    """
    p = Path(path)
    if not p.exists():
        raise InputError("elevation file not found", file=str(path))
    suffix = p.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            df = pd.read_csv(p)
        elif suffix == ".parquet":
            df = pd.read_parquet(p)
        else:
            import geopandas as gpd

            df = gpd.read_file(p)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"cannot read elevation samples: {exc}", file=str(path)) from None
    if "geometry" in df.columns and hasattr(df, "crs"):
        import geopandas as gpd
        import shapely

        layer = gpd.GeoDataFrame(df)
        if graph is not None and layer.crs is not None and graph.crs is not None:
            layer = layer.to_crs(graph.crs)
        geoms = layer.geometry.values
        x, y = shapely.get_x(geoms), shapely.get_y(geoms)
        # samples without a usable z are dropped by with_node_elevation
        z = pd.to_numeric(layer["z"], errors="coerce").to_numpy(float) if "z" in layer.columns \
            else shapely.get_coordinates(geoms, include_z=True)[:, 2]
        return x, y, z
    missing = [c for c in ("x", "y", "z") if c not in df.columns]
    if missing:
        raise InputError("missing column", file=str(path), column=missing[0])
    cols = [pd.to_numeric(df[c], errors="coerce").to_numpy(float) for c in ("x", "y", "z")]
    for name, col in zip("xyz", cols, strict=True):
        bad = ~np.isfinite(col)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise InputError("not a number", file=str(path), row=r, column=name)
    return cols[0], cols[1], cols[2]
