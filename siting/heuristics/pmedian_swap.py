r"""Whitaker's fast interchange for the p-median on the sorted pairs (best swap per step, vectorised).

With ``d1_i`` / ``d2_i`` the cheapest / second-cheapest open cost of demand ``i`` (costs ``w_i t_ij``), ``a_i``
its nearest open site, the saving of closing ``a`` and opening ``b`` is

.. math::

    G_b - L_a + C_{ab},\quad G_b = \sum_i \max(0, d1_i - c_{ib}),\quad
    L_a = \sum_{i: a_i = a} (d2_i - d1_i),\quad
    C_{ab} = \sum_{i: a_i = a} \big(\max(0, d2_i - c_{ib}) - \max(0, d1_i - c_{ib})\big).

Only pairs cheaper than ``d1_i`` (for ``G``) and ``d2_i`` (for ``C``) contribute: the windows of
:class:`~siting.heuristics.pmedian_lagrangian.PairWindows`, so a step costs those pairs, not all of them.

Example
-------
>>> import numpy as np
>>> from siting.heuristics.pmedian_lagrangian import PairWindows
>>> d = np.repeat(np.arange(4), 4); s = np.tile(np.arange(4), 4)
>>> pairs = PairWindows(d, s, np.abs(d - s).astype(float), 4, 4)
>>> plan = fast_swap(pairs, np.array([True, True, False, False]), np.ones(4, bool))
>>> pairs.plan_cost(plan)
2.0
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..interrupt import expired
from .pmedian_lagrangian import PairWindows

__all__ = ["fast_swap"]


def _nearest_two(pairs: PairWindows, open_mask: np.ndarray, big: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(d1, a1, d2): cheapest open cost and site, second-cheapest open cost (``big`` where there is none)."""
    pos = np.flatnonzero(open_mask[pairs.s])
    dd = pairs.d[pos]
    first = np.ones(pos.shape[0], bool)
    first[1:] = dd[1:] != dd[:-1]
    second = np.zeros(pos.shape[0], bool)
    second[1:] = first[:-1] & ~first[1:]
    d1, d2 = np.full(pairs.n_demand, big), np.full(pairs.n_demand, big)
    a1 = np.full(pairs.n_demand, -1)
    d1[dd[first]] = pairs.cost[pos[first]]
    a1[dd[first]] = pairs.s[pos[first]]
    d2[dd[second]] = pairs.cost[pos[second]]
    return d1, a1, d2


def fast_swap(pairs: PairWindows, open_mask: np.ndarray, swappable: np.ndarray, *, max_swaps: int = 10_000,
              deadline: float | None = None) -> np.ndarray:
    """Best-improvement swaps (close an open ``swappable`` site, open a closed one) until none improves.

    Parameters
    ----------
    pairs : PairWindows
    open_mask : (n_sites,) bool, the starting plan (every active demand must reach an open site)
    swappable : (n_sites,) bool, the sites a swap may close or open (others keep their state)
    max_swaps : int
    deadline : float, optional, ``time.perf_counter()`` value to stop at

    Returns
    -------
    (n_sites,) bool, the improved plan (a copy).
    """
    plan = open_mask.copy()
    # losing a point's only open site must outweigh every possible gain (at most the sum of all d1): a swap
    # that leaves an active point unserved then never saves anything
    big = 2.0 * float(pairs.cost.sum()) + 1.0
    n_sites = plan.shape[0]
    scale = max(1.0, float(pairs.cost.sum()) / max(1, pairs.n_demand))
    for _ in range(max_swaps):
        if expired(deadline):
            break
        closable = np.flatnonzero(plan & swappable)
        addable = ~plan & swappable
        if closable.size == 0 or not addable.any():
            break
        d1, a1, d2 = _nearest_two(pairs, plan, big)
        if np.any(pairs.active & (a1 < 0)):
            break   # the start leaves a demand point without an open site: the formulas do not hold
        gain_at = pairs.below(d1)
        gain = np.bincount(pairs.s[gain_at], weights=d1[pairs.d[gain_at]] - pairs.cost[gain_at], minlength=n_sites)
        has = pairs.active
        loss = np.bincount(a1[has], weights=(d2 - d1)[has], minlength=n_sites)
        at = pairs.below(d2)
        dd, ss, cc = pairs.d[at], pairs.s[at], pairs.cost[at]
        corr = sp.csr_matrix(((d2[dd] - cc) - np.maximum(d1[dd] - cc, 0.0), (a1[dd], ss)), shape=(n_sites, n_sites))
        saving = gain[None, :] - loss[closable, None] + corr[closable].toarray()
        saving[:, ~addable] = -np.inf
        k = int(np.argmax(saving))
        row, b = divmod(k, n_sites)
        if not saving[row, b] > 1e-9 * scale:
            break
        plan[closable[row]] = False
        plan[b] = True
    return plan
