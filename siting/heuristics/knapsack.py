r"""The budget-and-slots knapsack over sites, bounded by its Lagrangian dual in the budget price.

:math:`\max\{v^T x : c^T x \le B, \ell^T x \le P, x \in \{0,1\}^n\} \le f(\lambda) = \lambda B +
\max\{(v - \lambda c)^T x : \ell^T x \le P, x \in [0,1]^n\}` for every :math:`\lambda \ge 0` (a top-``P`` sum);
:math:`\min_\lambda f` is the LP relaxation of the knapsack. Used by :mod:`siting.heuristics.volume`.

Example
-------
>>> import numpy as np
>>> k = at_price(np.array([4.0, 3.0]), np.array([2.0, 2.0]), np.ones(2, bool), 2.0, np.inf, 1.0)
>>> k.value, k.chosen.tolist(), k.slope
(5.0, [True, True], -2.0)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["KnapsackDual", "at_price", "knapsack_dual", "PRICE_TOL"]

#: relative accuracy of the knapsack price: bisection stops when convexity proves f within this of its minimum
PRICE_TOL = 1e-7


@dataclass(frozen=True)
class KnapsackDual:
    r"""The relaxed knapsack over free sites at one price.

    value : :math:`\lambda B + \sum_{F_0} r^+ + \mathrm{top}_P\{r^+ : F_1\}` (an upper bound on the knapsack)
    chosen : (n_free,) bool, the sites of the relaxed maximiser
    price : :math:`\lambda`
    slope : :math:`B - c^T x(\lambda)` (a subgradient in ``lambda``)
    """

    value: float
    chosen: np.ndarray
    price: float
    slope: float


def at_price(v: np.ndarray, cost: np.ndarray, counts: np.ndarray, budget: float | None, slots: float,
              price: float) -> KnapsackDual:
    """The relaxed knapsack at one price: positive reduced values, the ``slots`` best of the counting sites.

    Without a budget the price is 0: nothing adds ``price * B`` back, so any other price would not bound.
    """
    if budget is None:
        price = 0.0
    r = v - price * cost if price else v
    chosen = r > 0
    if np.isfinite(slots):
        lim = chosen & counts
        n_lim = int(np.count_nonzero(lim))
        k = max(int(slots), 0)
        if n_lim > k:
            idx = np.flatnonzero(lim)
            drop = idx[np.argpartition(-r[idx], k)[k:]] if k > 0 else idx
            chosen[drop] = False
    total = float(r[chosen].sum())
    spent = float(cost[chosen].sum())
    if budget is None:
        return KnapsackDual(total, chosen, 0.0, np.inf)
    return KnapsackDual(price * budget + total, chosen, price, budget - spent)


def knapsack_dual(v: np.ndarray, cost: np.ndarray, counts: np.ndarray, budget: float | None, slots: float | None,
                  *, price: float = 0.0, tol: float = PRICE_TOL, max_steps: int = 60) -> KnapsackDual:
    r"""Minimise the knapsack's Lagrangian bound over the budget price, warm-started at ``price``.

    Parameters
    ----------
    v, cost : (n,) site values and costs (``cost >= 0``)
    counts : (n,) bool, sites that use one of the ``slots``
    budget, slots : limits (None: none)
    price : a starting guess for :math:`\lambda` (the previous step's price)
    tol : stop when the best value is proven within ``tol`` (relative) of the minimum over prices

    Notes
    -----
    :math:`f(\lambda)` is convex and piecewise linear with slope :math:`B - c^T x(\lambda)`. A bracket
    ``[lo, hi]`` with a negative slope at ``lo`` and a non-negative one at ``hi`` is grown geometrically around
    ``price``, then bisected; with the best value ``f*`` found, the minimum is at least
    ``max(f(lo) + s_lo (hi - lo), f(hi) - s_hi (hi - lo))``, which stops the search. Each step is ``O(n)``.

    Examples
    --------
    >>> import numpy as np
    >>> k = knapsack_dual(np.array([4.0, 3.0, 2.0]), np.array([2.0, 2.0, 2.0]), np.ones(3, bool), 4.0, None)
    >>> round(k.value, 6)
    7.0
    """
    slots_f = np.inf if slots is None else float(slots)
    if budget is None:
        return at_price(v, cost, counts, None, slots_f, 0.0)
    first = at_price(v, cost, counts, budget, slots_f, 0.0)
    if first.slope >= 0:      # the budget does not bind: price 0 is optimal
        return first
    best = first
    lo, lo_k = 0.0, first
    pos = cost > 0
    top = float(np.max(v[pos] / cost[pos])) if pos.any() else 0.0
    hi = top
    hi_k = at_price(v, cost, counts, budget, slots_f, hi)   # nothing with a positive cost left: slope >= 0
    if hi_k.value < best.value:
        best = hi_k
    if 0.0 < price < top:       # tighten the bracket around the previous price
        k = at_price(v, cost, counts, budget, slots_f, price)
        if k.value < best.value:
            best = k
        step = max(price * 1e-3, 1e-12)
        if k.slope < 0:
            lo, lo_k = price, k
            probe = min(price + step, top)
            while probe < hi:
                pk = at_price(v, cost, counts, budget, slots_f, probe)
                if pk.value < best.value:
                    best = pk
                if pk.slope >= 0:
                    hi, hi_k = probe, pk
                    break
                lo, lo_k = probe, pk
                step *= 4
                probe = min(lo + step, top)
        else:
            hi, hi_k = price, k
            probe = max(price - step, 0.0)
            while probe > lo:
                pk = at_price(v, cost, counts, budget, slots_f, probe)
                if pk.value < best.value:
                    best = pk
                if pk.slope < 0:
                    lo, lo_k = probe, pk
                    break
                hi, hi_k = probe, pk
                step *= 4
                probe = max(hi - step, 0.0)
    for _ in range(max_steps):
        width = hi - lo
        floor = max(lo_k.value + lo_k.slope * width, hi_k.value - hi_k.slope * width)
        if best.value - floor <= tol * max(1.0, abs(best.value)) or width <= 1e-15 * max(1.0, hi):
            break
        mid = 0.5 * (lo + hi)
        mk = at_price(v, cost, counts, budget, slots_f, mid)
        if mk.value < best.value:
            best = mk
        if mk.slope < 0:
            lo, lo_k = mid, mk
        else:
            hi, hi_k = mid, mk
    return best


def rounding_margin(value: float | np.ndarray) -> float | np.ndarray:
    """How far float error may have moved a bound before it is rounded to the integer grid of integral data.

    Relative (``1e-11 |value|``) above 1e5, so a sum in the billions keeps a margin well above its rounding error
    (about ``n * 1.1e-16 * |value|`` for n terms).

    >>> float(rounding_margin(10.0)), float(rounding_margin(4e9))
    (1e-06, 0.04)
    """
    return np.maximum(1e-6, 1e-11 * np.abs(value))
