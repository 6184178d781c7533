"""Evaluation speed: siting's sparse 2SFCA (and the full tables) beside PySAL ``access`` on the same inputs.

Random demand points and sites in a square; travel minutes = straight distance at 60 m/min, pairs kept up to
a 15-minute cutoff (about ``--pairs-per-point`` sites per demand point), threshold 10 minutes; 20 % of the
sites are existing providers, a plan adds 5 %. Columns:

* ``2sfca s``: one classic 2SFCA pass (before) with :func:`siting.evaluate.fca.two_step`;
* ``tables s``: :func:`siting.evaluate.evaluate_instance`: 2SFCA, Gaussian and E2SFCA before and after,
  groups and supply tables (one service);
* ``pysal s``: ``access.Access(...).two_stage_fca`` on the same triples (skipped above ``--pysal-max-pairs``);
* ``max rel diff``: largest difference of the two 2SFCA vectors over the largest value.

Run: ``.venv/bin/python benchmarks/evaluate_bench.py`` (``--sizes 1k 10k 100k``; the 100k x 10k row takes
about a minute to generate).
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from siting.data.instance import Demand, Instance, Sites, SiteStatus, TravelTimes
from siting.evaluate import EvalService, evaluate_instance
from siting.evaluate.fca import catchment, two_step

SIZES = {"1k": (1_000, 100), "10k": (10_000, 1_000), "100k": (100_000, 10_000)}
SPEED_M_PER_MIN, CUTOFF_MIN, THRESHOLD_MIN = 60.0, 15.0, 10.0


def make_instance(n_demand: int, n_sites: int, pairs_per_point: float, seed: int = 0) -> Instance:
    """A random instance with about ``pairs_per_point`` sites within the cutoff of each demand point."""
    rng = np.random.default_rng(seed)
    radius_m = CUTOFF_MIN * SPEED_M_PER_MIN
    side = radius_m * np.sqrt(np.pi * n_sites / pairs_per_point)
    dxy, sxy = rng.uniform(0, side, (n_demand, 2)), rng.uniform(0, side, (n_sites, 2))
    dist = cKDTree(dxy).sparse_distance_matrix(cKDTree(sxy), radius_m, output_type="ndarray")
    status = np.full(n_sites, SiteStatus.CANDIDATE.value, dtype=object)
    status[rng.random(n_sites) < 0.2] = SiteStatus.EXISTING.value
    population = rng.integers(10, 500, n_demand).astype(float)
    demand = Demand(np.array([f"d{i}" for i in range(n_demand)]), population, dxy[:, 0], dxy[:, 1],
                    groups={"elderly": np.floor(population * 0.2)},
                    labels={"community": np.array([f"c{i % 50}" for i in range(n_demand)], dtype=object)})
    sites = Sites(np.array([f"s{j}" for j in range(n_sites)]), np.ones(n_sites), sxy[:, 0], sxy[:, 1], status,
                  capacity=rng.integers(100, 3000, n_sites).astype(float),
                  floor_area=rng.integers(200, 2000, n_sites).astype(float),
                  labels={"community": np.array([f"c{j % 50}" for j in range(n_sites)], dtype=object)})
    travel = TravelTimes(dist["i"].astype(np.int64), dist["j"].astype(np.int64), dist["v"] / SPEED_M_PER_MIN,
                         n_demand, n_sites)
    return Instance(demand, sites, travel)


def pysal_2sfca(inst: Instance, supply: np.ndarray) -> tuple[np.ndarray, float]:
    """PySAL access's 2SFCA on the instance's triples (and its seconds)."""
    import access

    tr = inst.travel
    providers = np.flatnonzero(supply > 0)
    demand_df = pd.DataFrame({"geoid": np.arange(inst.n_demand), "pop": inst.demand.population})
    supply_df = pd.DataFrame({"geoid": providers, "cap": supply[providers]})
    cost_df = pd.DataFrame({"origin": tr.demand_index, "dest": tr.site_index, "cost": tr.minutes})
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = access.Access(demand_df=demand_df, demand_index="geoid", demand_value="pop", supply_df=supply_df,
                          supply_index="geoid", supply_value="cap", cost_df=cost_df, cost_origin="origin",
                          cost_dest="dest", cost_name="cost")
        out = a.two_stage_fca(name="fca", max_cost=THRESHOLD_MIN)
    seconds = time.perf_counter() - started
    return out.iloc[:, 0].reindex(np.arange(inst.n_demand)).fillna(0.0).to_numpy(), seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    ap.add_argument("--pairs-per-point", type=float, default=60.0)
    ap.add_argument("--pysal-max-pairs", type=int, default=20_000_000,
                    help="skip PySAL above this many pairs (its pandas merges need several GB)")
    args = ap.parse_args(argv)
    print(f"{'demand x sites':>16} {'pairs':>11} {'2sfca s':>9} {'tables s':>9} {'pysal s':>9} {'speed-up':>9} "
          f"{'max rel diff':>13}", flush=True)
    for name in args.sizes:
        n_demand, n_sites = SIZES[name]
        inst = make_instance(n_demand, n_sites, args.pairs_per_point)
        rng = np.random.default_rng(1)
        existing = inst.sites.mask(SiteStatus.EXISTING)
        plan = inst.sites.ids[~existing & (rng.random(n_sites) < 0.05)]
        supply = np.where(existing, inst.sites.capacity, 0.0)
        started = time.perf_counter()
        ours = two_step(catchment(inst.travel, THRESHOLD_MIN), inst.demand.population, supply)
        fca_s = time.perf_counter() - started
        started = time.perf_counter()
        evaluate_instance(inst, [EvalService("svc", threshold_min=THRESHOLD_MIN, capacity=inst.sites.capacity)],
                          plan_sites=list(plan), by=["community"])
        tables_s = time.perf_counter() - started
        if len(inst.travel) <= args.pysal_max_pairs:
            theirs, pysal_s = pysal_2sfca(inst, supply)
            diff = float(np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-300))
            cells = f"{pysal_s:>9.2f} {pysal_s / fca_s:>8.0f}x {diff:>13.1e}"
        else:
            cells = f"{'-':>9} {'-':>9} {'-':>13}"
        print(f"{n_demand:>7,} x {n_sites:<6,} {len(inst.travel):>11,} {fca_s:>9.3f} {tables_s:>9.2f} {cells}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
