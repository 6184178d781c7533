"""LSCP on SCIP: the two-stage MIP (no cuts, then cuts), SCIP's own parameters, and ``auto`` picking OR-Tools."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from siting.backends.base import BackendSolution
from siting.backends.ortools_backend import _gscip_parameters
from siting.errors import SolverError
from siting.models.coverage import LSCP, MCLP
from siting.models.driver import resolve_backend
from siting.options import SolveOptions
from siting.problem import CoverageProblem, ModelType
from siting.status import Termination
from siting.strategy import mip, solve_coverage
from siting.strategy.mip import _scip_stages

pytest.importorskip("ortools")


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
@pytest.mark.parametrize("no_cuts_s", [5.0, 0.0])
def test_two_stages_find_the_cheapest_cover(seed, no_cuts_s, monkeypatch):
    # 0 s for the first stage: it has no time to run and the second stage (with cuts) must finish the job
    monkeypatch.setattr(mip, "LSCP_NO_CUTS_S", no_cuts_s)
    monkeypatch.setattr(mip, "LSCP_NO_CUTS_SHARE", no_cuts_s)
    p = _instance(seed)
    out = solve_coverage(p, backend="ortools", strategy="hybrid", options=SolveOptions(time_limit_s=20))
    best = _cheapest(p)
    assert out.objective == pytest.approx(best)
    assert out.bound is not None and out.bound <= best + 1e-6
    a = p.coverage.toarray()
    assert a[:, out.open_sites].any(axis=1).all()


class _Scripted:
    """A backend named ``ortools`` that answers from a script and records the options it was given."""

    name = "ortools"

    def __init__(self, answers):
        self.answers = list(answers)
        self.seen = []

    def solve(self, program, options, *, warm_start=None):
        self.seen.append((options.for_backend("ortools"), options.time_limit_s, warm_start))
        termination, value, bound = self.answers.pop(0)
        x = None if value is None else np.r_[np.ones(int(value)), np.zeros(program.n_cols - int(value))]
        return BackendSolution(termination, x, value, bound, 0.5, "ortools")


def _unit_problem(n_sites: int = 4) -> CoverageProblem:
    a = sp.csr_matrix(np.eye(n_sites, dtype=bool))
    return CoverageProblem(ModelType.LSCP, a, np.ones(n_sites), np.ones(n_sites), np.zeros(n_sites, bool),
                           np.zeros(n_sites, bool), np.ones(n_sites, bool), total_weight=float(n_sites))


def test_stages_keep_the_tighter_bound_and_the_better_plan():
    backend = _Scripted([(Termination.TIME_LIMIT, 4.0, 3.5), (Termination.TIME_LIMIT, None, 2.0)])
    stats: dict = {}
    out = _scip_stages(_unit_problem(), backend, SolveOptions(time_limit_s=10), None, stats)
    first, second = backend.seen
    assert first[0]["cuts"] == "off" and "cuts" not in second[0]
    assert first[0]["scip_params"] == second[0]["scip_params"] == mip.LSCP_SCIP_PARAMS
    assert first[1] == pytest.approx(10 * mip.LSCP_NO_CUTS_SHARE) and 9.0 < second[1] < 10.0         # what the first stage left
    assert second[2] is not None and second[2].sum() == 4        # the first stage's plan starts the second
    assert out.objective == 4.0 and out.bound == 3.5 and out.open_sites.sum() == 4
    assert stats["mip_without_cuts"]["termination"] == "time_limit"


def test_a_proof_without_cuts_ends_the_mip():
    backend = _Scripted([(Termination.OPTIMAL, 4.0, 4.0)])
    out = _scip_stages(_unit_problem(), backend, SolveOptions(time_limit_s=10), None, {})
    assert len(backend.seen) == 1 and out.termination is Termination.OPTIMAL


def test_the_users_cuts_and_scip_params_win():
    backend = _Scripted([(Termination.OPTIMAL, 4.0, 4.0)])
    options = SolveOptions(time_limit_s=10, backend_options={
        "ortools": {"cuts": "aggressive", "scip_params": {"branching/pscost/priority": 1, "limits/nodes": 9}}})
    _scip_stages(_unit_problem(), backend, options, None, {})
    (seen, limit, _), = backend.seen
    assert seen["cuts"] == "aggressive" and limit == 10
    assert seen["scip_params"] == {"branching/pscost/priority": 1, "limits/nodes": 9}


def test_scip_parameters_by_type_and_their_errors():
    proto = _gscip_parameters({"a/int": 3, "a/bool": True, "a/real": 0.5, "a/str": "x"})
    assert dict(proto.int_params) == {"a/int": 3} and dict(proto.bool_params) == {"a/bool": True}
    assert dict(proto.real_params) == {"a/real": 0.5} and dict(proto.string_params) == {"a/str": "x"}
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


def test_auto_prefers_the_models_backends():
    from siting.backends import available_backends

    have = available_backends()
    assert resolve_backend("auto", LSCP.auto_backends) == "ortools"
    assert resolve_backend("auto", MCLP.auto_backends) == have[0]
    assert resolve_backend("auto", ("not-a-backend",)) == have[0]
    assert resolve_backend("HiGHS", LSCP.auto_backends) == "highs"   # a named backend is kept
