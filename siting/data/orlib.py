"""Readers for the OR-Library benchmark files used to test the model family (pmed1-40, cap41-cap134).

Example
-------
>>> inst, p = read_pmed("../shared/instances/orlib-pmed/pmed1.txt")  # doctest: +SKIP
>>> inst.n_demand, p  # doctest: +SKIP
(100, 5)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from .instance import Demand, Instance, Sites, SiteStatus, TravelTimes

__all__ = ["read_pmed", "read_cap", "instance_from_pairs"]


def instance_from_pairs(d: np.ndarray, s: np.ndarray, t: np.ndarray, *, population: np.ndarray,
                        cost: np.ndarray, capacity: np.ndarray | None = None, name: str = "instance",
                        floor_area: np.ndarray | None = None, status: np.ndarray | None = None,
                        groups: dict | None = None) -> Instance:
    """Build an :class:`Instance` from travel triples and per-point arrays (ids ``d0..``, ``s0..``)."""
    n_d, n_s = population.shape[0], cost.shape[0]
    demand = Demand(ids=np.array([f"d{i}" for i in range(n_d)], dtype=object), population=np.asarray(population, float),
                    x=np.zeros(n_d), y=np.zeros(n_d), groups=dict(groups or {}), source=name)
    st = status if status is not None else np.array([SiteStatus.CANDIDATE] * n_s, dtype=object)
    sites = Sites(ids=np.array([f"s{j}" for j in range(n_s)], dtype=object), cost=np.asarray(cost, float),
                  x=np.zeros(n_s), y=np.zeros(n_s), status=st, capacity=capacity, floor_area=floor_area, source=name)
    travel = TravelTimes(np.asarray(d, np.int64), np.asarray(s, np.int64), np.asarray(t, float), n_d, n_s, name)
    return Instance(demand, sites, travel, name)


def read_pmed(path: str | Path) -> tuple[Instance, int]:
    """A pmed file as an :class:`Instance` (every vertex a demand point of weight 1 and a free site) and ``p``.

    Notes
    -----
    Duplicate edges: the **last** occurrence wins (OR-Library convention, see the instances README).
    Travel "minutes" are the all-pairs shortest-path lengths (Dijkstra); the complete table is stored.
    """
    tokens = np.array(Path(path).read_text().split(), dtype=np.int64)
    n, m, p = tokens[:3]
    e = tokens[3:3 + 3 * m].reshape(m, 3)
    a, b = np.minimum(e[:, 0], e[:, 1]) - 1, np.maximum(e[:, 0], e[:, 1]) - 1
    key = a * n + b
    # last occurrence of each key: unique on the reversed array
    _, first_rev = np.unique(key[::-1], return_index=True)
    last = m - 1 - first_rev
    a, b, w = a[last], b[last], e[last, 2].astype(float)
    g = sp.csr_matrix((np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n))
    dist = dijkstra(g, directed=False)
    finite = np.isfinite(dist)
    d, s = np.nonzero(finite)
    inst = instance_from_pairs(d, s, dist[finite], population=np.ones(n), cost=np.zeros(n), name=Path(path).stem)
    return inst, int(p)


def read_cap(path: str | Path) -> Instance:
    """An OR-Library capacitated warehouse file as an :class:`Instance`.

    Sites are the warehouses (``cost`` = fixed cost, ``capacity``), demand points the customers
    (``population`` = demand). The travel "minutes" hold ``c_ij``, the cost of allocating *all* of
    customer ``i``'s demand to warehouse ``j`` (use ``solve_cflp(..., per_person=False)``).
    """
    tokens = np.array(Path(path).read_text().split(), dtype=object)
    m, n = int(tokens[0]), int(tokens[1])
    head = tokens[2:2 + 2 * m].reshape(m, 2)
    capacity = head[:, 0].astype(float)
    fixed = head[:, 1].astype(float)
    body = tokens[2 + 2 * m:2 + 2 * m + n * (m + 1)].astype(float).reshape(n, m + 1)
    demand = body[:, 0]
    cost = body[:, 1:]
    d, s = np.nonzero(np.ones_like(cost, dtype=bool))
    return instance_from_pairs(d, s, cost[d, s], population=demand, cost=fixed, capacity=capacity,
                               name=Path(path).stem)
