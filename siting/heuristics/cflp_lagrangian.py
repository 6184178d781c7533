r"""A Lagrangian lower bound for the capacitated facility location program (:mod:`siting.models.cflp`).

.. math::

    \min \sum_j f_j y_j + \sum_{(i,j)} a_{ij} x_{ij} \quad\text{s.t.}\quad \sum_j x_{ij} = 1,\quad
    \sum_i w_i x_{ij} \le k_j y_j,\quad x_{ij} \le y_j,\quad \sum_j f_j y_j \le B,\quad \sum_{j\in C} y_j \le p

Relaxing each point's ``sum_j x_ij = 1`` with ``lambda_i`` leaves, per open site, the fractional knapsack of
its pairs' savings ``(lambda_i - a_ij)^+`` by load ``w_i`` within its capacity, ``g_j(lambda)``:

.. math::

    L(\lambda) = \sum_i \lambda_i - \max_y \textstyle\sum_j (g_j(\lambda) - f_j)\, y_j

over the plans the budget's knapsack LP (and the site limit, relaxed with ``nu`` when there is a budget too)
allows. Every ``L`` is a lower bound; it is raised by the subgradient steps of
:func:`siting.heuristics.credit_lagrangian.descend` (on ``-L``), from ``lambda_i = min_j a_ij`` (each point at
its cheapest pair, no fixed cost).

Example
-------
>>> import numpy as np
>>> d, s = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
>>> out = cflp_bound(d, s, np.array([1.0, 4.0, 4.0, 1.0]), np.ones(2), 2, 2, cost=np.array([10.0, 10.0]),
...                  capacity=np.array([2.0, 2.0]), fixed_open=np.zeros(2, bool), free=np.ones(2, bool),
...                  counts=np.ones(2, bool), budget=None, max_sites=None, target=15.0)
>>> 2.0 - 1e-9 <= out.bound <= 15.0 + 1e-9      # one site serving both: 10 + 1 + 4 = 15 is the optimum
True
"""
from __future__ import annotations

import numpy as np

from .credit_lagrangian import MAX_STEPS, CreditBound, SiteSide, _fill, descend

__all__ = ["cflp_bound"]


def cflp_bound(d: np.ndarray, s: np.ndarray, a: np.ndarray, weight: np.ndarray, n_demand: int, n_sites: int, *,
               cost: np.ndarray, capacity: np.ndarray, fixed_open: np.ndarray, free: np.ndarray,
               counts: np.ndarray, budget: float | None, max_sites: int | None, target: float,
               deadline: float | None = None, max_steps: int = MAX_STEPS) -> CreditBound:
    """The greatest Lagrangian lower bound found (module notes).

    ``a``: each pair's assignment cost; ``weight``: each demand point's load (every point with a pair must be
    served); ``target``: a plan's cost.
    """
    lam0 = np.full(n_demand, np.inf)
    np.minimum.at(lam0, d, a)
    served_points = np.isfinite(lam0)
    lam0 = np.where(served_points, lam0, 0.0)
    load = np.maximum(weight[d], 1e-12)     # a point of weight 0 still needs its assignment row
    sites = SiteSide.of(cost, fixed_open, free, counts, budget, max_sites)

    def evaluate(lam: np.ndarray, nu: float) -> tuple[float, np.ndarray, float]:
        saving = np.maximum(lam[d] - a, 0.0)
        take = _fill(s, saving, load, capacity)
        g = np.bincount(s, weights=saving * take, minlength=n_sites)
        y, part, sub_nu = sites.choose(g - cost, nu)
        served = np.bincount(d, weights=y[s] * take, minlength=n_demand)
        # minimised: -L = -sum(lambda) + max_y sum (g - f) y
        return -float(lam[served_points].sum()) + part, np.where(served_points, served - 1.0, 0.0), sub_nu

    out = descend(evaluate, lam0, -target, sites.relax_limit, deadline, max_steps)
    return CreditBound(-out.bound, out.steps, out.seconds)
