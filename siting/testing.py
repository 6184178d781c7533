"""Tiny random instances and brute-force helpers for tests of the model family.

Example
-------
>>> inst = random_instance(5, 4, seed=0)
>>> inst.n_demand, inst.n_sites
(5, 4)
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from .data.instance import Instance, SiteStatus
from .data.orlib import instance_from_pairs

__all__ = ["random_instance", "subsets"]


def random_instance(n_demand: int, n_sites: int, *, seed: int, density: float = 0.7, max_minutes: int = 20,
                    statuses: bool = False, groups: bool = False, capacity: bool = False,
                    floor_area: bool = False) -> Instance:
    """A random sparse instance: integer minutes in ``[0, max_minutes]``, about ``density`` of the pairs present.

    ``statuses=True`` marks some sites existing / required / excluded.
    """
    rng = np.random.default_rng(seed)
    present = rng.random((n_demand, n_sites)) < density
    d, s = np.nonzero(present)
    t = rng.integers(0, max_minutes + 1, size=d.shape[0]).astype(float)
    population = rng.integers(1, 50, size=n_demand).astype(float)
    cost = rng.integers(1, 10, size=n_sites).astype(float)
    status = np.array([SiteStatus.CANDIDATE] * n_sites, dtype=object)
    if statuses and n_sites >= 4:
        picks = rng.permutation(n_sites)
        status[picks[0]] = SiteStatus.EXISTING
        status[picks[1]] = SiteStatus.EXCLUDED
        if rng.random() < 0.5:
            status[picks[2]] = SiteStatus.REQUIRED
    grp = {}
    if groups:
        grp = {"elderly": np.floor(population * rng.random(n_demand)),
               "children": np.floor(population * rng.random(n_demand) * 0.3),
               "district": rng.integers(0, 3, size=n_demand).astype(float)}
    cap = rng.integers(20, 120, size=n_sites).astype(float) if capacity else None
    area = rng.integers(100, 1500, size=n_sites).astype(float) if floor_area else None
    return instance_from_pairs(d, s, t, population=population, cost=cost, capacity=cap, floor_area=area,
                               status=status, groups=grp, name=f"random{seed}")


def subsets(n: int, *, max_size: int | None = None) -> Iterator[np.ndarray]:
    """All subsets of ``range(n)`` as bool masks (2**n of them; keep ``n`` small).

    Examples
    --------
    >>> [m.astype(int).tolist() for m in subsets(2)]
    [[0, 0], [1, 0], [0, 1], [1, 1]]
    """
    top = n if max_size is None else max_size
    for k in range(top + 1):
        for combo in itertools.combinations(range(n), k):
            mask = np.zeros(n, dtype=bool)
            mask[list(combo)] = True
            yield mask
