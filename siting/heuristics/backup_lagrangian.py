r"""A Lagrangian upper bound for backup coverage (weight covered at least twice; :mod:`siting.models.backup`).

The program (``a_ij = 1`` when site ``j`` is within the threshold of point ``i``):

.. math::

    \max \sum_i \theta w_i v_i + (1 - \theta) w_i u_i \quad\text{s.t.}\quad v_i + u_i \le \sum_j a_{ij} y_j,
    \quad u_i \le v_i,\quad \sum_j c_j y_j \le B,\quad \sum_{j \in C} y_j \le p,\quad y, u \in \{0, 1\}

Relaxing each point's cover row with ``lambda_i >= 0`` (and the site limit with ``nu`` when there is a budget
too) splits it: each point picks the best of ``(v, u) = (0, 0)``, ``(1, 0)``: ``theta w_i - lambda_i`` and,
when two sites reach it, ``(1, 1)``: ``w_i - 2 lambda_i`` (``cover_all``: at least ``(1, 0)``); each site earns
``sum_i a_ij lambda_i`` and the sites are chosen by the budget's knapsack LP. Every ``L`` is a valid bound;
subgradient steps as in :mod:`siting.heuristics.credit_lagrangian`, from ``lambda_i = w_i / 2`` (a point's
worth per covering site when it is covered twice).

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> a = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=bool))
>>> out = backup_bound(a, np.array([4.0, 5.0, 6.0]), theta=0.0, cover_all=False, cost=np.ones(3),
...                    fixed_open=np.zeros(3, bool), free=np.ones(3, bool), counts=np.ones(3, bool),
...                    budget=2.0, max_sites=None, target=4.0)
>>> 6.0 - 1e-9 <= out.bound <= 15.0      # two sites cover one point twice: at best 6
True
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from ..interrupt import expired
from .credit_lagrangian import MAX_STEPS, PATIENCE, CreditBound, _knapsack_lp

__all__ = ["backup_bound"]


def backup_bound(a: sp.csr_matrix, weight: np.ndarray, *, theta: float, cover_all: bool, cost: np.ndarray,
                 fixed_open: np.ndarray, free: np.ndarray, counts: np.ndarray, budget: float | None,
                 max_sites: int | None, target: float, deadline: float | None = None,
                 max_steps: int = MAX_STEPS) -> CreditBound:
    """The least Lagrangian bound found (module notes); ``a``: (demand, site) reach over the usable sites."""
    started = time.perf_counter()
    a = a.tocsr().astype(float)
    by_site = a.T.tocsr()
    reach = np.diff(a.indptr)
    active = (weight > 0) & (reach >= 1)
    w = np.where(active, weight, 0.0)
    two = active & (reach >= 2)
    must = active & cover_all
    lam = 0.5 * w
    left_budget = None if budget is None else budget - float(cost[fixed_open].sum())
    left_sites = None if max_sites is None else max_sites - int((fixed_open & counts).sum())
    relax_limit = left_budget is not None and left_sites is not None
    limit_rhs = float(left_sites) if left_sites is not None else 0.0
    nu = 0.0
    best, theta_step, stale, steps = np.inf, 1.0, 0, 0
    while steps < max_steps:
        once = theta * w - lam
        twice = np.where(two, w - 2.0 * lam, -np.inf)
        floor = np.where(must, once, 0.0)           # cover_all: (0, 0) is not allowed
        pick = np.maximum(np.maximum(floor, once), twice)
        n_cover = np.where(pick == twice, 2.0, np.where((pick == once) & ((once > 0) | must), 1.0, 0.0))
        pick = np.where(active, pick, 0.0)
        g = by_site @ lam
        item = np.where(free, g - (nu * counts if relax_limit else 0.0), 0.0)
        y, knap = _knapsack_lp(item, cost, left_budget, None if relax_limit else left_sites, counts)
        y[fixed_open] = 1.0
        value = float(pick.sum()) + float(g[fixed_open].sum()) + knap + (nu * limit_rhs if relax_limit else 0.0)
        steps += 1
        if steps == 1 or value < best - 1e-12 * max(1.0, abs(best)):
            best, stale = value, 0
        else:
            stale += 1
            if stale >= PATIENCE:
                theta_step, stale = theta_step / 2.0, 0
        if best <= target + 1e-9 * max(1.0, abs(target)) or theta_step < 1e-4 or expired(deadline):
            break
        sub = np.where(active, a @ y - n_cover, 0.0)   # dL/dlambda_i
        sub_nu = limit_rhs - float((y * counts).sum()) if relax_limit else 0.0
        norm = float(sub @ sub) + sub_nu * sub_nu
        if norm <= 0.0:
            break
        step = theta_step * max(value - target, 0.0) / norm
        if step <= 0.0:
            break
        lam = np.maximum(lam - step * sub, 0.0)
        if relax_limit:
            nu = max(0.0, nu - step * sub_nu)
    return CreditBound(best, steps, time.perf_counter() - started)
