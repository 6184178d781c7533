"""Random small coverage problems and brute-force optima for the scale tests."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from siting.backends.base import BackendSolution
from siting.problem import CoverageProblem, ModelType


def random_problem(seed: int, *, model: ModelType = ModelType.MCLP, n_demand: int = 25, n_sites: int = 9,
                   density: float = 0.25, fixed: bool = True, unit_cost: bool = False, budget_share: float = 0.35,
                   max_sites: int | None = 3, dup_rows: bool = True) -> CoverageProblem:
    rng = np.random.default_rng(seed)
    a = rng.random((n_demand, n_sites)) < density
    if dup_rows:  # some identical rows and a few dominated columns
        a[: n_demand // 4] = a[n_demand // 4: 2 * (n_demand // 4)]
        a[:, 0] = a[:, 0] & a[:, 1]
    a[-1] = False  # an uncoverable row
    w = rng.integers(1, 20, n_demand).astype(float)
    cost = np.ones(n_sites) if unit_cost else rng.integers(1, 6, n_sites).astype(float)
    fixed_open = np.zeros(n_sites, bool)
    fixed_closed = np.zeros(n_sites, bool)
    counts = np.ones(n_sites, bool)
    if fixed:
        fixed_open[2] = True
        fixed_closed[3] = True
        counts[4] = False
        cost[4] = 0.0
        fixed_open[4] = rng.random() < 0.5
    budget = float(np.round(cost.sum() * budget_share)) if budget_share is not None else None
    target = 0.6 if model == ModelType.PARTIAL else None
    if model != ModelType.MCLP:
        budget = None if model == ModelType.LSCP else budget
    return CoverageProblem(model, sp.csr_matrix(a), w, cost, fixed_open, fixed_closed, counts,
                           budget=budget, max_sites=max_sites if model == ModelType.MCLP else None,
                           target_coverage=target, total_weight=float(w.sum()))


def feasible(problem: CoverageProblem, x: np.ndarray, tol: float = 1e-9) -> bool:
    if (x & problem.fixed_closed).any() or (problem.fixed_open & ~x).any():
        return False
    if problem.budget is not None and problem.cost_of(x) > problem.budget + tol:
        return False
    if problem.max_sites is not None and int((x & problem.counts_toward_limit).sum()) > problem.max_sites:
        return False
    if problem.model == ModelType.LSCP:
        coverable = (problem.coverage @ (~problem.fixed_closed).astype(np.int64)) > 0
        return bool(problem.covered_mask(x)[coverable].all())
    if problem.model == ModelType.PARTIAL:
        return problem.covered_weight(x) >= problem.target_coverage * problem.total_weight - 1e-9
    return True


def value(problem: CoverageProblem, x: np.ndarray) -> float:
    """Independent of ``CoverageProblem.value_of``: the weight of rows hit by ``x``, or the plan's cost."""
    if problem.model == ModelType.MCLP:
        hit = np.asarray(problem.coverage[:, np.flatnonzero(x)].sum(axis=1)).ravel() > 0
        return float(problem.demand_weight[hit].sum()) + problem.base_covered_weight
    return float(problem.site_cost[x].sum())


def check_against_brute_force(problem: CoverageProblem, strategy: str, time_limit_s: float = 20.0) -> None:
    """Solve ``problem`` with ``strategy`` and check plan, value and bound against :func:`brute_force`'s optimum."""
    from siting.options import SolveOptions
    from siting.strategy import solve_coverage

    best, _ = brute_force(problem)
    out = solve_coverage(problem, strategy=strategy, options=SolveOptions(time_limit_s=time_limit_s))
    if best is None:
        assert not out.has_solution
        return
    assert out.has_solution and feasible(problem, out.open_sites)
    assert out.objective == pytest.approx(value(problem, out.open_sites))
    assert out.bound is not None and out.bound <= best + 1e-6
    assert out.objective == pytest.approx(best)


def brute_force(problem: CoverageProblem) -> tuple[float | None, np.ndarray | None]:
    """Optimal value and plan by enumerating all 2^n plans (n <= 16)."""
    n = problem.n_sites
    best, best_x = None, None
    for bits in itertools.product((False, True), repeat=n):
        x = np.array(bits, bool)
        if not feasible(problem, x):
            continue
        v = value(problem, x)
        better = best is None or (v > best + 1e-9 if problem.model == ModelType.MCLP else v < best - 1e-9)
        if better:
            best, best_x = v, x
    return best, best_x


def random_incidence(rng: np.random.Generator, n_demand: tuple[int, int] = (8, 30),
                     n_sites: tuple[int, int] = (6, 12)) -> np.ndarray:
    """A random dense 0/1 cover of a size drawn from the ranges, rows no site covers dropped."""
    n_d, n_s = int(rng.integers(*n_demand)), int(rng.integers(*n_sites))
    a = rng.random((n_d, n_s)) < rng.uniform(0.15, 0.4)
    return a[a.any(axis=1)]


class ScriptedOrtools:
    """A backend named ``ortools`` that answers from a script of ``(termination, value, bound)``.

    It records for each call the ortools options, the time limit, the warm start and the program; a value ``v``
    comes back as the plan that opens the first ``v`` columns.
    """

    name = "ortools"

    def __init__(self, answers):
        self.answers = list(answers)
        self.seen = []

    def solve(self, program, options, *, warm_start=None):
        self.seen.append((dict(options.for_backend("ortools")), options.time_limit_s, warm_start, program))
        termination, value, bound = self.answers.pop(0)
        x = None if value is None else np.r_[np.ones(int(value)), np.zeros(program.n_cols - int(value))]
        return BackendSolution(termination, x, value, bound, 0.5, "ortools")
