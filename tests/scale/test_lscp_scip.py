"""LSCP on SCIP (the stages covers with non-integral costs get): no cuts, then cuts; SCIP's own parameters."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from siting.backends.ortools_params import gscip_parameters as _gscip_parameters
from siting.errors import SolverError
from siting.options import SolveOptions
from siting.problem import CoverageProblem, ModelType
from siting.status import Termination
from siting.strategy import lscp_stages as lscp_mod
from siting.strategy import mip, solve_coverage
from siting.strategy.lscp_stages import lscp_stages as _lscp_stages

from .helpers import ScriptedOrtools

pytest.importorskip("ortools")


@pytest.fixture(autouse=True)
def _scip_stage(monkeypatch):
    """These tests are about the SCIP stages, which covers CP-SAT cannot take exactly (non-integral costs) get."""
    monkeypatch.setattr(lscp_mod, "integral_cost_scale", lambda problem: None)


def _instance(seed: int) -> CoverageProblem:
    rng = np.random.default_rng(seed)
    n_d, n_s = int(rng.integers(8, 30)), int(rng.integers(6, 12))
    a = rng.random((n_d, n_s)) < rng.uniform(0.15, 0.4)
    a = a[a.any(axis=1)]
    cost = rng.integers(1, 6, n_s).astype(float) if seed % 2 else np.ones(n_s)
    w = rng.integers(1, 9, a.shape[0]).astype(float)
    return CoverageProblem(ModelType.LSCP, sp.csr_matrix(a), w, cost, np.zeros(n_s, bool), np.zeros(n_s, bool),
                           np.ones(n_s, bool), total_weight=float(w.sum()))


def _cheapest(p: CoverageProblem) -> float:
    a = p.coverage.toarray().astype(int)
    grid = np.array(list(itertools.product((0, 1), repeat=p.n_sites)))
    covers = grid[((a @ grid.T) > 0).all(axis=0)]
    return float((covers @ p.site_cost).min())


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("quick_share", [0.5, 0.0])
@pytest.mark.parametrize("backend", ["ortools", "highs"])
def test_two_stages_find_the_cheapest_cover(seed, quick_share, backend, monkeypatch):
    # a 0 s quick stage has no time to run and the backend's MIP (SCIP: with cuts) must finish the job
    monkeypatch.setattr(lscp_mod, "LSCP_QUICK_SHARE", quick_share)
    p = _instance(seed)
    out = solve_coverage(p, backend=backend, strategy="hybrid", options=SolveOptions(time_limit_s=20))
    best = _cheapest(p)
    assert out.objective == pytest.approx(best)
    assert out.bound is not None and out.bound <= best + 1e-6
    a = p.coverage.toarray()
    assert a[:, out.open_sites].any(axis=1).all()


def _unit_problem(n_sites: int = 4) -> CoverageProblem:
    a = sp.csr_matrix(np.eye(n_sites, dtype=bool))
    return CoverageProblem(ModelType.LSCP, a, np.ones(n_sites), np.ones(n_sites), np.zeros(n_sites, bool),
                           np.zeros(n_sites, bool), np.ones(n_sites, bool), total_weight=float(n_sites))


def test_stages_keep_the_tighter_bound_and_the_better_plan():
    backend = ScriptedOrtools([(Termination.TIME_LIMIT, 4.0, 3.5), (Termination.TIME_LIMIT, None, 2.0)])
    stats: dict = {}
    out = _lscp_stages(_unit_problem(), backend, SolveOptions(time_limit_s=10), None, stats)
    first, second = backend.seen
    assert first[0]["cuts"] == "off" and "cuts" not in second[0]
    assert first[0]["scip_params"] == second[0]["scip_params"] == lscp_mod.LSCP_SCIP_PARAMS
    assert first[1] == pytest.approx(10 * lscp_mod.LSCP_QUICK_SHARE) and 9.0 < second[1] < 10.0         # what the first stage left
    assert second[2] is not None and second[2].sum() == 4        # the first stage's plan starts the second
    assert out.objective == 4.0 and out.bound == 3.5 and out.open_sites.sum() == 4
    assert stats["mip_quick"]["termination"] == "time_limit"


def test_a_proof_without_cuts_ends_the_mip():
    backend = ScriptedOrtools([(Termination.OPTIMAL, 4.0, 4.0)])
    out = _lscp_stages(_unit_problem(), backend, SolveOptions(time_limit_s=10), None, {})
    assert len(backend.seen) == 1 and out.termination is Termination.OPTIMAL


def test_the_users_cuts_and_scip_params_win():
    backend = ScriptedOrtools([(Termination.OPTIMAL, 4.0, 4.0)])
    options = SolveOptions(time_limit_s=10, backend_options={
        "ortools": {"cuts": "aggressive", "scip_params": {"branching/pscost/priority": 1, "limits/nodes": 9}}})
    _lscp_stages(_unit_problem(), backend, options, None, {})
    (seen, limit, _, _), = backend.seen
    assert seen["cuts"] == "aggressive" and limit == 10
    assert seen["scip_params"] == {"branching/pscost/priority": 1, "limits/nodes": 9}


def test_scip_parameters_by_type_and_their_errors():
    proto = _gscip_parameters({"a/int": 3, "a/bool": True, "a/real": 0.5, "a/str": "xy", "a/char": "x",
                               "limits/nodes": 7})
    assert dict(proto.int_params) == {"a/int": 3} and dict(proto.bool_params) == {"a/bool": True}
    assert dict(proto.real_params) == {"a/real": 0.5} and dict(proto.string_params) == {"a/str": "xy"}
    assert dict(proto.char_params) == {"a/char": "x"} and dict(proto.long_params) == {"limits/nodes": 7}
    with pytest.raises(SolverError, match="not a bool, int, float or string"):
        _gscip_parameters({"a/list": [1]})
    with pytest.raises(SolverError, match="table of SCIP parameter names"):
        _gscip_parameters(["a"])


def test_a_wrong_scip_parameter_is_named():
    a = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], bool))   # an odd cycle: presolve leaves it
    p = CoverageProblem(ModelType.LSCP, a, np.ones(3), np.ones(3), np.zeros(3, bool), np.zeros(3, bool),
                        np.ones(3, bool), total_weight=3.0)
    options = SolveOptions(backend_options={"ortools": {"scip_params": {"no/such/parameter": 3}}})
    with pytest.raises(SolverError, match="no/such/parameter"):
        solve_coverage(p, backend="ortools", strategy="exact", options=options)
    options = SolveOptions(backend_options={"ortools": {"cuts": "aggressive"}})
    with pytest.raises(SolverError, match="cuts = 'aggressive'; choose one of off, low, medium, high, very_high"):
        solve_coverage(p, backend="ortools", strategy="exact", options=options)
    options = SolveOptions(backend_options={"ortools": {"solver": "highs", "scip_params": {"a": 1}}})
    with pytest.raises(SolverError, match="for the scip engine"):
        solve_coverage(p, backend="ortools", strategy="exact", options=options)


def test_the_quick_stage_runs_before_any_backend_on_small_covers_only(monkeypatch):
    calls = []
    real = lscp_mod.solve_exact

    def spy(problem, *, backend, options, warm_start=None):
        calls.append((backend if isinstance(backend, str) else backend.name, options.for_backend("ortools")))
        return real(problem, backend=backend, options=options, warm_start=warm_start)

    monkeypatch.setattr(lscp_mod, "solve_exact", spy)
    monkeypatch.setattr(lscp_mod, "LSCP_QUICK_SHARE", 0.0)   # no time: the backend's MIP must follow
    a = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], bool))
    p = CoverageProblem(ModelType.LSCP, a, np.ones(3), np.ones(3), np.zeros(3, bool), np.zeros(3, bool),
                        np.ones(3, bool), total_weight=3.0)
    best = mip._Best(np.ones(3, bool), 3.0, 1.5, Termination.HEURISTIC, "greedy")
    out = mip._mip_phase(p, best, "highs", SolveOptions(time_limit_s=5), mip._Clock(5.0), {})
    assert [c[0] for c in calls] == ["ortools", "highs"] and calls[0][1]["cuts"] == "off"
    assert calls[0][1]["scip_params"] == lscp_mod.LSCP_SCIP_PARAMS and out.value == 2.0
    calls.clear()
    monkeypatch.setattr(lscp_mod, "LSCP_QUICK_MAX_ENTRIES", 0)
    mip._mip_phase(p, best, "highs", SolveOptions(time_limit_s=5), mip._Clock(5.0), {})
    assert [c[0] for c in calls] == ["highs"]
