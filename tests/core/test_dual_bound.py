"""``LinearProgram.dual_bound``: a bound from any row multipliers, the optimum from the solver's duals.

Any multipliers give a bound on the right side of the LP optimum (so a wrong sign or an inaccurate dual can only
loosen it), and HiGHS's row duals at its optimum give the optimum itself, for both senses and every kind of row.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from siting.backends import get_backend
from siting.options import SolveOptions
from siting.program import LinearProgram, Sense
from siting.status import Termination


def _random_lp(seed: int, sense: Sense) -> LinearProgram:
    rng = np.random.default_rng(seed)
    n_rows, n_cols = 7, 9
    a = sp.random(n_rows, n_cols, density=0.5, random_state=rng, format="csr",
                  data_rvs=lambda n: rng.uniform(-2.0, 3.0, n))
    x0 = rng.uniform(0.0, 0.5, n_cols)             # within every column bound below: a feasible point
    activity = a @ x0
    kind = rng.integers(0, 4, n_rows)              # <=, >=, ranged, equality
    lower = np.where(kind == 0, -np.inf, activity - rng.uniform(0.0, 1.0, n_rows))
    upper = np.where(kind == 1, np.inf, activity + rng.uniform(0.0, 1.0, n_rows))
    lower = np.where(kind == 3, activity, lower)
    upper = np.where(kind == 3, activity, upper)
    return LinearProgram(sense, rng.normal(size=n_cols), a, lower, upper, np.zeros(n_cols),
                         rng.uniform(0.5, 2.0, n_cols), np.zeros(n_cols, bool), objective_offset=0.25)


@pytest.mark.parametrize("sense", [Sense.MAXIMIZE, Sense.MINIMIZE])
@pytest.mark.parametrize("seed", range(8))
def test_any_multipliers_bound_the_optimum_and_the_solvers_duals_reach_it(seed, sense):
    lp = _random_lp(seed, sense)
    solution = get_backend("highs").solve(lp, SolveOptions())
    assert solution.termination is Termination.OPTIMAL and solution.row_dual is not None
    assert solution.objective is not None
    side = 1.0 if sense is Sense.MAXIMIZE else -1.0
    exact = lp.dual_bound(solution.row_dual)
    assert exact == pytest.approx(solution.objective, rel=1e-7, abs=1e-7)
    assert side * exact >= side * solution.objective - 1e-7
    rng = np.random.default_rng(seed)
    for _ in range(20):
        y = solution.row_dual + rng.normal(scale=rng.choice([1e-3, 0.1, 10.0]), size=lp.n_rows)
        assert side * lp.dual_bound(y) >= side * solution.objective - 1e-9


def test_a_column_without_a_bound_it_needs_gives_no_bound():
    lp = LinearProgram(Sense.MAXIMIZE, np.array([1.0]), sp.csr_matrix(np.ones((1, 1))), np.array([-np.inf]),
                       np.array([1.0]), np.zeros(1), np.array([np.inf]), np.zeros(1, bool))
    assert lp.dual_bound(np.array([1.0])) == pytest.approx(1.0)
    assert lp.dual_bound(np.array([0.0])) == np.inf
