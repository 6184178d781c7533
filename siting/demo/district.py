"""A seeded synthetic hilly district in the spirit of a Chongqing county-level district.

``generate(out_dir, seed=2026)`` writes, in EPSG:32648 (UTM 48N, metres):

* ``streets.gpkg`` (layer ``streets``): walkable street lines with Z (elevation, m) on every vertex and a
  ``highway`` column (``primary``, ``residential``, ``footway``, ``steps``, ``track``); stairs are the short
  steep links; a river crosses the district with three bridges (``bridge = "yes"``).
* ``context.gpkg`` (layers ``river``, ``zones``, ``district``): polygons only used to draw report maps.
* ``demand.csv``: ~30,000 residential buildings (``id, population, elderly, children, x, y, district,
  community``), 300,000 residents; the old town is older (elderly ~23 %) and the new town younger (children
  ~12 %); ``community`` is one of ~30 contiguous communities (社区) labelled ``C01``, ``C02``, ...
* ``sites.csv``: 400 idle buildings (``status = candidate``; ``floor_area`` 100-2,000 m², ``cost`` in yuan tied
  to area and location) and 150 existing facilities (``status = existing``, cost 0) with a ``;``-separated
  ``services`` column, placed as a district grew them (:mod:`siting.demo.facilities`); both with ``community``.
* ``demo.toml`` (policy "elderly and children first", phased 2025-2027), ``demo_unphased.toml`` (the same
  policy, one budget: for sweeps) and ``demo_equal_weights.toml`` (catalog weights), see
  :mod:`siting.demo.scenarios`.

Layout: an old town on a steep north-bank hillside (stairs), a gridded new town on the flatter south bank,
three small town centres and a sparse urban-rural fringe. Everything is drawn from ``numpy.random.default_rng(seed)``,
so the same seed gives byte-identical tables.

Notes
-----
Streets are a pruned Delaunay graph of jittered grid points whose spacing depends on the zone: a minimum spanning
forest keeps it connected and a zone-dependent share of the remaining short links is kept (grid-like in the new town,
organic in the old town, tree-like in the fringe). Elevation is ``z = 178 + valley(d_river) + sum of Gaussian hills``;
the old town's hillside is cut into terraces (:func:`siting.demo.layout.terrace_relief`: rings 90 m apart, 16 m
high, the height taken over a quarter of the ring), so its stairways climb 40-70 % where they cross an escarpment
(about 650 of them; median old-town stair grade 30 %, steepest ~85 %).
A link is tagged ``steps`` when it is shorter than 120 m and its grade exceeds 14 % (generator 4 also tagged old-town
links of 10-14 %; with stairs costed by their rise, those are sloped lanes).
Buildings and communities: :mod:`siting.demo.population`.

Example
-------
A small district (the ``make demo`` one, ``DistrictSpec()``, takes a few seconds):

>>> import tempfile
>>> from siting.demo.district import DistrictSpec, generate
>>> small = DistrictSpec(n_buildings=400, residents=4_000, n_idle=8, n_existing=4, n_communities=3,
...                      spacing_scale=6.0)
>>> paths = generate(tempfile.mkdtemp(), seed=1, spec=small)
>>> sorted(paths)
['context', 'demand', 'scenario', 'scenario_equal_weights', 'scenario_unphased', 'sites', 'streets']
>>> import pandas as pd
>>> demand, sites = pd.read_csv(paths["demand"]), pd.read_csv(paths["sites"])
>>> len(demand), int(demand["population"].sum()), sites["status"].value_counts().to_dict()
(400, 4000, {'candidate': 8, 'existing': 4})
>>> sorted(demand["community"].unique())
['C01', 'C02', 'C03']
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree

from ..io import atomic_path, atomic_write_text, sqlite_unsynced
from .facilities import sites_table
from .layout import (  # noqa: F401 - CRS, SERVICES, river_y, X0, Y0 re-exported for users of the generator
    BRIDGES_X,
    CRS,
    HEIGHT,
    NEW_TOWN,
    OLD_TOWN,
    RIVER_HALF_WIDTH,
    RIVER_MARGIN,
    SERVICES,
    TOWN_CENTRES,
    WIDTH,
    X0,
    Y0,
    ZONES,
    elevation,
    in_ellipse,
    river_offset,
    river_y,
    zone_kind,
    zone_of,
)
from .population import Communities, buildings, demand_table
from .scenarios import scenario_texts

__all__ = ["generate", "DistrictSpec", "main"]

#: a short link steeper than this is a stairway (gentler lanes are sloped streets, walked on the slope response)
STAIR_GRADE = 0.14


@dataclass(frozen=True)
class DistrictSpec:
    """Sizes of the generated district (defaults give the ``make demo`` district)."""

    n_buildings: int = 30_000
    residents: int = 300_000
    n_idle: int = 400
    n_existing: int = 150
    n_communities: int = 30
    spacing_scale: float = 1.0   # >1 gives a coarser (smaller) street network, e.g. for tests
    time_limit_s: float = 120.0  # [solver] time_limit of the generated scenarios (the policy solves stop there)


def _nodes(rng: np.random.Generator, spec: DistrictSpec) -> tuple[np.ndarray, np.ndarray]:
    """Jittered grid points, zone by zone, outside the river."""
    xs, ys = [], []
    for kind, z in ZONES.items():
        s = z["spacing"] * spec.spacing_scale
        gx, gy = np.meshgrid(np.arange(s / 2, WIDTH, s), np.arange(s / 2, HEIGHT, s))
        px = gx.ravel() + rng.uniform(-0.3, 0.3, gx.size) * s
        py = gy.ravel() + rng.uniform(-0.3, 0.3, gy.size) * s
        keep = zone_kind(zone_of(px, py)) == kind
        xs.append(px[keep])
        ys.append(py[keep])
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    inside = (x > 0) & (x < WIDTH) & (y > 0) & (y < HEIGHT)
    dry = np.abs(river_offset(x, y)) > RIVER_HALF_WIDTH + RIVER_MARGIN
    keep = inside & dry
    return x[keep], y[keep]


def _edges(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, spec: DistrictSpec) -> np.ndarray:
    """Street links (pairs of node indices): spanning forest + a zone-dependent share of short Delaunay links."""
    tri = Delaunay(np.column_stack([x, y]))
    s = tri.simplices
    e = np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    length = np.hypot(x[e[:, 0]] - x[e[:, 1]], y[e[:, 0]] - y[e[:, 1]])
    side = np.sign(river_offset(x, y))
    same_bank = side[e[:, 0]] == side[e[:, 1]]
    kind = zone_kind(zone_of((x[e[:, 0]] + x[e[:, 1]]) / 2, (y[e[:, 0]] + y[e[:, 1]]) / 2))
    spacing = np.array([ZONES[k]["spacing"] for k in kind]) * spec.spacing_scale
    keep_share = np.array([ZONES[k]["keep"] for k in kind])
    short = length <= 1.25 * spacing          # grid neighbours, not diagonals
    ok = same_bank & (length <= 2.6 * spacing)
    e, length, short, keep_share = e[ok], length[ok], short[ok], keep_share[ok]
    n = x.size
    w = sp.coo_matrix((length, (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    tree = minimum_spanning_tree(w).tocoo()
    in_tree = set(zip(np.minimum(tree.row, tree.col).tolist(), np.maximum(tree.row, tree.col).tolist(), strict=True))
    tree_mask = np.fromiter(((a, b) in in_tree for a, b in e.tolist()), dtype=bool, count=len(e))
    extra = (~tree_mask) & short & (rng.random(len(e)) < keep_share)
    return e[tree_mask | extra]


def _bridges(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """One link per bridge: the nearest north-bank node to the nearest south-bank node."""
    side = np.sign(river_offset(x, y))
    north = np.flatnonzero(side > 0)
    south = np.flatnonzero(side < 0)
    tn, ts = cKDTree(np.column_stack([x[north], y[north]])), cKDTree(np.column_stack([x[south], y[south]]))
    out = []
    for bx in BRIDGES_X:
        by = float(river_y(bx))
        _, i = tn.query([bx, by + RIVER_HALF_WIDTH + RIVER_MARGIN])
        _, j = ts.query([bx, by - RIVER_HALF_WIDTH - RIVER_MARGIN])
        out.append((north[i], south[j]))
    return np.array(out, dtype=np.int64)


def _streets(rng: np.random.Generator, spec: DistrictSpec
             ) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The street GeoDataFrame, the x, y of the nodes it uses, its links (node pairs) and their bridge flags."""
    import geopandas as gpd
    import shapely

    x, y = _nodes(rng, spec)
    e = _edges(rng, x, y, spec)
    b = _bridges(x, y)
    all_e = np.vstack([e, b])
    n = x.size
    g = sp.coo_matrix((np.ones(len(all_e)), (all_e[:, 0], all_e[:, 1])), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    main = np.argmax(np.bincount(lab))
    z = elevation(x, y)
    is_bridge = np.zeros(len(all_e), dtype=bool)
    is_bridge[len(e):] = True
    keep = lab[all_e[:, 0]] == main
    all_e, is_bridge = all_e[keep], is_bridge[keep]
    a, c = all_e[:, 0], all_e[:, 1]
    length = np.hypot(x[a] - x[c], y[a] - y[c])
    grade = np.abs(z[a] - z[c]) / np.maximum(length, 1.0)
    kind = zone_kind(zone_of((x[a] + x[c]) / 2, (y[a] + y[c]) / 2))
    highway = np.full(len(all_e), "residential", dtype=object)
    highway[kind == "fringe"] = "track"
    old = kind == "old_town"
    highway[old & (length < 45.0)] = "footway"
    highway[(length > 2.0 * np.array([ZONES[k]["spacing"] for k in kind]) * spec.spacing_scale)] = "primary"
    steps = (length < 120.0) & (grade > STAIR_GRADE)
    highway[steps & ~is_bridge] = "steps"
    highway[is_bridge] = "primary"
    # bridges sit on a deck: both ends at the higher bank's level is unrealistic; keep the ground levels
    coords = np.stack([np.column_stack([x[a] + X0, y[a] + Y0, z[a]]), np.column_stack([x[c] + X0, y[c] + Y0, z[c]])],
                      axis=1)
    coords = np.round(coords, 1)
    lines = shapely.linestrings(coords)
    gdf = gpd.GeoDataFrame(
        {
            "highway": highway.astype(str),
            "bridge": np.where(is_bridge, "yes", "no"),
            "zone": zone_of((x[a] + x[c]) / 2, (y[a] + y[c]) / 2).astype(str),
        },
        geometry=lines,
        crs=CRS,
    )
    used, links = np.unique(all_e, return_inverse=True)
    return gdf, x[used], y[used], links.reshape(all_e.shape), is_bridge


def _context() -> tuple[Any, Any, Any]:
    """Map layers (GeoDataFrames): the river, the named zones and the district frame."""
    import geopandas as gpd
    import shapely

    xs = np.linspace(0, WIDTH, 400)
    top = np.column_stack([xs + X0, river_y(xs) + RIVER_HALF_WIDTH + Y0])
    bot = np.column_stack([xs[::-1] + X0, river_y(xs[::-1]) - RIVER_HALF_WIDTH + Y0])
    river = gpd.GeoDataFrame({"name": ["river"]}, geometry=[shapely.Polygon(np.vstack([top, bot]))], crs=CRS)
    zones = []
    for (cx, cy, a, b), name in ((OLD_TOWN, "old_town"), (NEW_TOWN, "new_town")):
        t = np.linspace(0, 2 * np.pi, 120)
        zones.append((name, shapely.Polygon(np.column_stack([cx + a * np.cos(t) + X0, cy + b * np.sin(t) + Y0]))))
    for k, (cx, cy) in enumerate(TOWN_CENTRES, start=1):
        zones.append((f"town_centre_{k}", shapely.Point(cx + X0, cy + Y0).buffer(850.0)))
    frame = shapely.box(X0, Y0, X0 + WIDTH, Y0 + HEIGHT)
    zdf = gpd.GeoDataFrame({"name": [n for n, _ in zones]}, geometry=[g for _, g in zones], crs=CRS)
    frame_df = gpd.GeoDataFrame({"name": ["district"]}, geometry=[frame], crs=CRS)
    return river, zdf, frame_df


def generate(out_dir: str | Path, *, seed: int = 2026, spec: DistrictSpec | None = None) -> dict[str, Path]:
    """Write the demo district's files into ``out_dir`` and return their paths by name.

    Parameters
    ----------
    out_dir : folder to write (created if missing); existing files are replaced atomically.
    seed : random seed; the same seed gives the same district.
    spec : sizes (defaults: 30,000 buildings, 300,000 residents, 400 idle buildings, 150 existing facilities,
        30 communities).
    """
    spec = spec or DistrictSpec()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    streets, nx, ny, links, is_bridge = _streets(rng, spec)
    bld = buildings(rng, spec.n_buildings, spec.residents, nx, ny, spacing_scale=spec.spacing_scale)
    communities = Communities.build(rng, spec.n_communities, nx, ny, links, is_bridge, bld["x"].to_numpy(),
                                    bld["y"].to_numpy(), bld["population"].to_numpy().astype(float))
    demand = demand_table(bld, communities)
    sites = sites_table(rng, spec.n_idle, spec.n_existing, bld, communities)
    river, zones, frame = _context()
    paths = {
        "streets": out / "streets.gpkg",
        "context": out / "context.gpkg",
        "demand": out / "demand.csv",
        "sites": out / "sites.csv",
    }
    _write_gpkg(paths["streets"], [("streets", streets)])
    _write_gpkg(paths["context"], [("river", river), ("zones", zones), ("district", frame)])
    _write_text(paths["demand"], demand.to_csv(index=False, lineterminator="\n"))
    _write_text(paths["sites"], sites.to_csv(index=False, lineterminator="\n"))
    for key, (name, text) in zip(("scenario", "scenario_unphased", "scenario_equal_weights"),
                                 scenario_texts(seed, time_limit_s=spec.time_limit_s).items(), strict=True):
        paths[key] = out / name
        _write_text(paths[key], text)
    return paths


def _write_text(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def _write_gpkg(path: Path, layers: list[tuple[str, Any]]) -> None:
    """Write GeoPackage layers into a temporary file in the same folder, then rename it into place."""
    import pyogrio

    with atomic_path(path) as tmp, sqlite_unsynced():
        tmp.unlink()
        for name, gdf in layers:
            pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", append=tmp.exists())


def main(argv: list[str] | None = None) -> int:
    """``python -m siting.demo.district OUT [--seed N]``: write the demo district and list its files."""
    p = argparse.ArgumentParser(prog="python -m siting.demo.district", description=(__doc__ or "").splitlines()[0])
    p.add_argument("out", help="folder to write the district files into")
    p.add_argument("--seed", type=int, default=2026)
    a = p.parse_args(argv)
    paths = generate(a.out, seed=a.seed)
    for k, v in paths.items():
        print(f"{k:9s} {v}  ({v.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
