"""Small random instances built straight from arrays, and an independent brute-force solver."""
from __future__ import annotations

import itertools

import numpy as np

from siting.data.instance import Demand, Instance, Sites, SiteStatus, TravelTimes


def make_instance(rng: np.random.Generator, n_demand: int, n_sites: int, *, density: float = 0.5,
                  statuses: bool = True) -> Instance:
    pairs = rng.random((n_demand, n_sites)) < density
    d_idx, s_idx = np.nonzero(pairs)
    minutes = rng.uniform(0.0, 20.0, size=d_idx.size).round(1)
    if statuses:
        status = rng.choice(
            np.array([SiteStatus.CANDIDATE] * 6 + [SiteStatus.EXISTING, SiteStatus.REQUIRED, SiteStatus.EXCLUDED],
                     dtype=object),
            size=n_sites,
        )
    else:
        status = np.array([SiteStatus.CANDIDATE] * n_sites, dtype=object)
    cost = rng.integers(1, 10, size=n_sites).astype(float)
    cost[status == SiteStatus.EXISTING] = 0.0
    demand = Demand(
        ids=np.array([f"d{i}" for i in range(n_demand)], dtype=object),
        population=rng.integers(1, 100, size=n_demand).astype(float),
        x=rng.random(n_demand), y=rng.random(n_demand),
    )
    sites = Sites(
        ids=np.array([f"s{j}" for j in range(n_sites)], dtype=object),
        cost=cost, x=rng.random(n_sites), y=rng.random(n_sites), status=status,
    )
    travel = TravelTimes(d_idx.astype(np.int64), s_idx.astype(np.int64), minutes, n_demand, n_sites)
    return Instance(demand, sites, travel)


def covered_by(instance: Instance, open_mask: np.ndarray, threshold: float) -> np.ndarray:
    t = instance.travel
    ok = open_mask[t.site_index] & (t.minutes <= threshold)
    covered = np.zeros(instance.n_demand, dtype=bool)
    covered[t.demand_index[ok]] = True
    return covered


def brute_force(instance: Instance, *, model: str, threshold: float, budget=None, max_sites=None,
                target=None) -> float | None:
    """Enumerate every plan; return the optimum (covered population or cost), None if infeasible."""
    status = instance.sites.status
    free = np.flatnonzero(status == SiteStatus.CANDIDATE)
    forced = (status == SiteStatus.EXISTING) | (status == SiteStatus.REQUIRED)
    pop = instance.demand.population
    everything = forced | (status == SiteStatus.CANDIDATE)
    coverable = covered_by(instance, everything, threshold)
    best = None
    for r in range(len(free) + 1):
        for combo in itertools.combinations(free, r):
            mask = forced.copy()
            mask[list(combo)] = True
            new = mask & (status != SiteStatus.EXISTING)
            cost = float(instance.sites.cost[new].sum())
            if budget is not None and cost > budget + 1e-9:
                continue
            if max_sites is not None and int(new.sum()) > max_sites:
                continue
            cov = covered_by(instance, mask, threshold)
            if model == "mclp":
                value = float(pop[cov].sum())
                best = value if best is None else max(best, value)
            elif model == "lscp":
                if (coverable & ~cov).any():
                    continue
                best = cost if best is None else min(best, cost)
            elif model == "partial":
                if pop[cov].sum() < target * pop.sum() - 1e-9:
                    continue
                best = cost if best is None else min(best, cost)
    return best

