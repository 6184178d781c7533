"""Ball rounds (:mod:`siting.models.multiservice_balls`): breadth-first balls and the RINS solve.

The ball lists buildings by hop distance from its seed; the RINS solve never returns a point worse than or
infeasible for its start, fixes everything when the tolerance covers every column, and is the plain MIP's
optimum when it fixes nothing (checked by brute force on small random knapsacks).
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from siting.models.multiservice_balls import ball_order, rins_solve
from siting.program import LinearProgram, Sense
from siting.status import Termination


@pytest.mark.parametrize("seed", range(5))
def test_ball_order_is_by_hops_from_the_seed_and_within_only(seed):
    rng = np.random.default_rng(seed)
    n = 40
    upper = sp.random(n, n, density=0.06, random_state=rng, format="csr")
    graph = sp.csr_matrix((upper + upper.T) > 0)
    within = rng.random(n) < 0.7
    start = int(np.flatnonzero(within)[0])
    order = ball_order(graph, start, within)
    hops = shortest_path(graph, unweighted=True, indices=start)
    reachable = within & np.isfinite(hops)
    assert order[0] == start
    assert sorted(order.tolist()) == np.flatnonzero(reachable).tolist()
    assert (np.diff(hops[order]) >= 0).all()


def _knapsack(rng: np.random.Generator, n: int) -> LinearProgram:
    weight = rng.integers(1, 10, size=(2, n)).astype(float)
    return LinearProgram(sense=Sense.MAXIMIZE, objective=rng.random(n) + 0.1, constraints=sp.csr_matrix(weight),
                         row_lower=np.full(2, -np.inf), row_upper=weight.sum(axis=1) / 3,
                         col_lower=np.zeros(n), col_upper=np.ones(n), integrality=np.ones(n, bool))


def _brute_force(program: LinearProgram) -> float:
    best = -np.inf
    for bits in itertools.product([0.0, 1.0], repeat=program.n_cols):
        x = np.array(bits)
        if program.max_violation(x) <= 1e-9:
            best = max(best, program.objective_value(x))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_rins_never_loses_its_start_and_without_fixing_is_the_optimum(seed):
    rng = np.random.default_rng(seed)
    program = _knapsack(rng, 9)
    start = np.zeros(program.n_cols)
    for j in rng.permutation(program.n_cols):            # a feasible greedy start in random order
        start[j] = 1.0
        if program.max_violation(start) > 1e-9:
            start[j] = 0.0
    found = rins_solve(program, start, time_limit_s=10.0)
    assert found.x is not None and program.max_violation(found.x) <= 1e-7
    assert program.objective_value(found.x) >= program.objective_value(start) - 1e-9
    everything = rins_solve(program, start, time_limit_s=10.0, tolerance=1.0)
    assert everything.fixed == program.n_cols and everything.x is not None
    assert np.allclose(everything.x, start)
    nothing = rins_solve(program, start, time_limit_s=10.0, tolerance=-1.0)
    assert nothing.fixed == 0 and nothing.termination is Termination.OPTIMAL and nothing.x is not None
    assert program.objective_value(nothing.x) == pytest.approx(_brute_force(program), rel=1e-4)
