r"""Local search on a greedy multi-service plan: empty the building that earns least per yuan, refill greedily.

A move takes every service out of one converted building of the last year, returns its money, forbids the
building for that move and lets the greedy (:func:`siting.models.multiservice_greedy.fill`) spend the money
again; the move is kept when the objective rises and every rule (``check``) still holds, else undone. The
building tried first is the one whose *sole* coverage (points no other open provider of the service reaches)
is smallest per yuan spent on it,

.. math:: \rho_j = \frac{\sum_k s_{jk} \sum_i a^k_{ij} \lambda_k w^k_i [n^k_i = 1]}{c_j + \sum_k e_{jk} s_{jk}},

with :math:`n^k_i` the number of open providers of :math:`k` reaching :math:`i`. After a kept move every
building may be tried again; the search stops after ``patience`` moves in a row that gain nothing, or at the
deadline.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..rules import SiteRules
from .multiservice_greedy import GreedyPlan, fill, floors_met, greedy_state
from .multiservice_params import MultiserviceParams
from .multiservice_reach import Reach

__all__ = ["improve", "improved_plan"]


def _total(state: Any, money: Any) -> float:
    """The objective summed over the years (what the program maximises), without the existing facilities."""
    total = 0.0
    for year in range(len(money.budgets)):
        placed = (state.year >= 0) & (state.year <= year)
        total += sum(float(s.value[(s.by_demand @ placed[:, k].astype(np.int8)) > 0].sum())
                     for k, s in enumerate(state.reach.services))
    return total


def improved_plan(reach: Reach, params: MultiserviceParams, rules: SiteRules, *,
                  deadline: float | None = None) -> GreedyPlan:
    """The greedy plan, improved by :func:`improve` until ``deadline`` when it meets every floor.

    Floors bind the last year only, so with floors and phases the greedy first tries to reach them in the
    last year alone (earlier years serving the objective), then from one year earlier, and so on while half
    of the time is left; the plan meeting every floor with the largest objective summed over the years is
    kept (the later the floors, the more the earlier years earn).
    """
    began = time.perf_counter()
    n_years = len(params.phases) if params.phases else 1
    starts = range(n_years - 1, -1, -1) if _floor_weights_exist(reach) else range(0, 1)
    best = None
    for first in starts:
        if best is not None and deadline is not None and time.perf_counter() > began + 0.5 * (deadline - began):
            break
        state, money = greedy_state(reach, params, rules, floors_from=first, deadline=deadline)
        if floors_met(state) and (best is None or _total(state, money) > _total(*best)):
            best = (state, money)
    if best is None:
        return GreedyPlan(state.year, False)
    state, money = best
    improve(state, money, rules, check=floors_met, deadline=deadline)
    return GreedyPlan(state.year, True)


def _floor_weights_exist(reach: Reach) -> bool:
    return any(s.data.service.min_share is not None or s.data.service.min_share_per_community is not None
               or s.data.service.min_providers_per_community for s in reach.services)


def _sole_loss(state: Any) -> np.ndarray:
    """Per building, the objective only its placements provide (see module notes)."""
    reach = state.reach
    placed = state.year >= 0
    loss = np.zeros(placed.shape[0])
    for k, s in enumerate(reach.services):
        alone = np.where(s.active & (state.count[k] == 1), s.value, 0.0)
        loss += np.where(placed[:, k], s.by_site @ alone, 0.0)
    return loss


def improve(state: Any, money: Any, rules: SiteRules, *, check: Callable[[Any], bool],
            deadline: float | None = None, patience: int = 25, max_moves: int = 400) -> dict[str, int]:
    """Improve ``state`` in place (see module notes); returns how many moves were tried and kept."""
    reach = state.reach
    best = state.value()
    tried = np.zeros(state.converted.shape[0], bool)
    moves = kept = fails = 0
    while moves < max_moves and fails < patience:
        if deadline is not None and time.perf_counter() > deadline:
            break
        placed = state.year >= 0
        this_year = ((state.year == money.year) | ~placed).all(axis=1)
        candidates = state.converted & this_year & ~rules.required & ~tried
        if not candidates.any():
            break
        spend = reach.building_cost + (reach.placement_cost * placed).sum(axis=1)
        ratio = np.where(candidates, _sole_loss(state) / np.maximum(spend, 1e-12), np.inf)
        j = int(np.argmin(ratio))
        moves += 1
        snap, purse = state.snapshot(), (money.left, money.total_left)
        for k in np.flatnonzero(placed[j]):
            state.remove(j, int(k))
        money.left += float(spend[j])
        money.total_left += float(spend[j])
        state.blocked[j] = True
        fill(state, money, deadline=deadline)
        state.blocked[j] = False
        value = state.value()
        if value > best * (1.0 + 1e-12) + 1e-15 and check(state):
            best, kept, fails = value, kept + 1, 0
            tried[:] = False
        else:
            state.restore(snap)
            money.left, money.total_left = purse
            tried[j] = True
            fails += 1
    return {"moves": moves, "kept": kept}
