r"""Population of residential buildings: floor area x persons per m2, or a population grid shared out.

With a grid (GeoTIFF of persons per cell, e.g. WorldPop / GHS-POP, or a CSV of cell centres), each building
takes the cell its representative point falls in (the nearest cell centre); a cell's people are shared among
its buildings in proportion to floor area. Cells with people but no residential building become demand points
of their own at the cell centre, so the total population is the grid's.

Notes
-----
For a cell :math:`c` with population :math:`P_c` and buildings :math:`b \in B_c` of floor area :math:`A_b`:
:math:`p_b = P_c A_b / \sum_{b' \in B_c} A_{b'}`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["GridCells", "read_grid", "share_grid"]


@dataclass(frozen=True)
class GridCells:
    """Cell centres ``x``, ``y`` (metric CRS of the buildings) and their ``population``; ``source`` names the file."""

    x: np.ndarray
    y: np.ndarray
    population: np.ndarray
    source: str


def read_grid(path: str | Path, crs: str, bounds: tuple[float, float, float, float]) -> GridCells:
    """Grid cells from a GeoTIFF (band 1 = persons per cell) or a CSV (``lon``,``lat`` or ``x``,``y``; ``population``).

    CSV ``x``/``y`` are taken to be in ``crs`` (the buildings' metric CRS); ``lon``/``lat`` are WGS-84.
    A raster is read only in the window around ``bounds`` (metric ``minx, miny, maxx, maxy``) plus one cell,
    and zero cells are kept so that every building finds its own cell.

    Raises
    ------
    InputError
        Missing, unreadable file; missing columns; negative or non-numeric population.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("population grid file not found", file=str(path))
    if path.suffix.lower() in (".tif", ".tiff"):
        return _read_raster(path, crs, bounds)
    if path.suffix.lower() in (".csv", ".txt"):
        return _read_csv(path, crs)
    raise InputError("unknown population grid format (use a GeoTIFF .tif or a CSV of cells)", file=str(path))


def _read_csv(path: Path, crs: str) -> GridCells:
    from pyproj import Transformer

    frame = None
    for encoding in ("utf-8-sig", "gb18030"):  # Chinese exports are often GB18030
        try:
            frame = pd.read_csv(path, encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
        except Exception as exc:  # noqa: BLE001 - a parser's error becomes one line
            raise InputError(f"cannot read the population grid: {exc}", file=str(path)) from None
    if frame is None:
        raise InputError("cannot decode the population grid (tried UTF-8 and GB18030)", file=str(path))
    frame.columns = [str(c).strip() for c in frame.columns]
    if "population" not in frame.columns:
        raise InputError(f"missing column; columns found: {', '.join(frame.columns)}", file=str(path),
                         column="population")
    if {"lon", "lat"} <= set(frame.columns):
        cols = ("lon", "lat")
    elif {"x", "y"} <= set(frame.columns):
        cols = ("x", "y")
    else:
        raise InputError("needs lon, lat (WGS-84) or x, y (the buildings' CRS) columns", file=str(path), column="lon")
    values = {}
    for col in (*cols, "population"):
        num = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(num) | ((num < 0) if col == "population" else False)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise InputError(f"expected a finite number{' >= 0' if col == 'population' else ''}, got "
                             f"{frame[col].iloc[r]!r}", file=str(path), row=r + 2, column=col)
        values[col] = num
    x, y = values[cols[0]], values[cols[1]]
    if cols == ("lon", "lat"):
        x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(x, y)
    return GridCells(np.asarray(x), np.asarray(y), values["population"], str(path))


def _read_raster(path: Path, crs: str, bounds: tuple[float, float, float, float]) -> GridCells:
    import rasterio
    from pyproj import Transformer
    from rasterio.windows import Window

    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError("the population raster has no CRS", file=str(path))
            to_src = Transformer.from_crs(crs, src.crs.to_wkt(), always_xy=True)
            bx, by = to_src.transform([bounds[0], bounds[2], bounds[0], bounds[2]],
                                      [bounds[1], bounds[1], bounds[3], bounds[3]])
            # pixel columns / rows of the box's corners, widened by one cell and clipped to the raster
            t = src.transform
            if t.b or t.d:
                raise InputError("rotated rasters are not supported; warp it north-up (gdalwarp)", file=str(path))
            cols = (np.asarray(bx, dtype=float) - t.c) / t.a
            rows = (np.asarray(by, dtype=float) - t.f) / t.e
            c0, c1 = max(int(np.floor(cols.min())) - 1, 0), min(int(np.ceil(cols.max())) + 1, src.width)
            r0, r1 = max(int(np.floor(rows.min())) - 1, 0), min(int(np.ceil(rows.max())) + 1, src.height)
            if c1 <= c0 or r1 <= r0:
                raise InputError("the population raster does not cover the buildings", file=str(path))
            window = Window(c0, r0, c1 - c0, r1 - r0)
            band = src.read(1, window=window, masked=True)
            src_crs = src.crs.to_wkt()
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - raster library errors become one line
        raise InputError(f"cannot read the population raster: {exc}", file=str(path)) from None
    rows, cols = np.indices(band.shape)
    cx = t.c + t.a * (cols.ravel() + c0 + 0.5)  # cell centres of a north-up raster
    cy = t.f + t.e * (rows.ravel() + r0 + 0.5)
    pop = np.ma.filled(band.astype(float), 0.0).ravel()
    if np.any(pop < 0):
        raise InputError("negative population in the raster", file=str(path))
    x, y = Transformer.from_crs(src_crs, crs, always_xy=True).transform(np.asarray(cx), np.asarray(cy))
    return GridCells(np.asarray(x), np.asarray(y), pop, str(path))


def share_grid(grid: GridCells, bx: np.ndarray, by: np.ndarray,
               floor_area_m2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(building_population, orphan_cells)``: each cell's people shared by floor area; cells with none.

    Examples
    --------
    >>> g = GridCells(np.array([0.0, 100.0, 200.0]), np.zeros(3), np.array([90.0, 10.0, 5.0]), "g")
    >>> pop, orphans = share_grid(g, np.array([1.0, 2.0, 99.0]), np.zeros(3), np.array([100.0, 200.0, 50.0]))
    >>> pop.tolist(), orphans.tolist()
    ([30.0, 60.0, 10.0], [2])
    """
    from scipy.spatial import cKDTree

    if grid.x.size == 0:
        raise InputError("the population grid has no cell over the buildings", file=grid.source)
    _, cell = cKDTree(np.c_[grid.x, grid.y]).query(np.c_[bx, by])
    area_per_cell = np.bincount(cell, weights=floor_area_m2, minlength=grid.x.size)
    share = floor_area_m2 / np.where(area_per_cell[cell] > 0, area_per_cell[cell], 1.0)
    pop = grid.population[cell] * share
    orphan = np.flatnonzero((area_per_cell == 0) & (grid.population > 0))
    return pop, orphan
