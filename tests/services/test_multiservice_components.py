"""The bound's split over the reach components and the component cores (:mod:`siting.models.multiservice_components`).

The split must be exact (the components' terms add up to the Lagrangian bound, and bound - plan to the
components' shortfalls plus the unspent money's price), each shortfall non-negative for a feasible plan (a
component's term bounds what any plan earns there at the budget price), the components must not share a demand
point, and the core search with component turns must keep its guarantees (never worse, never infeasible).
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from siting.models.multiservice_components import (
    ComponentTurns,
    Shortfalls,
    building_spend,
    placements,
    ranked_components,
    reach_components,
)
from siting.models.multiservice_core import core_search
from siting.models.multiservice_lagrange import lagrange_bound, year_money

from ._instances import greedy_start, plain_and_policy, towns

CASES = plain_and_policy(6e6, (3e6, 2e6, 2e6))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_is_exact_and_every_shortfall_non_negative(seed):
    inst, params, rules, reach, built, x, _, _ = greedy_start(seed, CASES["plain"](), 120, 30)
    found = lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=60)
    split = Shortfalls.at(reach, found)
    assert split is not None
    money = year_money(params)[-1]
    assert split.total(reach, money) == pytest.approx(found.bound, rel=1e-9)
    short = split.of(built, reach, x)
    unspent = split.price * (money - building_spend(built, reach, x).sum())
    value = built.program.objective_value(x)
    assert short.sum() + unspent == pytest.approx(found.bound - value, rel=1e-9, abs=1e-12)
    assert short.min() >= -1e-9 * max(1.0, value)
    # random plans (feasible or not for the budget) never beat a component's term at its price either
    rng = np.random.default_rng(seed)
    for _ in range(5):
        placed = reach.allowed & reach.buildable[:, None] & (rng.random(reach.allowed.shape) < 0.3)
        spend = np.where(placed.any(axis=1), reach.building_cost, 0.0) + \
            (np.nan_to_num(reach.placement_cost) * placed).sum(axis=1)
        assert (split.bound_c - split.plan_shares(reach, placed, spend)).min() >= -1e-9


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_plan_reads_back_from_its_columns(case):
    inst, params, rules, reach, built, x, _, _ = greedy_start(0, CASES[case](), 80, 24)
    decoded = built.decode(x)
    placed = placements(built, reach, x)
    assert placed.any()
    for k, s in enumerate(reach.services):
        assert np.array_equal(placed[:, k], np.asarray(decoded.placements[s.key], bool))
    spend = building_spend(built, reach, x)
    if case == "plain":                 # one year: the plan's whole cost
        assert spend.sum() == pytest.approx(float(built.plan_cost @ x), rel=1e-12)
    else:                               # the final year's columns only: at least what the placements cost
        assert spend.sum() >= float((np.nan_to_num(reach.placement_cost) * placed).sum()) - 1e-6


def test_components_share_no_demand_point():
    _, _, _, reach, _, _, _, _ = greedy_start(1, CASES["plain"](), 120, 30)
    label, points = reach_components(reach)
    for s, comp in zip(reach.services, points, strict=True):
        rows = s.by_demand.tocsr()
        for i in np.flatnonzero(s.active):
            reached = rows.indices[rows.indptr[i]:rows.indptr[i + 1]]
            assert reached.size and set(label[reached]) == {comp[i]}
        assert (comp[~s.active] == -1).all()


def test_ranked_components_skip_the_exact_and_the_unplanned():
    shortfall = np.array([0.0, 0.004, 1e-9, 0.002, 0.003])
    has_plan = np.array([True, True, True, False, True])
    assert ranked_components(shortfall, has_plan).tolist() == [1, 4]
    assert ranked_components(shortfall, has_plan, scale=1e5).tolist() == []


def test_turns_centre_on_every_converted_building_and_pass_again_only_after_a_gain():
    _, params, rules, reach, built, x, _, _ = greedy_start(0, CASES["plain"](), 80, 24)
    split = Shortfalls.at(reach, lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=5))
    assert split is not None
    converted = placements(built, reach, x).any(axis=1) & reach.buildable
    scale = abs(built.program.objective_value(x))

    def run(gain_first: bool) -> list[tuple[int, int]]:
        turns, seen = ComponentTurns(split), []
        while (chosen := turns.next(built, reach, x, converted, scale)) is not None:
            component, seed = chosen
            assert converted[seed] and split.label[seed] == component and component not in turns.done
            seen.append(chosen)
            ball = np.zeros_like(converted)
            ball[seed] = True
            turns.record(component, ball, converted, gained=gain_first and len(seen) == 1)
            assert len(seen) <= 2 * converted.sum()
        return seen

    once = run(False)
    n_comp = split.bound_c.shape[0]
    has_plan = np.bincount(split.label, weights=converted, minlength=n_comp) > 0
    ranked = ranked_components(split.of(built, reach, x), has_plan, scale)
    if not ranked.size:
        pytest.skip("no component with a shortfall here")
    # each converted building of each ranked component centres exactly one ball in a pass without gains
    expected = converted & np.isin(split.label, ranked)
    assert sorted(seed for _, seed in once) == sorted(np.flatnonzero(expected).tolist())
    twice = run(True)
    first = once[0][0]
    assert len(twice) == len(once) + int((converted & (split.label == first)).sum())


@pytest.mark.parametrize(("case", "seed"), [("plain", 2), ("plain", 4), ("policy", 2)])
def test_core_search_with_component_turns_keeps_its_guarantees(case, seed):
    inst, params, rules, reach, built, x, n_phases, met = greedy_start(seed, CASES[case](), 80, 24)
    if not met or built.program.max_violation(x, relative=True) > 1e-7:
        pytest.skip("the greedy misses a floor here: no start to improve")
    found = lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=30)
    split = Shortfalls.at(reach, found)
    assert split is not None
    y, info = core_search(built, reach, x, n_phases, found.site_score, found.site_services,
                          deadline=time.perf_counter() + 4.0, size=4, min_solve_s=0.2, round_share=0.25,
                          turns=ComponentTurns(split))
    assert built.program.max_violation(y, relative=True) <= 1e-7
    assert built.program.objective_value(y) >= built.program.objective_value(x) - 1e-12
    for level in built.levels:
        assert float(level.objective @ y) >= float(level.objective @ x)
    components = [r["component"] for r in info["core_rounds"] if r["component"] is not None]
    # the second round is a component's when one with a shortfall and a converted building is there
    converted = placements(built, reach, x).any(axis=1)
    has_plan = np.bincount(split.label, weights=converted, minlength=split.bound_c.shape[0]) > 0
    if len(info["core_rounds"]) >= 2 and ranked_components(split.of(built, reach, x), has_plan).size:
        assert components and info["core_rounds"][1]["component"] == components[0]
    assert all(split.label.max() >= c >= 0 for c in components)


def test_a_ball_core_is_its_component_around_the_seed_within_the_column_target(monkeypatch):
    import siting.models.multiservice_core as core

    _, params, rules, reach, built, x, n_phases, _ = greedy_start(1, CASES["plain"](), 120, 30)
    found = lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=30)
    split = Shortfalls.at(reach, found)
    assert split is not None
    program = built.program
    covers, by_column = core.cover_columns(program), program.constraints.tocsc()
    converted = placements(built, reach, x).any(axis=1)
    scale = abs(program.objective_value(x))
    chosen = ComponentTurns(split).next(built, reach, x, converted, scale)
    if chosen is None:
        pytest.skip("no component with a shortfall here")
    component, seed = chosen

    def ball_core(turns=None):
        return core._ball_core(built, reach, program, x, covers, by_column, converted, n_phases,
                               turns or ComponentTurns(split), scale)

    agg, got, ball, key = ball_core()
    assert agg is not None and ball is not None and got == component
    inside = (split.label == component) & reach.buildable
    assert ball[seed] and inside[ball].all()
    assert ball.sum() == min(core.BALL_SITES, int(inside.sum()))
    assert agg.program.max_violation(agg.start(x), relative=True) <= 1e-7
    # a ball proven without gain on this plan is passed over, and comes back once the plan changes
    turns = ComponentTurns(split)
    turns.proven.add(key)
    again = ball_core(turns)
    assert turns.skipped == 1 and again[3] != key
    turns = ComponentTurns(split)
    turns.proven.add(key)
    turns.plan_changed()
    assert ball_core(turns)[3] == key and turns.skipped == 0
    # only a ball proven without a gain is remembered
    turns = ComponentTurns(split)
    turns.record(component, ball, converted, gained=True, proven=key)
    assert key not in turns.proven
    turns.record(component, ball, converted, gained=False, proven=key)
    assert key in turns.proven
    # a column target no ball meets trims it to the seed and its nearest building
    monkeypatch.setattr(core, "BALL_COLUMNS", 1)
    _, _, trimmed, _ = ball_core()
    assert trimmed is not None and trimmed[seed] and trimmed.sum() == min(2, int(inside.sum()))


def _towns(seed: int):
    """A small generated city (towns: several reach components), its params, rules, reach, program and greedy start."""
    from siting.models import multiservice_heuristic as heuristic
    from siting.models.multiservice_greedy import GreedyPlan, greedy_state
    from siting.models.multiservice_program import build_multiservice
    from siting.models.multiservice_reach import reach_of

    inst, params, rules = towns(seed)
    reach = reach_of(inst, params, rules)
    state, _ = greedy_state(reach, params, rules, cost_power=1.0)
    built = build_multiservice(inst, params, rules)
    return params, rules, reach, built, heuristic.encode(GreedyPlan(state.year, True), reach, rules, built, 1)


@pytest.mark.parametrize("seed", [0, 1])     # the generated cities with two or more components to re-plan
def test_balls_solved_beside_each_other_keep_the_guarantees(seed):
    # two balls at once, in different components, each answer put onto the plan as it is when it comes back
    params, rules, reach, built, x = _towns(seed)
    found = lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=30)
    split = Shortfalls.at(reach, found)
    assert split is not None
    y, info = core_search(built, reach, x, 1, found.site_score, found.site_services,
                          deadline=time.perf_counter() + 6.0, size=4, min_solve_s=0.2, round_share=0.25,
                          turns=ComponentTurns(split), pair=lambda: True)
    assert built.program.max_violation(y, relative=True) <= 1e-7
    assert built.program.objective_value(y) >= built.program.objective_value(x) - 1e-12
    assert info["core_objective"] == pytest.approx(built.program.objective_value(y), rel=1e-12)
    rounds = info["core_rounds"]
    beside = [r for r in rounds if r.get("beside")]
    assert beside, "no ball was solved beside another"
    for i, r in enumerate(rounds):
        if r.get("beside"):          # the ball beside another: right after it, in another component
            assert rounds[i - 1]["component"] is not None and r["component"] != rounds[i - 1]["component"]
    # the kept values climb, and the solves counted are the rounds logged
    values = [r["value"] for r in rounds]
    assert all(b >= a for a, b in zip(values, values[1:], strict=False))
    assert info["core_solves"] == len(rounds)
    # without pairs no round is beside another; nor while the other core is busy (pair() False) and a city-wide
    # core fits
    for pair in (None, lambda: False):
        _, alone = core_search(built, reach, x, 1, found.site_score, found.site_services,
                               deadline=time.perf_counter() + 2.0, size=4, min_solve_s=0.2, round_share=0.25,
                               turns=ComponentTurns(split), pair=pair)
        assert not any(r.get("regional") for r in alone["core_rounds"][:1])
        assert not any(r.get("beside") for r in alone["core_rounds"])
    # ... but once the plan's own buildings are too many for one (its city-wide rounds are regions), always
    _, crowded = core_search(built, reach, x, 1, found.site_score, found.site_services,
                             deadline=time.perf_counter() + 3.0, size=4, min_solve_s=0.2, round_share=0.25,
                             turns=ComponentTurns(split), pair=lambda: False, max_columns=10)
    assert crowded["core_rounds"][0]["regional"] and any(r.get("beside") for r in crowded["core_rounds"])
