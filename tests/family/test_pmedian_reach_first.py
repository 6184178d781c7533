"""p-median's greedy start reaches everyone when the greedy by time alone does not (then: no start, and at
city size no plan at all before the time limit)."""
from __future__ import annotations

import numpy as np

from siting.data.orlib import instance_from_pairs
from siting.models.pmedian import greedy_pmedian, solve_pmedian


def remote_point():
    """Clusters A (points 0-9) and B (10-19), weight 100; R (point 20), weight 1, reached only by site 2.

    Site 0 reaches A and B in 10 min, site 1 A in 1 and B in 10, site 3 A in 0.5: by time alone the greedy
    opens 1 then 3 (its 500 saved beats R's 96) and leaves R unreached with p = 2.
    """
    a, b = np.arange(10), np.arange(10, 20)
    d = np.concatenate([a, b, a, b, a, [20]])
    s = np.concatenate([np.zeros(20, int), np.ones(20, int), np.full(10, 3), [2]])
    t = np.concatenate([np.full(20, 10.0), np.full(10, 1.0), np.full(10, 10.0), np.full(10, 0.5), [5.0]])
    weight = np.concatenate([np.full(20, 100.0), [1.0]])
    return instance_from_pairs(d, s, t, population=weight, cost=np.zeros(4))


def test_the_greedy_reaches_the_remote_point():
    plan = greedy_pmedian(remote_point(), p=2, max_swaps=0)
    assert plan is not None and plan[2] and int(plan.sum()) == 2


def test_the_solve_gives_the_optimum():
    r = solve_pmedian(remote_point(), p=2)
    assert r.status.value == "optimal" and set(r.selected) == {"s1", "s2"}
    assert r.stats["greedy_objective"] is not None
