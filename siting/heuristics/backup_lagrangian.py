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

import numpy as np
import scipy.sparse as sp

from .credit_lagrangian import MAX_STEPS, CreditBound, SiteSide, descend

__all__ = ["backup_bound"]


def backup_bound(a: sp.csr_matrix, weight: np.ndarray, *, theta: float, cover_all: bool, cost: np.ndarray,
                 fixed_open: np.ndarray, free: np.ndarray, counts: np.ndarray, budget: float | None,
                 max_sites: int | None, target: float, deadline: float | None = None,
                 max_steps: int = MAX_STEPS) -> CreditBound:
    """The least Lagrangian bound found (module notes); ``a``: (demand, site) reach over the usable sites."""
    a = a.tocsr().astype(float)
    by_site = a.T.tocsr()
    reach = np.diff(a.indptr)
    active = (weight > 0) & (reach >= 1)
    w = np.where(active, weight, 0.0)
    two = active & (reach >= 2)
    must = active & cover_all
    sites = SiteSide.of(cost, fixed_open, free, counts, budget, max_sites)

    def evaluate(lam: np.ndarray, nu: float) -> tuple[float, np.ndarray, float]:
        once = theta * w - lam
        twice = np.where(two, w - 2.0 * lam, -np.inf)
        floor = np.where(must, once, 0.0)           # cover_all: (0, 0) is not allowed
        pick = np.maximum(np.maximum(floor, once), twice)
        n_cover = np.where(pick == twice, 2.0, np.where((pick == once) & ((once > 0) | must), 1.0, 0.0))
        pick = np.where(active, pick, 0.0)
        y, part, sub_nu = sites.choose(np.asarray(by_site @ lam), nu)
        return float(pick.sum()) + part, np.where(active, a @ y - n_cover, 0.0), sub_nu

    return descend(evaluate, 0.5 * w, target, sites.relax_limit, deadline, max_steps)
