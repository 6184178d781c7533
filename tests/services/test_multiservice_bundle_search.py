"""The greedy's best-bundle search prunes buildings by a ratio bound and still gives the full search's answer."""
from __future__ import annotations

import numpy as np
import pytest

from siting.models import multiservice_greedy as greedy
from siting.models.multiservice_greedy import greedy_state
from siting.models.multiservice_local import improved_plan
from siting.models.multiservice_params import MultiserviceParams
from siting.models.multiservice_reach import reach_of
from siting.rules import SiteRules

from ._instances import multiservice_instance, plain_and_policy

EVERY = 10 ** 9          # BUNDLE_FIRST beyond the number of buildings: every building searched


def _setup(seed: int, variant: str):
    inst = multiservice_instance(seed, n_demand=300, n_sites=90)
    params = MultiserviceParams.from_kwargs(plain_and_policy(4e6, (1.5e6, 1.5e6, 1e6))[variant]())
    rules = SiteRules.of(inst)
    return params, rules, reach_of(inst, params, rules)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("variant", ["plain", "policy"])
def test_the_greedy_and_its_local_search_give_the_same_plan_pruned(monkeypatch, seed, variant):
    params, rules, reach = _setup(seed, variant)
    plans = {}
    for first in (EVERY, 3):
        monkeypatch.setattr(greedy, "BUNDLE_FIRST", first)
        states = [greedy_state(reach, params, rules, cost_power=p)[0].year for p in (0.8, 1.0, 0.6)]
        plans[first] = states + [improved_plan(reach, params, rules, cost_powers=(0.8, 1.0)).year]
    for full, pruned in zip(plans[EVERY], plans[3], strict=True):
        np.testing.assert_array_equal(full, pruned)
    assert (plans[3][0] >= 0).any()


@pytest.mark.parametrize("fit_out", [1.0, 0.0])
@pytest.mark.parametrize("trial", range(20))
def test_ties_go_to_the_first_building_as_in_the_full_search(monkeypatch, trial, fit_out):
    # equal costs and gains from a few values: many buildings share the best ratio; free fit-outs make the bound
    # exact (every fitting service joins the bundle), so a bound too low for any building changes the answer
    params, rules, reach = _setup(trial % 3, "plain")
    rng = np.random.default_rng(trial)
    state = greedy_state(reach, params, rules, cost_power=1.0)[0]
    state.gain = rng.choice([0.0, 0.1, 0.7, 1.3], state.gain.shape)
    state.converted[:] = False
    state.year[:] = -1
    state.area_left = reach.floor_area.copy()
    reach_cost = (reach.building_cost.copy(), reach.placement_cost.copy())
    try:
        reach.building_cost[:] = 1.0
        reach.placement_cost[:] = fit_out
        rows = np.flatnonzero(reach.buildable)
        fit = (state.fits() & (state.gain > 0))[rows]
        for money in (1.5, 3.0, np.inf):
            monkeypatch.setattr(greedy, "BUNDLE_FIRST", EVERY)
            full = state._best_bundle(rows, fit, money)
            monkeypatch.setattr(greedy, "BUNDLE_FIRST", 1 + trial % 3)
            pruned = state._best_bundle(rows, fit, money)
            assert full[0] == pruned[0] and full[2] == pruned[2]
            np.testing.assert_array_equal(full[1], pruned[1])
    finally:
        reach.building_cost[:], reach.placement_cost[:] = reach_cost
