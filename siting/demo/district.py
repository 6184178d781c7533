"""A seeded synthetic hilly district in the spirit of a Chongqing county-level district.

``generate(out_dir, seed=2026)`` writes, in EPSG:32648 (UTM 48N, metres):

* ``streets.gpkg`` (layer ``streets``): walkable street lines with Z (elevation, m) on every vertex and a
  ``highway`` column (``primary``, ``residential``, ``footway``, ``steps``, ``track``); stairs are the short
  steep links; a river crosses the district with three bridges (``bridge = "yes"``).
* ``context.gpkg`` (layers ``river``, ``zones``): polygons only used to draw report maps.
* ``demand.csv``: ~1,500 residential blocks (``id, population, elderly, children, x, y, district``),
  ~300,000 residents; the old town is older (elderly ~23 %) and the new town younger (children ~12 %).
* ``sites.csv``: ~400 idle buildings (``status = candidate``; ``floor_area`` 100–2,000 m², ``cost`` in yuan tied to area
  and location) and ~150 existing facilities (``status = existing``, cost 0) with a ``;``-separated ``services`` column.
* ``demo.toml``: a multi-service scenario over those files.

Layout: an old town on a steep north-bank hillside (stairs), a gridded new town on the flatter south bank,
three small town centres and a sparse urban-rural fringe. Everything is drawn from ``numpy.random.default_rng(seed)``,
so the same seed gives byte-identical tables.

Notes
-----
Streets are a pruned Delaunay graph of jittered grid points whose spacing depends on the zone: a minimum spanning
forest keeps it connected and a zone-dependent share of the remaining short links is kept (grid-like in the new town,
organic in the old town, tree-like in the fringe). Elevation is ``z = 178 + valley(d_river) + sum of Gaussian hills``.
A link is tagged ``steps`` when it is shorter than 120 m and its grade exceeds 14 % (10 % in the old town, below 60 m).

Example
-------
A small district (the ``make demo`` one, ``DistrictSpec()``, takes about 20 s):

>>> import tempfile
>>> from siting.demo.district import DistrictSpec, generate
>>> small = DistrictSpec(n_blocks=40, residents=4_000, n_idle=8, n_existing=4, spacing_scale=6.0)
>>> paths = generate(tempfile.mkdtemp(), seed=1, spec=small)
>>> sorted(paths)
['context', 'demand', 'scenario', 'scenario_equal_weights', 'sites', 'streets']
>>> import pandas as pd
>>> demand, sites = pd.read_csv(paths["demand"]), pd.read_csv(paths["sites"])
>>> len(demand), int(demand["population"].sum()), sites["status"].value_counts().to_dict()
(40, 4000, {'candidate': 8, 'existing': 4})
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree

from ..io import atomic_path, atomic_write_text
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

__all__ = ["generate", "DistrictSpec", "main"]


@dataclass(frozen=True)
class DistrictSpec:
    """Sizes of the generated district (defaults give the ``make demo`` district)."""

    n_blocks: int = 1500
    residents: int = 300_000
    n_idle: int = 400
    n_existing: int = 150
    spacing_scale: float = 1.0   # >1 gives a coarser (smaller) street network, e.g. for tests


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


def _streets(rng: np.random.Generator, spec: DistrictSpec) -> tuple[Any, np.ndarray, np.ndarray]:
    """The street GeoDataFrame and the x, y of the nodes it uses."""
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
    steps = ((length < 120.0) & (grade > 0.14)) | (old & (length < 60.0) & (grade > 0.10))
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
    used = np.unique(all_e)
    return gdf, x[used], y[used]


def _sample_in_zone(rng: np.random.Generator, kind_or_label: str, n: int,
                    by_label: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uniform points of a zone kind (or label), away from the river (rejection sampling)."""
    xs: list[np.ndarray] = [np.empty(0)]  # a small district may ask for no point of a zone
    ys: list[np.ndarray] = [np.empty(0)]
    got = 0
    while got < n:
        px = rng.uniform(0, WIDTH, 4 * n + 64)
        py = rng.uniform(0, HEIGHT, 4 * n + 64)
        lab = zone_of(px, py)
        match = (lab == kind_or_label) if by_label else (zone_kind(lab) == kind_or_label)
        dry = np.abs(river_offset(px, py)) > RIVER_HALF_WIDTH + RIVER_MARGIN + 20.0
        keep = match & dry
        xs.append(px[keep])
        ys.append(py[keep])
        got += int(keep.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def _split(total: int, shares: list[float]) -> list[int]:
    """``total`` split into integers in proportion to ``shares`` (largest remainder gets the rest)."""
    raw = np.array(shares) / np.sum(shares) * total
    out = np.floor(raw).astype(int)
    out[np.argmax(raw - out)] += total - out.sum()
    return out.tolist()


def _places(rng: np.random.Generator, n: int, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` points spread over the zones by the share ``key`` (town centres split evenly)."""
    counts = _split(n, [ZONES[k][key] for k in ZONES])
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    labs: list[np.ndarray] = []
    for kind, c in zip(ZONES, counts, strict=True):
        labels = [f"town_centre_{k}" for k in range(1, len(TOWN_CENTRES) + 1)] if kind == "town_centre" else [kind]
        for label, count in zip(labels, _split(c, [1.0] * len(labels)), strict=True):
            px, py = _sample_in_zone(rng, label, count, by_label=kind == "town_centre")
            xs.append(px)
            ys.append(py)
            labs.append(np.full(count, label, dtype=object))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(labs)


def _demand(rng: np.random.Generator, spec: DistrictSpec) -> pd.DataFrame:
    """Residential blocks: population drawn by zone density, elderly and children shares by zone."""
    x, y, lab = _places(rng, spec.n_blocks, "blocks")
    kind = zone_kind(lab)
    dens = {"old_town": 1.25, "new_town": 1.15, "town_centre": 0.75, "fringe": 0.5}
    w = np.array([dens[k] for k in kind]) * rng.lognormal(0.0, 0.45, x.size)
    pop = np.maximum(20, np.round(w / w.sum() * spec.residents)).astype(int)
    pop[np.argmax(pop)] += spec.residents - pop.sum()
    el_share = np.clip(np.array([ZONES[k]["elderly"] for k in kind]) + rng.normal(0, 0.03, x.size), 0.03, 0.5)
    ch_share = np.clip(np.array([ZONES[k]["children"] for k in kind]) + rng.normal(0, 0.02, x.size), 0.01, 0.3)
    elderly = rng.binomial(pop, el_share)
    children = np.minimum(rng.binomial(pop, ch_share), pop - elderly)
    order = np.lexsort((x, lab))
    n = x.size
    return pd.DataFrame(
        {
            "id": [f"blk{i:04d}" for i in range(1, n + 1)],
            "population": pop[order],
            "elderly": elderly[order],
            "children": children[order],
            "x": np.round(x[order] + X0, 1),
            "y": np.round(y[order] + Y0, 1),
            "district": lab[order].astype(str),
        }
    )


def _sites(rng: np.random.Generator, spec: DistrictSpec) -> pd.DataFrame:
    """Idle buildings (candidates, cost from floor area and zone) and existing facilities (cost 0)."""
    # idle buildings
    x, y, lab = _places(rng, spec.n_idle, "idle")
    kind = zone_kind(lab)
    area = np.clip(np.round(rng.lognormal(np.log(480.0), 0.6, x.size), -1), 100.0, 2000.0)
    yuan_m2 = np.array([ZONES[k]["yuan_m2"] for k in kind]) * rng.uniform(0.8, 1.2, x.size)
    cost = np.round((150_000.0 + area * yuan_m2) / 1_000.0) * 1_000.0
    idle = pd.DataFrame(
        {
            "id": [f"b{i:03d}" for i in range(1, x.size + 1)],
            "cost": cost,
            "x": np.round(x + X0, 1),
            "y": np.round(y + Y0, 1),
            "floor_area": area,
            "status": "candidate",
            "services": "",
            "district": lab.astype(str),
        }
    )
    # existing facilities, each providing 1-3 services
    x, y, lab = _places(rng, spec.n_existing, "existing")
    p = np.array([0.17, 0.12, 0.2, 0.07, 0.18, 0.2, 0.06])
    services = []
    for _ in range(x.size):
        k = int(rng.choice([1, 1, 2, 2, 3]))
        services.append(";".join(sorted(rng.choice(SERVICES, size=k, replace=False, p=p), key=SERVICES.index)))
    existing = pd.DataFrame(
        {
            "id": [f"f{i:03d}" for i in range(1, x.size + 1)],
            "cost": 0.0,
            "x": np.round(x + X0, 1),
            "y": np.round(y + Y0, 1),
            "floor_area": np.clip(np.round(rng.lognormal(np.log(600.0), 0.5, x.size), -1), 80.0, 3000.0),
            "status": "existing",
            "services": services,
            "district": lab.astype(str),
        }
    )
    return pd.concat([idle, existing], ignore_index=True)


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


DEMO_TOML = """\
# Demo district (synthetic, seeded): generated by `python -m siting.demo.district OUT --seed {seed}`.
# Multi-service siting of neighbourhood facilities in idle buildings under one budget (yuan):
# which idle buildings to convert, and which services of the default 15-minute life-circle basket
# (siting/services/default_catalog.toml) to fit into each. Paths are relative to this file.
name = "demo-district"
description = "Hilly river district: old town (stairs), new town, three town centres, fringe"

[data]
demand = "demand.csv"          # 1,500 residential blocks: population, elderly, children, district
candidates = "sites.csv"       # 400 idle buildings (status candidate) + 150 existing facilities (services column)

[network]
path = "streets.gpkg"          # line layer with Z (elevation) and highway = steps on stairs
layer = "streets"
cutoff_minutes = 15
slope = true                   # Tobler's hiking function
stairs_factor = 0.5            # assumption: half the flat speed on stairs

[network.speeds]               # m/s; elderly services use the elderly table (catalog speed_group)
adult = 1.0
elderly = 0.76

[model]
type = "multiservice"         # each service walks to its own catalog threshold (5/10/15 min)
budget = 60000000

# Catalog overrides. The default basket weighs one covered person the same for every group, so services for
# the whole population win on coverage per yuan; this scenario gives the "basic guarantee" services for the
# elderly and children priority (Chongqing's 2024-2027 action plan puts them first). Compare it with
# demo_equal_weights.toml (`siting compare`).
[services.elderly_care]
weight = 6.0
[services.canteen]
weight = 3.0
[services.childcare]
weight = 4.0

[solver]
name = "highs"
time_limit = 60
mip_gap = 0.01

[sweep]
budgets = [10000000, 20000000, 40000000, 60000000, 90000000, 130000000]
"""


def generate(out_dir: str | Path, *, seed: int = 2026, spec: DistrictSpec | None = None) -> dict[str, Path]:
    """Write the demo district's files into ``out_dir`` and return their paths by name.

    Parameters
    ----------
    out_dir : folder to write (created if missing); existing files are replaced atomically.
    seed : random seed; the same seed gives the same district.
    spec : sizes (defaults: 1,500 blocks, 300,000 residents, 400 idle buildings, 150 existing facilities).
    """
    spec = spec or DistrictSpec()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    streets, _, _ = _streets(rng, spec)
    demand = _demand(rng, spec)
    sites = _sites(rng, spec)
    river, zones, frame = _context()
    paths = {
        "streets": out / "streets.gpkg",
        "context": out / "context.gpkg",
        "demand": out / "demand.csv",
        "sites": out / "sites.csv",
        "scenario": out / "demo.toml",
    }
    _write_gpkg(paths["streets"], [("streets", streets)])
    _write_gpkg(paths["context"], [("river", river), ("zones", zones), ("district", frame)])
    _write_text(paths["demand"], demand.to_csv(index=False, lineterminator="\n"))
    _write_text(paths["sites"], sites.to_csv(index=False, lineterminator="\n"))
    _write_text(paths["scenario"], DEMO_TOML.format(seed=seed))
    paths["scenario_equal_weights"] = out / "demo_equal_weights.toml"
    _write_text(paths["scenario_equal_weights"], _equal_weights(DEMO_TOML.format(seed=seed)))
    return paths


def _equal_weights(text: str) -> str:
    """The demo scenario with the catalogue's own service weights (no priority for elderly and children)."""
    head, _, rest = text.partition("# Catalog overrides.")
    _, _, tail = rest.partition("[solver]")
    head = head.replace('name = "demo-district"', 'name = "demo-equal-weights"')
    return head + "[services]                     # no overrides: the default catalog's weights\n\n[solver]" + tail


def _write_text(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def _write_gpkg(path: Path, layers: list[tuple[str, Any]]) -> None:
    """Write GeoPackage layers into a temporary file in the same folder, then rename it into place."""
    import pyogrio

    with atomic_path(path) as tmp:
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
