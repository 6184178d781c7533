"""CFLP's drop search (``siting.heuristics.cflp_drop``): every move keeps a feasible plan and never costs more.

Small random tables with a feasible greedy-like assignment; the result's assignment is checked from scratch
(each served point's weight sums to one, within capacities, only at open sites, every point keeps an open site in
reach) and its fixed plus assignment cost is compared with the start's.
"""
from __future__ import annotations

import numpy as np
import pytest

from siting.heuristics.cflp_drop import close_sites


def _city(seed: int, n: int = 30, m: int = 10):
    rng = np.random.default_rng(seed)
    reach = rng.random((n, m)) < 0.4
    reach[np.arange(n), rng.integers(0, m, n)] = True
    d, s = np.nonzero(reach)                        # sorted by point
    weight = rng.integers(0, 6, n).astype(float)    # some points of weight 0
    a = weight[d] * rng.uniform(1.0, 20.0, d.size)
    cap = rng.uniform(5.0, 40.0, m)
    cost = rng.uniform(10.0, 200.0, m)
    return d, s, a, weight, cap, cost


def _fill_all(d, s, a, weight, cap):
    """Every site open; each point nearest-cost first into spare capacity (None when one does not fit)."""
    took = np.zeros(d.size)
    spare = cap.copy()
    for i in range(weight.size):
        need = weight[i]
        for p in np.flatnonzero(d == i)[np.argsort(a[d == i], kind="stable")]:
            amount = min(need, spare[s[p]])
            took[p] += amount
            spare[s[p]] -= amount
            need -= amount
        if need > 1e-9:
            return None
    return took


def _cost(d, s, a, weight, cost, y, took):
    unit = np.where(weight[d] > 0, a / np.where(weight[d] > 0, weight[d], 1.0), 0.0)
    return float(cost[y].sum() + (unit * took).sum())


@pytest.mark.parametrize("seed", range(40))
def test_every_move_keeps_the_plan_feasible_and_never_costs_more(seed):
    d, s, a, weight, cap, cost = _city(seed)
    took = _fill_all(d, s, a, weight, cap)
    if took is None:
        return
    m = cap.size
    y0 = np.ones(m, bool)
    closable = np.ones(m, bool)
    closable[0] = False                                   # a fixed-open site stays
    y, after, closed = close_sites(d, s, a, weight, cap, y0, closable, cost, took)
    assert closed == int((~y).sum()) and y[0]
    assert np.allclose(np.bincount(d, weights=after, minlength=weight.size), weight)      # everyone served
    assert np.all(after[~y[s]] <= 1e-9)                                                   # only at open sites
    assert np.all(np.bincount(s, weights=after, minlength=m) <= cap + 1e-9)              # within capacity
    assert np.all(np.bincount(d, weights=y[s].astype(float), minlength=weight.size) >= 1)  # an open site in reach
    assert _cost(d, s, a, weight, cost, y, after) <= _cost(d, s, a, weight, cost, y0, took) + 1e-9


def test_a_site_whose_points_fit_next_door_closes_and_a_points_only_site_stays():
    # point 0 (weight 0) reaches site 2 only; points 1-2 reach sites 0 and 1, site 1 has room for both
    d, s = np.array([0, 1, 1, 2, 2]), np.array([2, 0, 1, 0, 1])
    weight = np.array([0.0, 1.0, 1.0])
    a = np.array([0.0, 1.0, 2.0, 1.0, 2.0])
    took = np.array([0.0, 1.0, 0.0, 1.0, 0.0])
    y, after, closed = close_sites(d, s, a, weight, np.array([2.0, 2.0, 5.0]), np.ones(3, bool), np.ones(3, bool),
                                   np.array([10.0, 10.0, 50.0]), took)
    assert y.tolist() == [False, True, True] and closed == 1            # site 2 is point 0's only site
    assert after.tolist() == [0.0, 0.0, 1.0, 0.0, 1.0]


def test_a_site_saving_less_than_the_extra_travel_stays():
    d, s = np.array([0, 0]), np.array([0, 1])
    y, _, closed = close_sites(d, s, np.array([1.0, 100.0]), np.ones(1), np.array([1.0, 1.0]), np.ones(2, bool),
                               np.ones(2, bool), np.array([50.0, 5.0]), np.array([1.0, 0.0]))
    # closing site 0 saves 50 but adds 99 of travel; closing site 1 (unused) saves 5
    assert y.tolist() == [True, False] and closed == 1
