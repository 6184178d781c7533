"""A caller's stop event ends the searches at their next step, as their deadline would (:mod:`siting.interrupt`).

Each search is run twice with no time limit: without an event it works many steps, with a set event (a serve
job's cancel) only the first (the Lagrangians' first step is what makes a bound) or none; the whole coverage
and p-median solves then return a verified plan at once although their limit is a minute.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from siting.heuristics.arrays import CoverArrays
from siting.heuristics.cft import column_fixing
from siting.heuristics.lagrangian import lagrangian
from siting.heuristics.rwls import row_weighting_search
from siting.heuristics.setcover import cover_dual
from siting.heuristics.volume import volume_mclp
from siting.interrupt import stopping
from siting.models.pmedian import solve_pmedian
from siting.options import SolveOptions
from siting.problem import ModelType
from siting.strategy import solve_coverage
from siting.testing import random_instance

from .helpers import feasible, random_problem


def _set() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


def _mclp():
    return random_problem(3, n_demand=600, n_sites=60, density=0.05, fixed=False, dup_rows=False,
                          max_sites=None, budget_share=0.2)


def _lscp():
    p = random_problem(4, model=ModelType.LSCP, n_demand=600, n_sites=80, density=0.05, fixed=False,
                       dup_rows=False)
    keep = np.asarray(p.coverage.sum(axis=1)).ravel() > 0
    from siting.presolve import take_rows
    return take_rows(p, keep)


SEARCHES = {
    "lagrangian": (_mclp, lambda p: lagrangian(p, iterations=300, repairs=0).iterations),
    "volume": (_mclp, lambda p: volume_mclp(p, iterations=300, warmup=0).iterations),
    "cover_dual": (_lscp, lambda p: cover_dual(p, iterations=300).iterations),
    "row_weighting": (_lscp, lambda p: row_weighting_search(p, np.ones(p.n_sites, bool), CoverArrays.of(p),
                                                            max_steps=20_000).steps),
    "column_fixing": (_lscp, lambda p: column_fixing(p, cover_dual(p, iterations=50), max_dives=3,
                                                     patience=3).dives),
}


@pytest.mark.parametrize("name", list(SEARCHES))
def test_a_set_stop_event_ends_the_search_after_its_first_step(name):
    make, steps_of = SEARCHES[name]
    problem = make()
    free = steps_of(problem)
    with stopping(_set()):
        stopped = steps_of(problem)
    assert free > 1
    assert stopped <= 1


def test_a_stopped_coverage_solve_returns_a_verified_plan_at_once():
    # unstopped, this solve runs to its limit (volume ~1,100 steps, then the core MIP by HiGHS)
    problem = random_problem(5, n_demand=3000, n_sites=300, density=0.02, fixed=False, dup_rows=False,
                             max_sites=None, budget_share=0.1)
    t0 = time.perf_counter()
    with stopping(_set()):
        out = solve_coverage(problem, strategy="hybrid", options=SolveOptions(time_limit_s=60.0, seed=0))
    assert time.perf_counter() - t0 < 5.0
    assert out.open_sites is not None and feasible(problem, out.open_sites)
    assert out.bound is not None and out.bound >= out.objective - 1e-9
    assert out.stats["lagrangian_iterations"] <= 1 and "highs" not in out.method


def test_a_stopped_pmedian_solve_returns_a_plan_at_once():
    # unstopped, this solve runs to its 60-s limit
    instance = random_instance(400, 80, seed=6, density=0.5, max_minutes=30)
    t0 = time.perf_counter()
    with stopping(_set()):
        r = solve_pmedian(instance, p=8, options=SolveOptions(time_limit_s=60.0))
    assert time.perf_counter() - t0 < 5.0
    assert len(r.selected) == 8 and r.status == "time_limit"


def test_a_stopped_partial_solve_returns_a_plan_without_a_budget_search_step():
    # unstopped, its budget search asks the MCLP at budgets until its limit or the optimum
    problem = random_problem(7, model=ModelType.PARTIAL, n_demand=3000, n_sites=300, density=0.02, fixed=False,
                             dup_rows=False)
    t0 = time.perf_counter()
    with stopping(_set()):
        out = solve_coverage(problem, strategy="heuristic", options=SolveOptions(time_limit_s=60.0, seed=0))
    assert time.perf_counter() - t0 < 5.0
    assert out.open_sites is not None and feasible(problem, out.open_sites)
    assert out.stats.get("budget_search", []) == []
    free = solve_coverage(problem, strategy="heuristic", options=SolveOptions(time_limit_s=4.0, seed=0))
    assert free.stats["budget_search"], "unstopped, the search takes steps"
