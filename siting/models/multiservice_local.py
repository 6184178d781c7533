r"""Local search on a greedy multi-service plan: empty the building that earns least per yuan, refill greedily.

A move takes every service out of one converted building of the last year, returns its money, forbids the
building for that move and lets the greedy (:func:`siting.models.multiservice_greedy.fill`) spend the money
again; the move is kept when the plan's key rises (:func:`~siting.models.multiservice_swap.plan_key`: each
priority level's value, then the objective, summed over the years, none lower) and every rule (``check``)
still holds, else undone. The building tried first is the one whose *sole* coverage (points no other open
provider of the service reaches) is smallest per yuan spent on it,

.. math:: \rho_j = \frac{\sum_k s_{jk} \sum_i a^k_{ij} \lambda_k w^k_i [n^k_i = 1]}{c_j + \sum_k e_{jk} s_{jk}},

with :math:`n^k_i` the number of open providers of :math:`k` reaching :math:`i`. After a kept move every
building may be tried again; the search stops after ``patience`` moves in a row that gain nothing, or at the
deadline.

:func:`improved_plan` runs this move with the placement and swap moves of
:mod:`~siting.models.multiservice_swap` from several greedy starts and keeps the best plan.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..interrupt import expired
from ..rules import SiteRules
from .multiservice_greedy import FLOOR_WEIGHT, GreedyPlan, fill, floors_met, greedy_state, loaded_state
from .multiservice_params import MultiserviceParams, resolved_catalog
from .multiservice_reach import Reach
from .multiservice_swap import drop_search, keep_or_undo, plan_key, saved_point, swap_search

__all__ = ["improve", "improved_plan", "refilled_plan"]


def _total(state: Any, money: Any) -> float:
    """The objective summed over the years (what the program maximises), without the existing facilities."""
    total = 0.0
    for year in range(len(money.budgets)):
        placed = (state.year >= 0) & (state.year <= year)
        total += sum(float(s.value[(s.by_demand @ placed[:, k].astype(np.int8)) > 0].sum())
                     for k, s in enumerate(state.reach.services))
    return total


#: greedy starts, in the order tried: moves ranked by gain / cost ** power (below 1 larger buildings and
#: bundles come earlier). 0.8 first: after the local search it beat gain per yuan (1.0) on every generated
#: city measured (benchmarks/multiservice_scale_bench.py, 5k / 20k, two seeds, plain), by 0.3-1.3 %
COST_POWERS = (0.8, 1.0, 0.9, 0.7, 1.1, 0.6)


def improved_plan(reach: Reach, params: MultiserviceParams, rules: SiteRules, *,
                  deadline: float | None = None, swaps: bool = True,
                  cost_powers: tuple[float, ...] = COST_POWERS, floor_weight: float = FLOOR_WEIGHT,
                  on_first: Callable[[np.ndarray], None] | None = None) -> GreedyPlan:
    """The best plan of greedy starts, each improved by local search, until ``deadline``.

    Each start is the greedy with moves ranked by gain per ``cost ** power`` (one start per power of
    ``cost_powers`` while time is left, the first always), improved in rounds of :func:`improve` and, with
    ``swaps``, :func:`~siting.models.multiservice_swap.drop_search` and
    :func:`~siting.models.multiservice_swap.swap_search` until a round keeps nothing. The plan of highest
    :func:`~siting.models.multiservice_swap.plan_key` (priority levels first, then the objective) is kept.

    Floors bind the last year only, so with floors and phases the greedy first tries to reach them in the
    last year alone (earlier years serving the objective), then from one year earlier, and so on while half
    of the time is left; the plan meeting every floor with the largest objective summed over the years is
    each start's (the later the floors, the more the earlier years earn). ``floor_weight``: what a person short
    of a floor is worth against the objective in the greedy (:func:`~siting.models.multiservice_greedy.greedy_state`).
    ``on_first``: called with the first start's placements (its ``year`` array) before their local search, so that
    a caller can start work that needs a plan's value early.
    """
    began = time.perf_counter()
    n_years = params.n_years
    levels = held_levels(reach, params)
    best: tuple[tuple[float, ...], np.ndarray] | None = None
    last_year = None
    took = 0.0
    for n, power in enumerate(cost_powers if swaps else cost_powers[:1]):
        now = time.perf_counter()
        # another start only when it can finish: about as long as the previous one took
        if n and deadline is not None and deadline - now < took:
            break
        state, money = _greedy_start(reach, params, rules, power, deadline, began, floor_weight)
        if n == 0 and on_first is not None:
            on_first(state.year.copy())
        last_year = state.year
        if floors_met(state):
            _local_search(state, money, rules, levels, swaps, deadline)
            key = plan_key(state, n_years, levels)
            if best is None or key > best[0]:
                best = (key, state.year.copy())
        took = time.perf_counter() - now
    if best is None:
        assert last_year is not None          # the first start always runs
        return GreedyPlan(last_year, False)
    return GreedyPlan(best[1], True)


def refilled_plan(reach: Reach, params: MultiserviceParams, rules: SiteRules, year: np.ndarray, *,
                  deadline: float | None = None) -> GreedyPlan:
    """Plan ``year`` refilled: a re-plan's start when its program gives more room (a larger budget).

    The plan's placements are kept, the money they leave spent greedily
    (:func:`~.multiservice_greedy.loaded_state`), then the local search of :func:`improved_plan` runs from there.
    ``floors_met`` False (and no search) when the placements alone do not meet the rules' floors.
    """
    state, money = loaded_state(reach, params, rules, year, deadline=deadline)
    if not floors_met(state):
        return GreedyPlan(state.year, False)
    _local_search(state, money, rules, held_levels(reach, params), True, deadline)
    return GreedyPlan(state.year.copy(), True)


def _greedy_start(reach: Reach, params: MultiserviceParams, rules: SiteRules, power: float,
                  deadline: float | None, began: float, floor_weight: float = FLOOR_WEIGHT) -> tuple[Any, Any]:
    """The greedy state of one cost power: the best over the years the floors start from (see above)."""
    n_years = params.n_years
    starts = range(n_years - 1, -1, -1) if _floor_weights_exist(reach) else range(0, 1)
    best = None
    for first in starts:
        if best is not None and deadline is not None and time.perf_counter() > began + 0.5 * (deadline - began):
            break
        state, money = greedy_state(reach, params, rules, floors_from=first, deadline=deadline, cost_power=power,
                                    floor_weight=floor_weight)
        if floors_met(state) and (best is None or _total(state, money) > _total(*best)):
            best = (state, money)
    if best is None:
        return state, money
    best[0].cost_power = 1.0           # the local search refills by gain per yuan
    return best


def _local_search(state: Any, money: Any, rules: SiteRules, levels: list[list[int]], swaps: bool,
                  deadline: float | None) -> None:
    """Rounds of the moves until one keeps nothing (or ``deadline``)."""
    while deadline is None or time.perf_counter() < deadline:
        kept = improve(state, money, rules, check=floors_met, deadline=deadline, levels=levels)["kept"]
        if swaps:
            kept += drop_search(state, money, rules, check=floors_met, levels=levels, deadline=deadline)["kept"]
            kept += swap_search(state, money, rules, check=floors_met, levels=levels, deadline=deadline)["kept"]
        if not kept or not swaps:
            return


def held_levels(reach: Reach, params: MultiserviceParams) -> list[list[int]]:
    """The services (positions in ``reach``) of each priority level the program holds (all but the last)."""
    position = {s.key: k for k, s in enumerate(reach.services)}
    return [[position[key] for key in level if key in position]
            for level in resolved_catalog(params).priority_levels()[:-1]]


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
            deadline: float | None = None, patience: int = 25, max_moves: int = 400,
            levels: Sequence[Sequence[int]] = ()) -> dict[str, int]:
    """Improve ``state`` in place (see module notes); returns how many moves were tried and kept."""
    reach = state.reach
    n_years = len(money.budgets)
    best = plan_key(state, n_years, levels)
    tried = np.zeros(state.converted.shape[0], bool)
    moves = kept = fails = 0
    while moves < max_moves and fails < patience:
        if expired(deadline):
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
        saved = saved_point(state, money)
        for k in np.flatnonzero(placed[j]):
            state.remove(j, int(k))
        money.left += float(spend[j])
        money.total_left += float(spend[j])
        state.blocked[j] = True
        fill(state, money, deadline=deadline)
        state.blocked[j] = False
        value = keep_or_undo(state, money, saved, best, n_years=n_years, levels=levels, check=check)
        if value is not None:
            best, kept, fails = value, kept + 1, 0
            tried[:] = False
        else:
            tried[j] = True
            fails += 1
    return {"moves": moves, "kept": kept}
