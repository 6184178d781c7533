"""The walking network of an OSM extract as a line layer siting reads back (``[network] path``).

Each way becomes one LineString with ``highway``, ``steps`` (``highway=steps``: the travel code slows walkers on
stairs), ``name``, ``foot`` and ``length_m``; with a DEM, every vertex gets the elevation sampled from the raster,
so the line is 3-D and :func:`siting.travel.readers.from_lines` derives per-piece slopes from the vertex Z.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import shapely

from ..errors import InputError

__all__ = ["walking_streets", "sample_dem", "drape"]

KEEP_COLUMNS = ("osm_id", "highway", "name", "foot", "steps", "length_m")


def walking_streets(pbf: str, crs: str, bounding_box: list[float] | None = None) -> Any:
    """The walkable ways of ``pbf`` (pyrosm's ``walking`` network), projected to ``crs``.

    ``bounding_box`` = ``[min_lon, min_lat, max_lon, max_lat]`` (WGS-84) as for the buildings.

    Raises
    ------
    InputError
        Unreadable extract or no walkable way.
    """
    import pyrosm

    from ..travel.graph import walkable_highway

    try:
        # with nodes=True pyrosm splits ways at every junction: siting joins lines only at their ends
        _, edges = pyrosm.OSM(str(pbf), bounding_box=bounding_box).get_network("walking", nodes=True)
    except Exception as exc:  # noqa: BLE001 - reader errors become one line
        raise InputError(f"cannot read the walking network: {exc}", file=str(pbf)) from None
    if edges is None or len(edges) == 0:
        raise InputError("no walkable way in the OpenStreetMap extract", file=str(pbf))
    foot = edges["foot"].to_numpy() if "foot" in edges.columns else None
    edges = edges[walkable_highway(edges["highway"].to_numpy(), foot)]
    edges = edges.explode(index_parts=False).reset_index(drop=True).to_crs(crs)
    edges["osm_id"] = edges["id"].astype("int64").astype(str)
    edges["steps"] = edges["highway"].astype("string").str.lower().eq("steps").fillna(False).astype(bool)
    for col in ("name", "foot"):
        if col not in edges.columns:
            edges[col] = None
    edges["length_m"] = edges.geometry.length.to_numpy()
    return edges[[*KEEP_COLUMNS, "geometry"]]


def sample_dem(dem: str | Path, x: np.ndarray, y: np.ndarray, crs: str) -> np.ndarray:
    """Elevations (m) of the raster ``dem`` at points ``x``, ``y`` given in ``crs`` (nearest cell; NaN off the raster).

    Nodata cells and points outside the raster give NaN; the caller decides what that means.

    Raises
    ------
    InputError
        The raster is missing or unreadable.
    """
    import rasterio
    from pyproj import Transformer

    path = Path(dem)
    if not path.exists():
        raise InputError("DEM file not found", file=str(dem))
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError("the DEM has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:4326)", file=str(dem))
            if src.crs.to_string() != crs:
                tx, ty = Transformer.from_crs(crs, src.crs.to_wkt(), always_xy=True).transform(x, y)
            else:
                tx, ty = x, y
            rows, cols = rasterio.transform.rowcol(src.transform, np.asarray(tx), np.asarray(ty))
            rows, cols = np.asarray(rows), np.asarray(cols)
            band = src.read(1, masked=True)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - raster library errors become one line
        raise InputError(f"cannot read the DEM: {exc}", file=str(dem)) from None
    inside = (rows >= 0) & (rows < band.shape[0]) & (cols >= 0) & (cols < band.shape[1])
    z = np.full(rows.shape, np.nan)
    values = band[rows[inside], cols[inside]]
    z[inside] = np.ma.filled(values.astype(float), np.nan)
    return z


def drape(streets: Any, dem: str | Path, crs: str) -> tuple[Any, int]:
    """``streets`` with every vertex's Z sampled from ``dem``; also the number of vertices off the raster.

    Raises
    ------
    InputError
        The DEM covers no vertex of the network.
    """
    geoms = streets.geometry.values
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    z = sample_dem(dem, coords[:, 0], coords[:, 1], crs)
    missing = ~np.isfinite(z)
    if missing.all():
        raise InputError("the DEM covers none of the street vertices (wrong area or CRS?)", file=str(dem))
    if missing.any():
        # vertices off the raster take the nearest sampled vertex's height, so slopes stay finite
        from scipy.spatial import cKDTree

        tree = cKDTree(coords[~missing])
        _, nearest = tree.query(coords[missing])
        z[missing] = z[~missing][nearest]
    lines = shapely.linestrings(np.c_[coords, z], indices=index)
    out = streets.copy()
    out["geometry"] = lines
    return out.set_geometry("geometry", crs=streets.crs), int(missing.sum())
