"""The components' bundle-hull LPs (:mod:`siting.models.multiservice_hull`).

Each component's LP lies between what the plan earns there at the budget price and the Lagrangian's term (weak
duality both ways), and the bound lowered by them stays above the optimum HiGHS proves on the whole program.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

from siting.backends import get_backend
from siting.interrupt import stop_events
from siting.models.multiservice_bundles import Buildings
from siting.models.multiservice_components import Shortfalls, building_spend, placements
from siting.models.multiservice_core import same_rows
from siting.models.multiservice_hull import hull_beside, hull_bound, hull_program
from siting.models.multiservice_lagrange import lagrange_bound
from siting.options import SolveOptions
from siting.status import Termination

from ._instances import greedy_start, plain_and_policy

CASES = plain_and_policy(6e6, (3e6, 2e6, 2e6))


def test_points_group_exactly_by_the_buildings_reaching_them():
    import scipy.sparse as sp

    rows = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 1, 0], [1, 1, 1, 0], [0, 0, 0, 1]], np.int8))
    group = same_rows(rows, np.zeros(5))
    same = group[:, None] == group[None, :]
    assert same[0, 2] and same.sum() == 5 + 2


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_each_component_lp_lies_between_the_plan_and_its_term_and_the_bound_above_the_optimum(seed):
    inst, params, rules, reach, built, x, _, _ = greedy_start(seed, CASES["plain"](), 70, 18)
    # a short search: its terms are above the dual's value, so the LPs have something to lower
    found = lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=15)
    split = Shortfalls.at(reach, found)
    assert split is not None
    inner = Buildings(reach, rules.counts, None)
    plan_c = split.plan_shares(reach, placements(built, reach, x), building_spend(built, reach, x))
    order = np.argsort(-split.bound_c)
    for c in order[:5]:
        program = hull_program(reach, inner, split, int(c))
        program.check()
        solution = get_backend("highs").solve(program, SolveOptions(time_limit_s=30))
        assert solution.termination is Termination.OPTIMAL and solution.row_dual is not None
        assert plan_c[c] - 1e-9 <= solution.objective <= split.bound_c[c] + 1e-9
        # the duals' bound is the optimum up to the solver's tolerances, on the safe side
        assert program.dual_bound(solution.row_dual) == pytest.approx(solution.objective, rel=1e-6, abs=1e-9)
        assert program.dual_bound(solution.row_dual) >= solution.objective - 1e-9
    lowered = hull_bound(reach, inner, split, found.bound, order, deadline=time.perf_counter() + 60)
    assert lowered.bound <= found.bound
    assert lowered.solved == split.bound_c.shape[0]
    best = get_backend("highs").solve(built.program, SolveOptions(time_limit_s=60, mip_gap=0.0))
    assert best.termination is Termination.OPTIMAL
    assert lowered.bound >= best.objective - 1e-7 * max(1.0, abs(best.objective))


def _short_split(seed: int = 0):
    inst, params, rules, reach, built, x, _, _ = greedy_start(seed, CASES["plain"](), 120, 30)
    found = lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=15)
    split = Shortfalls.at(reach, found)
    assert split is not None
    return inst, params, rules, reach, built, x, found, split


def test_the_lps_lower_a_short_search():
    """A short search stops above the dual's value: the LPs take its terms down (and never up)."""
    lowered = []
    for seed in range(4):
        _, _, rules, reach, _, _, short, split = _short_split(seed)
        got = hull_bound(reach, Buildings(reach, rules.counts, None), split, short.bound,
                         np.arange(split.bound_c.shape[0]), deadline=time.perf_counter() + 60)
        assert got.bound == pytest.approx(short.bound - got.lowered, rel=1e-12)
        assert all(value is None or value <= term + 1e-9 for _, _, term, value, _ in got.components)
        lowered.append(got.lowered)
    assert max(lowered) > 1e-4 * short.bound


@pytest.mark.parametrize("case", sorted(CASES))
def test_hull_beside_runs_for_one_year_programs_only(case):
    inst, params, rules, reach, built, x, _, _ = greedy_start(0, CASES[case](), 120, 30)
    found = lagrange_bound(reach, params, rules.counts, target=0.0, max_iterations=15)
    future = hull_beside(built, reach, params, rules.counts, found, Shortfalls.at(reach, found), x,
                         deadline=time.perf_counter() + 60)
    if case == "policy":
        assert future is None
    else:
        assert future is not None
        got = future.result()
        assert got.solved >= 1 and got.bound <= found.bound


def test_a_component_whose_lp_the_solver_fails_keeps_its_term(monkeypatch):
    import siting.models.multiservice_hull as hull_module
    from siting.errors import SolverError

    _, _, rules, reach, _, _, found, split = _short_split()
    order = np.argsort(-split.bound_c)[:3]
    real = get_backend("highs")

    class Failing:
        def solve(self, program, options, warm_start=None):
            if program.name == f"hull-{int(order[0])}":
                raise SolverError("rejected")
            return real.solve(program, options, warm_start=warm_start)

    monkeypatch.setattr(hull_module, "get_backend", lambda name: Failing())
    inner = Buildings(reach, rules.counts, None)
    got = hull_bound(reach, inner, split, found.bound, order, deadline=time.perf_counter() + 60)
    clean = hull_bound(reach, inner, split, found.bound, order[1:], deadline=time.perf_counter() + 60)
    assert got.errors == (f"hull-{int(order[0])}: rejected",)
    assert got.solved == 3 and got.components[0][3] is None
    # the failed component lowers nothing; the others exactly what they lower alone
    assert got.lowered == pytest.approx(clean.lowered, rel=1e-9, abs=1e-15)
    assert clean.errors == ()


def test_no_lp_starts_once_stopped():
    import threading

    _, _, rules, reach, _, _, found, split = _short_split()
    stop = threading.Event()
    stop.set()
    got = hull_bound(reach, Buildings(reach, rules.counts, None), split, found.bound,
                     np.arange(split.bound_c.shape[0]), deadline=time.perf_counter() + 60, stop=stop)
    assert got.solved == 0 and got.bound == found.bound


def test_an_interrupted_search_stops_the_lps_beside_it(monkeypatch):
    from siting.models import multiservice_heuristic as heuristic

    inst, params, rules, _, built, _, _, _ = _short_split()
    seen = []
    real_beside = heuristic.hull_beside

    def beside(*args, stop, **kwargs):
        seen.append(stop)
        return real_beside(*args, stop=stop, **kwargs)

    def interrupted(*args, **kwargs):
        assert seen and not seen[0].is_set()          # the LPs run while the search does
        raise KeyboardInterrupt

    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    monkeypatch.setattr(heuristic, "neighbourhood_search", lambda built, reach, x, *args, **kwargs: (x, {}))
    monkeypatch.setattr(heuristic, "hull_beside", beside)
    monkeypatch.setattr(heuristic, "core_search", interrupted)
    with pytest.raises(KeyboardInterrupt):
        heuristic.warm_start(inst, params, rules, built, time.perf_counter() + 30)
    assert len(seen) == 1 and seen[0].is_set()


def _watch_stop_events(monkeypatch) -> list:
    """Make the hull's backend note the stop events each LP runs under (then solve it with HiGHS); returns the list."""
    import siting.models.multiservice_hull as hull_module

    real = get_backend("highs")
    seen: list = []

    class Watching:
        def solve(self, program, options, warm_start=None):
            seen.append(stop_events())
            return real.solve(program, options, warm_start=warm_start)

    monkeypatch.setattr(hull_module, "get_backend", lambda name: Watching())
    return seen


def test_each_lp_runs_under_the_searchs_stop_event(monkeypatch):
    # a child LP is killed once the event is set (tests/core/test_child_stop.py); here: the event reaches it
    import threading


    _, _, rules, reach, _, _, found, split = _short_split()
    order = np.argsort(-split.bound_c)[:2]
    stop = threading.Event()
    seen = _watch_stop_events(monkeypatch)
    got = hull_bound(reach, Buildings(reach, rules.counts, None), split, found.bound, order,
                     deadline=time.perf_counter() + 60, stop=stop)
    assert got.solved == 2 and seen == [(stop,), (stop,)]
    assert stop_events() == ()                 # the event does not outlive the LPs


def test_the_lps_beside_the_search_inherit_the_callers_stop_events(monkeypatch):
    # a serve job's cancel (an event of the caller's stopping block) reaches the LPs in the thread beside the
    # search, together with the search's own event
    import threading

    from siting.backends import stopping

    _, params, rules, reach, built, x, found, split = _short_split()
    outer, own = threading.Event(), threading.Event()
    seen = _watch_stop_events(monkeypatch)
    with stopping(outer):
        future = hull_beside(built, reach, params, rules.counts, found, split, x,
                             deadline=time.perf_counter() + 60, stop=own)
    assert future is not None
    got = future.result()
    assert got.solved >= 1 and all(stops == (outer, own) for stops in seen)
    outer.set()                                     # the caller's event set: the next search starts no LP
    with stopping(outer):
        future = hull_beside(built, reach, params, rules.counts, found, split, x,
                             deadline=time.perf_counter() + 60, stop=threading.Event())
    assert future is not None and future.result().solved == 0
