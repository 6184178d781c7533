"""Review of LSCP's CP-SAT stage (b6e691f, equal costs only since 4542542): exactness against brute force, scaled
budgets at their edges, CP-SAT parameters in the child process, and the Chinese texts of the new errors.

Failing on 4542542 (fixes in the review report): a budget far above every plan's cost once scaled (1e25 yuan on sites
of 1 yuan, or any budget on sites of 1e-300) made CP-SAT refuse the model (SolverError "MODEL_INVALID"), an equal
cost below 1 / max double an OverflowError; the three new SolverError texts had no Chinese line.
"""
from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
import scipy.sparse as sp

from siting.errors import SolverError
from siting.i18n.messages import load_catalog
from siting.options import SolveOptions
from siting.problem import CoverageProblem, ModelType
from siting.status import Termination
from siting.strategy import solve_coverage
from siting.strategy.lscp_stages import _scaled, integral_cost_scale, lscp_stages

from .helpers import random_incidence

pytest.importorskip("ortools")


def _cover(a: np.ndarray, cost, *, budget=None, max_sites=None, fixed_open=None, fixed_closed=None) -> CoverageProblem:
    n = a.shape[1]
    return CoverageProblem(ModelType.LSCP, sp.csr_matrix(a), np.ones(a.shape[0]), np.asarray(cost, float),
                           np.zeros(n, bool) if fixed_open is None else fixed_open,
                           np.zeros(n, bool) if fixed_closed is None else fixed_closed,
                           np.ones(n, bool), budget=budget, max_sites=max_sites, total_weight=float(a.shape[0]))


def _cycle(n: int) -> np.ndarray:
    """Rows {i, i+1} of an odd cycle: presolve removes nothing, and the cheapest cover opens (n + 1) / 2 sites."""
    a = np.zeros((n, n), bool)
    a[np.arange(n), np.arange(n)] = a[np.arange(n), (np.arange(n) + 1) % n] = True
    return a


def _cheapest(p: CoverageProblem) -> float | None:
    """Brute force over every plan, the budget read with the verifier's tolerance (siting.rules.REL_TOL)."""
    grid = np.array(list(itertools.product((False, True), repeat=p.n_sites)))
    a = p.coverage.toarray().astype(int)
    ok = ((a @ grid.T) > 0).all(axis=0) & ~(grid & p.fixed_closed).any(axis=1) & (grid | ~p.fixed_open).all(axis=1)
    if p.max_sites is not None:
        ok &= (grid & p.counts_toward_limit).sum(axis=1) <= p.max_sites
    costs = np.array([p.cost_of(x) for x in grid[ok]])
    if p.budget is not None and costs.size:
        costs = costs[costs <= p.budget * (1 + 1e-9) + 1e-12]
    return float(costs.min()) if costs.size else None


def _check(p: CoverageProblem, out, best: float | None) -> None:
    if best is None:
        assert out.termination is Termination.INFEASIBLE and out.open_sites is None
        return
    x = out.open_sites
    assert x is not None and p.covered_mask(x).all() and not (x & p.fixed_closed).any() and (x | ~p.fixed_open).all()
    assert out.objective == pytest.approx(p.cost_of(x), rel=1e-12) == pytest.approx(best, rel=1e-9)
    if p.budget is not None:
        assert p.cost_of(x) <= p.budget * (1 + 1e-9) + 1e-12
    assert out.bound is not None and out.bound <= best * (1 + 1e-9) + 1e-12
    assert out.termination is Termination.OPTIMAL


UNIT_COSTS = (1.0, 2.5, 7 / 3, 0.1, 0.07, 1e-3, 1e12)


@pytest.mark.parametrize("seed", range(21))
def test_the_cp_sat_stage_against_brute_force(seed):
    """Equal costs of every kind, required sites of other costs, budgets at, just below and between the plans'."""
    rng = np.random.default_rng(seed)
    a = random_incidence(rng, (8, 24), (6, 11))
    n_s = a.shape[1]
    unit = UNIT_COSTS[seed % len(UNIT_COSTS)]
    fixed_open = rng.random(n_s) < 0.25
    fixed_closed = ~fixed_open & (rng.random(n_s) < 0.1)
    if not a[:, ~fixed_closed].any(axis=1).all():
        fixed_closed[:] = False
    cost = np.full(n_s, unit)
    cost[fixed_open] = rng.integers(1, 9, int(fixed_open.sum())) * unit / 4
    p = _cover(a, cost, fixed_open=fixed_open, fixed_closed=fixed_closed)
    free = int((~fixed_open & ~fixed_closed).sum())
    optimum = _cheapest(p)
    assert optimum is not None
    kind = seed % 3
    if kind == 0:     # the optimum's own cost, a sum of floats (0.1 * 3 > 0.3): near-integral once scaled
        p = p.with_(budget=float(sum([unit] * round((optimum - cost[fixed_open].sum()) / unit)))
                    + float(cost[fixed_open].sum()))
    elif kind == 1:   # one site short of the optimum (infeasible), or a fractional number of sites
        p = p.with_(budget=optimum - unit * (1.0 if seed % 2 else rng.uniform(0.1, 0.9)))
    else:             # a limit on the number of sites
        p = p.with_(max_sites=int(rng.integers(1, n_s)))
    stats: dict = {}
    out = lscp_stages(p, "highs", SolveOptions(time_limit_s=20), None, stats)
    _check(p, out, _cheapest(p))
    if free:
        assert stats["mip_quick"]["method"] == "cp_sat (core)"


@pytest.mark.parametrize("strategy", ["auto", "hybrid"])
@pytest.mark.parametrize("unit", [2.5, 0.1])
def test_whole_solves_of_odd_cycles(strategy, unit):
    """Through presolve, heuristics and the MIP phase: two odd cycles, one required site of another cost."""
    a = np.zeros((14, 14), bool)
    a[:7, :7], a[7:, 7:] = _cycle(7), _cycle(7)
    cost = np.full(14, unit)
    cost[0] = 3 * unit
    fixed_open = np.arange(14) == 0
    for budget in (None, 3 * unit + 7 * unit, 3 * unit + 6.5 * unit):
        p = _cover(a, cost, budget=budget, fixed_open=fixed_open)
        out = solve_coverage(p, backend="highs", strategy=strategy, options=SolveOptions(time_limit_s=20))
        _check(p, out, _cheapest_by_cycles(unit, budget))


def _cheapest_by_cycles(unit: float, budget: float | None) -> float | None:
    # site 0 (3 units, required) covers two rows of the first cycle: 3 more sites there, 4 in the second
    best = 3 * unit + 7 * unit
    return best if budget is None or best <= budget * (1 + 1e-9) else None


@pytest.mark.parametrize("unit, budget", [(1.0, 1e20), (1.0, 1e25), (2.5, 1e300), (1e-300, 1.0),
                                          (1.0, -1e300)])
def test_budgets_far_from_every_plan_once_scaled(unit, budget):
    """Failed on 4542542: CP-SAT's "MODEL_INVALID" for huge scaled budget bounds (a SolverError ends the solve)."""
    p = _cover(_cycle(5), np.full(5, unit), budget=budget)
    out = lscp_stages(p, "highs", SolveOptions(time_limit_s=20), None, {})
    _check(p, out, None if budget < 0 else 3 * unit)
    q = _scaled(p, integral_cost_scale(p))
    assert -1.0 <= q.budget <= 6.0    # one past the dearest (cheapest) plan: the same constraint


def test_a_cost_too_small_to_scale_gets_the_other_stage():
    """Failed on 4542542: 1 / 1e-310 is infinite, the scaled budget too (OverflowError in math.floor)."""
    p = _cover(_cycle(5), np.full(5, 1e-310), budget=1.0)
    stats: dict = {}
    out = lscp_stages(p, "highs", SolveOptions(time_limit_s=20), None, stats)
    assert stats["mip_quick"]["method"] == "scip without cuts" and out.objective == pytest.approx(3e-310)
    assert integral_cost_scale(p) is None


def test_cp_sat_parameters_reach_the_child_process():
    """Covers of >= 20,000 sites + nonzeros run in a child under a limit; a wrong name comes back as one line."""
    rng = np.random.default_rng(0)
    n_d, n_s, per_row = 2_500, 600, 8
    cols = rng.integers(0, n_s, size=(n_d, per_row))
    a = sp.csr_matrix((np.ones(n_d * per_row, bool), (np.repeat(np.arange(n_d), per_row), cols.ravel())),
                      shape=(n_d, n_s))
    p = CoverageProblem(ModelType.LSCP, a, np.ones(n_d), np.ones(n_s), np.zeros(n_s, bool), np.zeros(n_s, bool),
                        np.ones(n_s, bool), total_weight=float(n_d))
    assert p.n_sites + p.coverage.nnz >= 20_000
    options = SolveOptions(time_limit_s=20, backend_options={
        "ortools": {"solver": "cp_sat", "cp_sat_params": {"num_wrkers": 2}}})
    started = time.perf_counter()
    with pytest.raises(SolverError, match="num_wrkers") as err:
        lscp_stages(p, "ortools", options, None, {})
    assert "\n" not in str(err.value) and time.perf_counter() - started < 15


def test_the_new_solver_errors_have_chinese_texts():
    catalog = load_catalog("zh")
    for template in ("ortools: bad cp_sat_params {cp_sat_params}: {reason}",
                     "ortools: cp_sat_params are for the cp_sat engine, not {engine}",
                     "ortools: cp_sat_params must be a table of CP-SAT parameter names, got {cp_sat_params}"):
        assert template in catalog and "{" in catalog[template]
