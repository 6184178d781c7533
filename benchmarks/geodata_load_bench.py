"""Loading a demand layer as people have it: projected points (CSV) vs lon/lat building footprints (GeoPackage).

    .venv/bin/python benchmarks/geodata_load_bench.py [--sizes 3000 30000] [--seed 0]

For each size, the same buildings (rectangles 10-30 m wide around Chongqing, UTM 48N) are written twice: a CSV of
their representative points in metres, and a GeoPackage of their footprints in EPSG:4326. The table gives the
seconds of ``read_demand`` on each (best of three), what the footprints cost on top (representative points, the
projection to the local UTM zone), and the largest distance between the two positions of a building (metres).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from siting.data import read_demand  # noqa: E402


def _buildings(n: int, seed: int):  # noqa: ANN202 - a GeoDataFrame, geopandas imported here
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    cx = 650_000 + (np.arange(n) % side) * 40.0 + rng.uniform(-5, 5, n)
    cy = 3_270_000 + (np.arange(n) // side) * 40.0 + rng.uniform(-5, 5, n)
    w, h = rng.uniform(10, 30, n), rng.uniform(8, 20, n)
    shapes = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    return gpd.GeoDataFrame({"id": [f"b{k}" for k in range(n)], "population": rng.integers(1, 60, n)},
                            geometry=shapes, crs="EPSG:32648")


def _best_of(fn, repeat: int = 3) -> tuple[float, object]:  # noqa: ANN001
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 30000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| buildings | points CSV s | lon/lat footprints GPKG s | extra s | max position gap m |")
    print("|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            gdf = _buildings(n, args.seed)
            points = gdf.geometry.representative_point()
            csv, gpkg = Path(tmp) / f"d{n}.csv", Path(tmp) / f"d{n}.gpkg"
            gdf.drop(columns="geometry").assign(x=points.x, y=points.y).to_csv(csv, index=False)
            gdf.to_crs("EPSG:4326").to_file(gpkg, driver="GPKG")
            t_csv, by_points = _best_of(lambda: read_demand(csv, crs="EPSG:32648"))  # noqa: B023
            t_gpkg, by_shapes = _best_of(lambda: read_demand(gpkg))  # noqa: B023
            assert by_shapes.crs == "EPSG:32648"
            gap = float(np.max(np.hypot(by_points.x - by_shapes.x, by_points.y - by_shapes.y)))
            print(f"| {n:,} | {t_csv:.3f} | {t_gpkg:.3f} | {t_gpkg - t_csv:+.3f} | {gap:.3f} |")


if __name__ == "__main__":
    main()
