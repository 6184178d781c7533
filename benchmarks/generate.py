"""Clustered, city-like coverage instances: towns with dense cores, walking times = distance x detour / speed.

Two outputs:

* :func:`city_problem` -> a :class:`~siting.problem.CoverageProblem` (MCLP with a budget) built directly,
  chunked, with int32 indices (what the scale benchmarks use; 1,000,000 x 50,000 fits in a few GB);
* :func:`city_tables` -> the three user tables (demand, candidates, travel times within ``max_minutes``) as
  pandas DataFrames, and ``python benchmarks/generate.py OUT_DIR ...`` writes them as CSV/Parquet.

Geometry. ``n_towns = max(3, n_demand // 4000)`` town centres lie uniformly in a square whose side grows
with ``sqrt(n_towns)``; a town's share of people is log-normal. Each point belongs to a town's core
(70 %, normal with sigma ``core_km``) or its outskirts (30 %, sigma ``outer_km``). Candidate buildings follow the
same mixture. Walking time = Euclidean distance x detour / speed, with a per-pair detour factor in
[1.2, 1.5] from a hash of the pair (deterministic). Defaults are calibrated so that 60,000 x 5,000 has
about 2.5 million pairs within 25 minutes.

Example
-------
>>> p = city_problem(2000, 200, seed=1)
>>> p.n_demand, p.n_sites, p.coverage.nnz > 0
(2000, 200, True)
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from siting.problem import CoverageProblem, ModelType  # noqa: E402

__all__ = ["CityPoints", "city_points", "city_pairs", "city_problem", "city_tables"]

SPEED_M_MIN = 80.0          # 4.8 km/h
DETOUR_MIN, DETOUR_MAX = 1.2, 1.5


@dataclass(frozen=True)
class CityPoints:
    demand_xy: np.ndarray      # (n_demand, 2) float64 metres
    population: np.ndarray     # (n_demand,) float64, integers
    site_xy: np.ndarray        # (n_sites, 2)
    site_cost: np.ndarray      # (n_sites,) yuan
    site_status: np.ndarray    # (n_sites,) str: candidate | existing | excluded


def _mixture(rng, n, centres, share, core_km, outer_km):
    town = rng.choice(centres.shape[0], size=n, p=share)
    core = rng.random(n) < 0.7
    sigma = np.where(core, core_km, outer_km)[:, None] * 1000.0
    return centres[town] + rng.normal(size=(n, 2)) * sigma


def city_points(n_demand: int, n_sites: int, *, seed: int = 0, core_km: float = 1.9, outer_km: float = 4.7,
                town_spacing_km: float = 14.0, existing_share: float = 0.01,
                excluded_share: float = 0.01) -> CityPoints:
    """Random clustered demand points and candidate buildings (see the module notes)."""
    rng = np.random.default_rng(seed)
    n_towns = max(3, n_demand // 4000)
    side = np.sqrt(n_towns) * town_spacing_km * 1000.0
    centres = rng.random((n_towns, 2)) * side
    share = rng.lognormal(0.0, 0.6, n_towns)
    share /= share.sum()
    demand_xy = _mixture(rng, n_demand, centres, share, core_km, outer_km)
    population = np.maximum(1.0, np.round(rng.lognormal(np.log(20.0), 0.7, n_demand)))
    site_xy = _mixture(rng, n_sites, centres, share, core_km * 1.2, outer_km)
    site_cost = np.round(rng.lognormal(np.log(1.0e6), 0.5, n_sites), -3)
    u = rng.random(n_sites)
    status = np.where(u < existing_share, "existing", np.where(u < existing_share + excluded_share, "excluded",
                                                               "candidate"))
    site_cost = np.where(status == "existing", 0.0, site_cost)
    return CityPoints(demand_xy, population, site_xy, site_cost, status)


def _detour(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    h = (i.astype(np.uint64) * np.uint64(2654435761) + j.astype(np.uint64) * np.uint64(40503)) % np.uint64(1 << 20)
    return DETOUR_MIN + (DETOUR_MAX - DETOUR_MIN) * h.astype(np.float64) / float(1 << 20)


def city_pairs(points: CityPoints, max_minutes: float, *, chunk: int = 100_000
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(demand_index int32, site_index int32, minutes float32) of every pair within ``max_minutes``."""
    radius = max_minutes * SPEED_M_MIN / DETOUR_MIN
    tree = cKDTree(points.site_xy)
    out_i, out_j, out_t = [], [], []
    for start in range(0, points.demand_xy.shape[0], chunk):
        sub = cKDTree(points.demand_xy[start:start + chunk])
        d = sub.sparse_distance_matrix(tree, radius, output_type="coo_matrix")
        i = d.row.astype(np.int32) + np.int32(start)
        j = d.col.astype(np.int32)
        minutes = (d.data * _detour(i, j) / SPEED_M_MIN).astype(np.float32)
        keep = minutes <= max_minutes
        out_i.append(i[keep])
        out_j.append(j[keep])
        out_t.append(minutes[keep])
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_t)


def city_problem(n_demand: int, n_sites: int, *, threshold_min: float = 15.0, budget_sites: float | None = None,
                 max_sites: int | None = None, seed: int = 0, points: CityPoints | None = None,
                 model: ModelType = ModelType.MCLP, target_coverage: float | None = None) -> CoverageProblem:
    """A coverage problem on a generated city: covered iff walking time <= ``threshold_min``.

    ``budget_sites``: the budget is this many times the mean candidate cost (default ``n_sites / 40``,
    i.e. about 2.5 % of the candidates can be converted).
    """
    pts = points if points is not None else city_points(n_demand, n_sites, seed=seed)
    i, j, _ = city_pairs(pts, threshold_min)
    cov = sp.csr_matrix((np.ones(i.size, dtype=bool), (i, j)), shape=(n_demand, n_sites))
    cov.sort_indices()
    existing = pts.site_status == "existing"
    excluded = pts.site_status == "excluded"
    mean_cost = float(pts.site_cost[pts.site_status == "candidate"].mean())
    budget = None
    if model == ModelType.MCLP:
        budget = float((budget_sites if budget_sites is not None else n_sites / 40) * mean_cost)
    return CoverageProblem(model, cov, pts.population.copy(), pts.site_cost.copy(), existing, excluded, ~existing,
                           budget=budget, max_sites=max_sites, target_coverage=target_coverage,
                           total_weight=float(pts.population.sum()))


def city_tables(n_demand: int, n_sites: int, *, max_minutes: float = 25.0, seed: int = 0):
    """The three user tables (pandas DataFrames): demand, candidates, travel times within ``max_minutes``."""
    import pandas as pd

    pts = city_points(n_demand, n_sites, seed=seed)
    i, j, t = city_pairs(pts, max_minutes)
    demand_ids = np.char.add("d", np.arange(n_demand).astype(str))
    site_ids = np.char.add("s", np.arange(n_sites).astype(str))
    demand = pd.DataFrame({"id": demand_ids, "population": pts.population, "x": pts.demand_xy[:, 0],
                           "y": pts.demand_xy[:, 1]})
    candidates = pd.DataFrame({"id": site_ids, "cost": pts.site_cost, "x": pts.site_xy[:, 0],
                               "y": pts.site_xy[:, 1], "status": pts.site_status})
    travel = pd.DataFrame({"demand_id": demand_ids[i], "candidate_id": site_ids[j], "minutes": np.round(t, 2)})
    return demand, candidates, travel


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir", nargs="?", help="write demand/candidates/travel tables here (omit: only count pairs)")
    ap.add_argument("--demand", type=int, default=60_000)
    ap.add_argument("--sites", type=int, default=5_000)
    ap.add_argument("--max-minutes", type=float, default=25.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--format", choices=["csv", "parquet"], default="parquet")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.out_dir is None:
        pts = city_points(args.demand, args.sites, seed=args.seed)
        i, _, t = city_pairs(pts, args.max_minutes)
        print(f"{args.demand} x {args.sites}: {i.size:,} pairs within {args.max_minutes:g} min, "
              f"{int((t <= 15).sum()):,} within 15 min ({time.perf_counter() - t0:.1f} s)")
        return 0
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = city_tables(args.demand, args.sites, max_minutes=args.max_minutes, seed=args.seed)
    for name, df in zip(("demand", "candidates", "travel"), tables, strict=True):
        path = out / f"{name}.{args.format}"
        df.to_parquet(path, index=False) if args.format == "parquet" else df.to_csv(path, index=False)
        print(f"wrote {path} ({len(df):,} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
