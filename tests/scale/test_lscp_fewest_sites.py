"""LSCP's secondary objective survives presolve: among the cheapest covers, one with the fewest sites."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from siting.options import SolveOptions
from siting.problem import CoverageProblem, ModelType
from siting.strategy import solve_coverage


def _instance(seed: int) -> CoverageProblem:
    rng = np.random.default_rng(seed)
    n_d, n_s = int(rng.integers(6, 25)), int(rng.integers(5, 11))
    a = rng.random((n_d, n_s)) < rng.uniform(0.2, 0.5)
    cost = rng.integers(1, 6, n_s).astype(float)
    if seed % 3 == 0:   # twin columns: equal-cost ties
        a[:, 1], cost[1] = a[:, 0], cost[0]
    fixed_open = rng.random(n_s) < 0.1
    fixed_closed = (rng.random(n_s) < 0.15) & ~fixed_open
    a = a[(a & ~fixed_closed).any(axis=1)]
    w = rng.integers(1, 9, a.shape[0]).astype(float)
    return CoverageProblem(ModelType.LSCP, sp.csr_matrix(a), w, cost, fixed_open, fixed_closed, np.ones(n_s, bool),
                           total_weight=float(w.sum()))


@pytest.mark.parametrize("seed", [*range(40), 88, 144])
def test_cheapest_cover_with_the_fewest_sites(seed):
    p = _instance(seed)
    a = p.coverage.toarray()
    grid = np.array(list(itertools.product((False, True), repeat=p.n_sites)), bool)
    ok = (~(grid & p.fixed_closed).any(1) & ~(p.fixed_open & ~grid).any(1)
          & ((a.astype(int) @ grid.T.astype(int)) > 0).all(0))
    covers = grid[ok]
    costs = covers @ p.site_cost
    cheapest = covers[np.isclose(costs, costs.min())]
    fewest = int(cheapest.sum(axis=1).min())
    out = solve_coverage(p, strategy="hybrid", options=SolveOptions(time_limit_s=20))
    assert out.objective == pytest.approx(costs.min())
    assert int(out.open_sites.sum()) == fewest
