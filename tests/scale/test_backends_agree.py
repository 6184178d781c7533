"""All available MIP backends agree on the optimum of coverage instances (and with brute force)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from siting.backends import Termination, available_backends
from siting.options import SolveOptions
from siting.problem import ModelType
from siting.strategy import solve_coverage, solve_exact

from .helpers import brute_force, feasible, random_problem, value

BACKENDS = available_backends()
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("model", list(ModelType))
@pytest.mark.parametrize("seed", range(3))
def test_backends_match_brute_force(backend, model, seed):
    p = random_problem(200 + seed, model=model, n_demand=30, n_sites=10)
    best, _ = brute_force(p)
    out = solve_exact(p, backend=backend, options=SolveOptions(time_limit_s=30))
    if best is None:
        assert out.termination == Termination.INFEASIBLE
        return
    assert out.termination == Termination.OPTIMAL
    assert feasible(p, out.open_sites)
    assert out.objective == pytest.approx(best)
    # and through the presolve + strategy pipeline
    out2 = solve_coverage(p, backend=backend, strategy="exact", options=SolveOptions(time_limit_s=30))
    assert out2.objective == pytest.approx(best)


@pytest.fixture(scope="module")
def city():
    from generate import city_problem

    return city_problem(1500, 120, seed=3, budget_sites=6)


@pytest.fixture(scope="module")
def city_optima(city):
    """HiGHS optimum per model (the reference every backend must reproduce)."""
    out = {}
    for model in (ModelType.MCLP, ModelType.PARTIAL):
        p = _city_model(city, model)
        out[model] = solve_exact(p, backend="highs", options=SolveOptions(time_limit_s=60)).objective
    return out


def _city_model(city, model):
    return city if model == ModelType.MCLP else city.with_(model=ModelType.PARTIAL, target_coverage=0.5,
                                                          budget=None)


@pytest.mark.parametrize("backend,model", [
    (b, m) for b in BACKENDS for m in (ModelType.MCLP, ModelType.PARTIAL)])
def test_backends_agree_on_generated_city(city, city_optima, backend, model):
    p = _city_model(city, model)
    out = solve_coverage(p, backend=backend, strategy="exact", options=SolveOptions(time_limit_s=60))
    assert out.termination == Termination.OPTIMAL, backend
    assert feasible(p, out.open_sites)
    assert out.objective == pytest.approx(value(p, out.open_sites))
    assert out.objective == pytest.approx(city_optima[model], rel=1e-6)


@pytest.mark.parametrize("model", [ModelType.MCLP, ModelType.PARTIAL])
def test_heuristic_certificate_brackets_optimum(city, city_optima, model):
    p = _city_model(city, model)
    ref = city_optima[model]
    h = solve_coverage(p, strategy="heuristic", options=SolveOptions(seed=1))
    assert feasible(p, h.open_sites)
    if model == ModelType.MCLP:
        assert h.objective <= ref + 1e-6 <= h.bound + 2e-6
    else:
        assert h.bound - 1e-6 <= ref <= h.objective + 1e-6
