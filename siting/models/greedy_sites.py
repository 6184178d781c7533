"""The greedy loop the models' warm starts share: open the site of the largest gain, per yuan under a budget.

Each model supplies its gain (what one more open site adds to its objective, or a surrogate of it) and what
opening a site changes; the loop keeps the statuses, the budget and the site limit.

Example
-------
>>> import numpy as np
>>> from siting.rules import Limits, SiteRules
>>> no = np.zeros(3, bool)
>>> rules = SiteRules(lower=np.zeros(3), upper=np.ones(3), cost=np.array([1.0, 2.0, 5.0]),
...                   counts=np.ones(3, bool), existing=no, required=no, excluded=no)
>>> value = np.array([3.0, 8.0, 9.0])
>>> def gain(candidates):
...     return np.where(candidates, value, 0.0)
>>> ratio_greedy(rules, Limits(budget=3.0), np.zeros(3, bool), gain, lambda j: None).tolist()
[True, True, False]
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..interrupt import expired
from ..rules import Limits, SiteRules

__all__ = ["ratio_greedy"]

#: a gain at most this is no gain
MIN_GAIN = 1e-12


def ratio_greedy(rules: SiteRules, limits: Limits, open_sites: np.ndarray,
                 gain: Callable[[np.ndarray], np.ndarray], opened: Callable[[int], None],
                 deadline: float | None = None, *, per_cost: bool | None = None) -> np.ndarray:
    """Open, one at a time, the site of the largest ``gain`` (per unit cost under a budget); in place.

    ``per_cost``: rank by gain per unit cost (default: when there is a budget; a model minimising cost asks
    for it always).

    ``open_sites``: the plan so far (the fixed-open sites; their cost counts against the budget, as in the
    programs' budget rows). ``gain(candidates)``: the gain of each site, read where ``candidates`` (closed,
    usable, affordable) is True. ``opened(j)``: called after site ``j`` opens. Stops when nothing fits,
    nothing gains, the site limit is reached or ``deadline`` (a ``time.perf_counter()`` value) passes.
    """
    left = None if limits.budget is None else limits.budget - float(rules.cost[open_sites].sum())
    while not expired(deadline):
        if limits.max_sites is not None and int((open_sites & rules.counts).sum()) >= limits.max_sites:
            break
        candidates = ~open_sites & rules.usable
        if left is not None:
            candidates &= rules.cost <= left + 1e-9
        if not candidates.any():
            break
        g = gain(candidates)
        ok = candidates & (g > MIN_GAIN)
        if not ok.any():
            break
        ratio = left is not None if per_cost is None else per_cost
        score = g / np.maximum(rules.cost, 1e-12) if ratio else g
        j = int(np.argmax(np.where(ok, score, -np.inf)))
        open_sites[j] = True
        if left is not None:
            left -= float(rules.cost[j])
        opened(j)
    return open_sites
