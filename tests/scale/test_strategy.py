"""solve_coverage: every strategy returns a feasible plan in the original site space with a valid bound."""
from __future__ import annotations

import numpy as np
import pytest

from siting.backends import Termination
from siting.options import SolveOptions
from siting.problem import ModelType
from siting.strategy import Strategy, choose_strategy, solve_coverage

from .helpers import brute_force, feasible, random_problem, value


@pytest.mark.parametrize("strategy", ["exact", "hybrid", "heuristic", "auto"])
@pytest.mark.parametrize("model", list(ModelType))
@pytest.mark.parametrize("seed", range(5))
def test_strategies_against_brute_force(strategy, model, seed):
    p = random_problem(100 + seed, model=model, n_demand=30, n_sites=10)
    best, _ = brute_force(p)
    out = solve_coverage(p, strategy=strategy, options=SolveOptions(time_limit_s=20, seed=seed))
    assert out.stats["strategy"] in {"exact", "hybrid", "heuristic"}
    assert "presolve" in out.stats and "merge_identical_rows" in out.stats["presolve"]
    if best is None:
        assert out.termination == Termination.INFEASIBLE or out.open_sites is None
        return
    assert out.open_sites is not None and out.open_sites.shape == (p.n_sites,)
    assert feasible(p, out.open_sites)
    assert out.objective == pytest.approx(value(p, out.open_sites))
    assert out.bound is not None
    if model == ModelType.MCLP:
        assert out.bound >= best - 1e-6 and out.objective <= best + 1e-9
    else:
        assert out.bound <= best + 1e-6 and out.objective >= best - 1e-9
    if strategy in ("exact", "hybrid", "auto"):
        assert out.objective == pytest.approx(best)
        assert out.termination == Termination.OPTIMAL
    # the project's one gap: relative to the plan's own value
    assert out.stats["gap"] == pytest.approx(abs(out.bound - out.objective) / max(abs(out.objective), 1e-9))


def test_infeasible_fixed_sites_over_budget():
    p = random_problem(1, model=ModelType.MCLP)
    p = p.with_(fixed_open=np.ones(p.n_sites, bool) & ~p.fixed_closed, budget=1.0)
    out = solve_coverage(p, strategy="heuristic")
    assert out.termination == Termination.INFEASIBLE and out.open_sites is None


def test_auto_picks_exact_for_small():
    p = random_problem(2)
    assert choose_strategy(p) == Strategy.EXACT


def test_partial_unreachable_target_is_infeasible():
    p = random_problem(5, model=ModelType.PARTIAL)
    p = p.with_(target_coverage=0.999)
    best, _ = brute_force(p)
    assert best is None
    for strategy in ("heuristic", "exact"):
        out = solve_coverage(p, strategy=strategy)
        assert out.termination == Termination.INFEASIBLE and out.open_sites is None


class _Recording:
    """The HiGHS backend, recording the time limit of every MIP it is handed."""

    name = "highs"

    def __init__(self):
        from siting.backends import get_backend

        self.inner = get_backend("highs")
        self.limits = []

    def solve(self, program, options, **kw):
        self.limits.append(options.time_limit_s)
        return self.inner.solve(program, options, **kw)


@pytest.mark.parametrize("strategy", ["exact", "hybrid", "auto"])
def test_mip_gets_only_what_is_left_of_the_time_limit(strategy):
    p = random_problem(7, n_demand=60, n_sites=14, density=0.2)
    rec = _Recording()
    limit = 5.0
    out = solve_coverage(p, backend=rec, strategy=strategy,
                         options=SolveOptions(time_limit_s=limit, mip_gap=0.0),
                         lagrangian_iterations=3)   # too few to certify: the MIP must run
    assert rec.limits, "the MIP never ran"
    assert all(0 < t <= limit - out.stats["presolve_seconds"] for t in rec.limits)
