"""The pipeline's optimum equals brute-force enumeration on small random instances."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siting import solve
from siting.backends import available_backends
from siting.build import coverage_problem
from siting.errors import InfeasibleError
from siting.options import SolveOptions
from siting.strategy import solve_exact

from .instances import brute_force, make_instance

BACKENDS = [b for b in ("highs", "cbc", "scipy") if b in available_backends()]
OPTS = SolveOptions(mip_gap=0.0)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cases(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    n_demand = draw(st.integers(1, 9))
    n_sites = draw(st.integers(1, 7))
    density = draw(st.sampled_from([0.2, 0.5, 0.8]))
    threshold = draw(st.sampled_from([5.0, 10.0, 15.0]))
    return make_instance(np.random.default_rng(seed), n_demand, n_sites, density=density), threshold


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(case=cases(), budget=st.integers(1, 25), max_sites=st.one_of(st.none(), st.integers(1, 4)))
def test_mclp_matches_brute_force(backend, case, budget, max_sites):
    inst, threshold = case
    expected = brute_force(inst, model="mclp", threshold=threshold, budget=budget, max_sites=max_sites)
    res = solve(inst, model="mclp", threshold_min=threshold, budget=budget, max_sites=max_sites,
                backend=backend, strategy="exact", options=OPTS)
    if expected is None:
        assert res.status == "infeasible" and not res.has_solution
    else:
        assert res.status == "optimal"
        assert res.objective == pytest.approx(expected)
        assert res.covered_population == pytest.approx(expected)
        assert res.total_cost <= budget + 1e-9


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(case=cases())
def test_lscp_matches_brute_force(backend, case):
    inst, threshold = case
    expected = brute_force(inst, model="lscp", threshold=threshold)
    res = solve(inst, model="lscp", threshold_min=threshold, backend=backend, strategy="exact", options=OPTS)
    assert res.status == "optimal"
    assert res.total_cost == pytest.approx(expected)
    # every point some usable site reaches is covered; the rest are listed as uncoverable
    cov = res.coverage
    assert (cov["covered"] | ~cov["coverable"]).all()
    assert res.stats["uncoverable_count"] == int((~cov["coverable"]).sum())


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(case=cases(), target=st.sampled_from([0.1, 0.3, 0.5, 0.8, 1.0]))
def test_partial_matches_brute_force(backend, case, target):
    inst, threshold = case
    expected = brute_force(inst, model="partial", threshold=threshold, target=target)
    res = solve(inst, model="partial", threshold_min=threshold, target_coverage=target,
                backend=backend, strategy="exact", options=OPTS)
    if expected is None:
        assert res.status == "infeasible"
    else:
        assert res.status == "optimal"
        assert res.total_cost == pytest.approx(expected)
        assert res.covered_population >= target * res.total_population - 1e-6


@pytest.mark.parametrize("backend", BACKENDS)
@SETTINGS
@given(case=cases(), budget=st.integers(0, 25), model=st.sampled_from(["mclp", "lscp", "partial"]))
def test_formulation_without_presolve(backend, case, budget, model):
    """The raw MIP (no presolve, no pruning) has the brute-force optimum: tests the formulation alone."""
    inst, threshold = case
    kwargs = {"mclp": {"budget": budget}, "lscp": {}, "partial": {"target_coverage": 0.5}}[model]
    expected = brute_force(inst, model=model, threshold=threshold,
                           budget=kwargs.get("budget"), target=kwargs.get("target_coverage"))
    try:
        problem = coverage_problem(inst, model=model, threshold_min=threshold, **kwargs)
    except InfeasibleError:   # an unreachable partial target, proven from the data
        assert expected is None and model == "partial"
        return
    out = solve_exact(problem, backend=backend, options=OPTS, prune=False)
    if expected is None:
        assert out.termination == "infeasible"
        return
    assert out.termination == "optimal"
    assert out.objective == pytest.approx(expected)
    assert not (out.open_sites & problem.fixed_closed).any()
    assert out.open_sites[problem.fixed_open].all()
