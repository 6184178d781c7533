"""Shared small multi-service instances for the multi-service hook tests."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from siting.testing import random_instance

KEYS = ["health_station", "childcare", "elderly_care", "fresh_market"]


def multiservice_instance(seed: int, n_demand: int = 40, n_sites: int = 12):
    """A random instance with groups, floor areas, statuses, three communities and a slower elderly table."""
    base = random_instance(n_demand, n_sites, seed=seed, groups=True, floor_area=True, statuses=True)
    rng = np.random.default_rng(seed)
    demand_c = np.array([f"c{v}" for v in rng.integers(0, 3, n_demand)], dtype=object)
    site_c = np.array([f"c{v}" for v in rng.integers(0, 3, n_sites)], dtype=object)
    slow = replace(base.travel, minutes=base.travel.minutes * 1.3)
    return replace(base, demand=replace(base.demand, labels={"community": demand_c}),
                   sites=replace(base.sites, labels={"community": site_c}), group_travel={"elderly": slow})
