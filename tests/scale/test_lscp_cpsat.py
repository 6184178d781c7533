"""LSCP's CP-SAT stage: integral cost scales, exact answers in the problem's units, the stage order and options."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from siting.backends.ortools_params import sat_parameters
from siting.errors import SolverError
from siting.options import SolveOptions
from siting.problem import CoverageProblem, ModelType
from siting.status import Termination
from siting.strategy import lscp_stages as lscp_mod
from siting.strategy import solve_coverage
from siting.strategy.lscp_stages import _scaled, integral_cost_scale, lscp_stages

from .helpers import ScriptedOrtools, random_incidence

pytest.importorskip("ortools")


def _cover(a: np.ndarray, cost, budget=None, fixed_open=None, fixed_closed=None) -> CoverageProblem:
    n = a.shape[1]
    return CoverageProblem(ModelType.LSCP, sp.csr_matrix(a), np.ones(a.shape[0]), np.asarray(cost, float),
                           np.zeros(n, bool) if fixed_open is None else fixed_open,
                           np.zeros(n, bool) if fixed_closed is None else fixed_closed,
                           np.ones(n, bool), budget=budget, total_weight=float(a.shape[0]))


def _cheapest(p: CoverageProblem) -> float | None:
    a = p.coverage.toarray().astype(int)
    grid = np.array(list(itertools.product((0, 1), repeat=p.n_sites)), dtype=bool)
    ok = ((a @ grid.T) > 0).all(axis=0) & ~(grid & p.fixed_closed).any(axis=1) & (grid | ~p.fixed_open).all(axis=1)
    costs = grid[ok] @ p.site_cost
    if p.budget is not None:
        costs = costs[costs <= p.budget + 1e-9]
    return float(costs.min()) if costs.size else None


@pytest.mark.parametrize("cost, scale", [
    ([3.0, 12.0, 1.0], 1.0), ([0.5, 2.0, 1.0], 10.0), ([1.25, 3.5, 2.0], 100.0), ([0.125, 1.0, 2.0], 1000.0),
    ([1 / 3, 1.0, 2.0], None), ([123.45 * 3500, 1.0, 2.0], 1.0), ([np.nan, 1.0, 2.0], None),
    ([1e15, 1e15, 1.0], None), ([2.5, 2.5, 2.5], 0.4),
])
def test_the_smallest_power_of_ten_that_makes_costs_integral(cost, scale):
    assert integral_cost_scale(_cover(np.eye(3, dtype=bool), cost)) == scale


def test_scaling_keeps_the_budget_exact():
    p = _cover(np.eye(3, dtype=bool), [1.25, 3.5, 2.0], budget=6.759)
    q = _scaled(p, 100.0)
    assert q.site_cost.tolist() == [125.0, 350.0, 200.0] and q.budget == 675.0   # floor: integer costs below 675.9
    assert _scaled(p.with_(budget=0.07 * 3), 100.0).budget == 21.0               # 21.000000000000004 is 21
    # a large budget's fraction is floored, not rounded up within a relative tolerance (5e11 + 0.6 fen is 5e11)
    big = _cover(np.eye(3, dtype=bool), [2e9, 3e9, 1e9], budget=5e9 + 0.006)
    assert _scaled(big, 100.0).budget == 5e11
    # required sites cost nothing in the scaled cover; the budget left for the others is what is scaled
    q = _scaled(p.with_(fixed_open=np.array([True, False, False]), budget=6.759), 100.0)
    assert q.site_cost.tolist() == [0.0, 350.0, 200.0] and q.budget == 550.0


def test_equal_costs_are_about_the_sites_the_mip_decides():
    open_, closed = np.array([True, False, False, False]), np.array([False, False, False, True])
    p = _cover(np.eye(4, dtype=bool), [9.0, 2.5, 2.5, 1.0], fixed_open=open_, fixed_closed=closed)
    assert lscp_mod.equal_costs(p) and integral_cost_scale(p) == 0.4
    assert not lscp_mod.equal_costs(p.with_(fixed_closed=np.zeros(4, bool)))
    assert not lscp_mod.equal_costs(_cover(np.eye(2, dtype=bool), [0.0, 0.0]))


@pytest.mark.parametrize("seed", range(20))
def test_the_stages_find_the_cheapest_cover(seed):
    rng = np.random.default_rng(seed)
    a = random_incidence(rng)
    n_s = a.shape[1]
    kind = seed % 5
    cost = [np.ones(n_s), rng.integers(1, 9, n_s) * 1.0, rng.integers(1, 900, n_s) / 100.0,
            rng.integers(1, 9, n_s) / 3.0, np.full(n_s, 7 / 3)][kind]
    fixed_open = rng.random(n_s) < (0.1 if kind < 4 else 0.3)
    fixed_closed = ~fixed_open & (rng.random(n_s) < 0.1)
    if kind == 4:   # equal costs on the free sites, others on the required ones
        cost[fixed_open] = rng.integers(1, 9, int(fixed_open.sum())) / 4.0
    p = _cover(a, cost, fixed_open=fixed_open, fixed_closed=fixed_closed)
    if not (a[:, ~fixed_closed].any(axis=1)).all():
        p = p.with_(fixed_closed=np.zeros(n_s, bool))
    if seed % 3 == 0:
        p = p.with_(budget=float(np.sort(p.site_cost)[-3:].sum()) + 0.005)
    best = _cheapest(p)
    stats: dict = {}
    out = lscp_stages(p, "highs", SolveOptions(time_limit_s=20), None, stats)
    if best is None:
        assert out.termination is Termination.INFEASIBLE
        return
    assert out.objective == pytest.approx(best) and p.cost_of(out.open_sites) == pytest.approx(best)
    assert out.bound is not None and out.bound <= best + 1e-6 and out.termination is Termination.OPTIMAL
    assert p.covered_mask(out.open_sites).all() and not (out.open_sites & p.fixed_closed).any()
    assert (out.open_sites | ~p.fixed_open).all()
    if fixed_open.all() or not (~fixed_open & ~p.fixed_closed).any():
        return
    assert stats["mip_quick"]["method"] == ("cp_sat (core)" if kind in (0, 4) else "scip without cuts")


def _decimal_unit_problem(n: int = 4) -> CoverageProblem:
    return _cover(np.eye(n, dtype=bool), np.full(n, 2.5))


def test_cp_sat_first_in_scaled_units_then_scip_from_its_plan():
    backend = ScriptedOrtools([(Termination.TIME_LIMIT, 4.0, 3.5), (Termination.TIME_LIMIT, None, 9.0)])
    stats: dict = {}
    out = lscp_stages(_decimal_unit_problem(), backend, SolveOptions(time_limit_s=10), None, stats)
    first, second = backend.seen
    assert first[0] == {"solver": "cp_sat", "cp_sat_params": lscp_mod.LSCP_CPSAT_PARAMS}
    assert first[3].objective.tolist() == [1.0] * 4                      # equal costs go to CP-SAT as 1 each
    assert first[1] == pytest.approx(10 * lscp_mod.LSCP_CPSAT_SHARE) and 9.0 < second[1] < 10.0
    assert second[0]["scip_params"] == lscp_mod.LSCP_SCIP_PARAMS and "cuts" not in second[0]
    assert second[2] is not None and second[2].sum() == 4                # CP-SAT's plan starts SCIP
    # the plan is valued on the problem (4 sites x 2.5), the bound of 3.5 sites is 8.75; SCIP's 9.0 is tighter
    assert out.objective == 10.0 and out.bound == 9.0 and stats["mip_quick"]["bound"] == 8.75


def test_a_cp_sat_proof_ends_the_mip():
    backend = ScriptedOrtools([(Termination.OPTIMAL, 4.0, 4.0)])
    out = lscp_stages(_decimal_unit_problem(), backend, SolveOptions(time_limit_s=10), None, {})
    assert len(backend.seen) == 1 and out.termination is Termination.OPTIMAL and out.bound == 10.0


def test_cp_sat_as_the_users_engine_is_one_stage_with_the_users_parameters_on_top():
    backend = ScriptedOrtools([(Termination.TIME_LIMIT, 4.0, 3.0)])
    options = SolveOptions(time_limit_s=10, backend_options={
        "ortools": {"solver": "cp_sat", "cp_sat_params": {"num_workers": 1}, "presolve": "off"}})
    out = lscp_stages(_decimal_unit_problem(), backend, options, None, {})
    (seen, limit, _, program), = backend.seen
    assert seen == {"solver": "cp_sat", "presolve": "off",
                    "cp_sat_params": {**lscp_mod.LSCP_CPSAT_PARAMS, "num_workers": 1}}
    assert limit == 10 and program.objective.tolist() == [1.0] * 4 and out.bound == pytest.approx(7.5)


def test_cp_sat_as_the_users_engine_scales_unequal_costs_by_powers_of_ten():
    backend = ScriptedOrtools([(Termination.TIME_LIMIT, 2.0, 300.0)])
    options = SolveOptions(time_limit_s=10, backend_options={"ortools": {"solver": "cp_sat"}})
    out = lscp_stages(_cover(np.eye(3, dtype=bool), [1.25, 3.5, 2.0]), backend, options, None, {})
    assert backend.seen[0][3].objective.tolist() == [125.0, 350.0, 200.0] and out.bound == pytest.approx(3.0)
    # unequal costs get the portfolio (the core search alone has no bound on weighted covers), equal costs the core
    assert backend.seen[0][0]["cp_sat_params"] == lscp_mod.LSCP_CPSAT_PORTFOLIO
    assert out.method == "cp_sat (core + max_lp)"
    assert lscp_mod.LSCP_CPSAT_PARAMS["subsolvers"] == ["core"]


def test_the_users_threads_are_cp_sat_workers():
    backend = ScriptedOrtools([(Termination.OPTIMAL, 4.0, 4.0)])
    lscp_stages(_decimal_unit_problem(), backend, SolveOptions(time_limit_s=10, threads=2), None, {})
    assert "num_workers" not in backend.seen[0][0]["cp_sat_params"]


def test_without_a_limit_cp_sat_runs_to_its_end():
    backend = ScriptedOrtools([(Termination.OPTIMAL, 4.0, 4.0)])
    lscp_stages(_decimal_unit_problem(), backend, SolveOptions(), None, {})
    assert backend.seen[0][1] is None


def test_cp_sat_parameters_by_name_and_their_errors():
    proto = sat_parameters({"subsolvers": ["core", "max_lp"], "num_workers": 3, "search_branching": "LP_SEARCH"})
    assert list(proto.subsolvers) == ["core", "max_lp"] and proto.num_workers == 3
    for bad, says in [({"num_workrs": 3}, "no field named \"num_workrs\""), ({"subsolvers": "core"}, "subsolvers"),
                      ({"search_branching": "BEST"}, "BEST"), (["core"], "table of CP-SAT parameter names")]:
        with pytest.raises(SolverError, match=says) as err:
            sat_parameters(bad)
        assert "\n" not in str(err.value)
    with pytest.raises(SolverError, match="Did you mean 'num_workrs' -> 'num_workers'"):
        sat_parameters({"num_workrs": 3})
    with pytest.raises(SolverError) as err:          # nothing near: no suggestion
        sat_parameters({"zzqqxx": 3})
    assert "Did you mean" not in str(err.value)


def test_a_wrong_cp_sat_parameter_is_named_by_the_solve():
    p = _cover(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], bool), np.ones(3))   # an odd cycle: presolve leaves it
    options = SolveOptions(backend_options={"ortools": {"solver": "cp_sat", "cp_sat_params": {"nope": 1}}})
    with pytest.raises(SolverError, match="cp_sat_params.*nope") as err:
        solve_coverage(p, backend="ortools", strategy="exact", options=options)
    assert "subsolvers" not in str(err.value)        # the user's names only, not the project's defaults
    options = SolveOptions(backend_options={"ortools": {"solver": "scip", "cp_sat_params": {"num_workers": 1}}})
    with pytest.raises(SolverError, match="for the cp_sat engine"):
        solve_coverage(p, backend="ortools", strategy="exact", options=options)


def test_whole_fen_are_told_by_float_steps_not_by_a_relative_tolerance():
    assert integral_cost_scale(_cover(np.eye(3, dtype=bool), [80000000.416, 1.0, 2.0])) == 1000.0
    assert integral_cost_scale(_cover(np.eye(3, dtype=bool), [80000000.41, 1.0, 2.0])) == 100.0


def test_a_failing_cp_sat_stage_leaves_the_backend_the_whole_time(monkeypatch):
    def broken(*args, **kwargs):
        raise SolverError("ortools/cp_sat: cp-sat solver returned MODEL_INVALID")

    monkeypatch.setattr(lscp_mod, "_cp_sat_stage", broken)
    backend = ScriptedOrtools([(Termination.OPTIMAL, 4.0, 4.0)])
    backend.name = "highs"
    stats: dict = {}
    out = lscp_stages(_decimal_unit_problem(), backend, SolveOptions(time_limit_s=10), None, stats)
    assert len(backend.seen) == 1 and backend.seen[0][1] == 10 and out.termination is Termination.OPTIMAL
    assert stats["mip_quick"]["termination"] == "error" and "MODEL_INVALID" in stats["mip_quick"]["message"]


@pytest.mark.parametrize("limit, cp_sat", [(2.0, False), (10.0, True)])
def test_no_cp_sat_stage_shorter_than_a_child_process_start(monkeypatch, limit, cp_sat):
    monkeypatch.setattr(lscp_mod, "CHILD_MIN_ENTRIES", 0)     # every cover goes to a child process
    backend = ScriptedOrtools([(Termination.TIME_LIMIT, 4.0, 3.0), (Termination.TIME_LIMIT, 4.0, 3.0)])
    lscp_stages(_decimal_unit_problem(), backend, SolveOptions(time_limit_s=limit), None, {})
    assert any("cp_sat_params" in seen[0] for seen in backend.seen) == cp_sat


@pytest.mark.parametrize("key, empty", [("cp_sat_params", ""), ("cp_sat_params", []), ("scip_params", "")])
def test_empty_engine_tables_are_errors_not_ignored(key, empty):
    p = _cover(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], bool), np.ones(3))
    solver = "cp_sat" if key == "cp_sat_params" else "scip"
    options = SolveOptions(backend_options={"ortools": {"solver": solver, key: empty}})
    with pytest.raises(SolverError, match="must be a table"):
        solve_coverage(p, backend="ortools", strategy="exact", options=options)
