"""Averaged subgradient steps of the city-wide multi-service Lagrangian.

The multipliers move along an exponential average of the subgradients (volume-algorithm-like); any multipliers
give a valid bound, so the bound must stay no lower than the proven optimum, even when the step target is the
optimum itself (steps as large as valid) and whatever the weight.
"""
from __future__ import annotations

import pytest

from siting.models import multiservice_lagrange as lagrange_module
from siting.models.driver import solve_model
from siting.models.multiservice import MODEL
from siting.models.multiservice_lagrange import lagrange_bound
from siting.options import SolveOptions

from ._instances import greedy_start, plain_and_policy

CASES = plain_and_policy(8e6, (3e6, 3e6, 2e6))


def _start(case: str, seed: int, n_demand: int, n_sites: int):
    inst, params, rules, reach, built, x, n_phases, met = greedy_start(seed, CASES[case](), n_demand, n_sites)
    if not met or built.program.max_violation(x, relative=True) > 1e-7:
        pytest.skip("the greedy misses a floor here: no start to improve")
    return inst, params, rules, reach, built, x, n_phases


@pytest.mark.parametrize(("case", "seed"), [("plain", 5), ("policy", 0)])
def test_averaged_steps_never_bound_below_the_optimum(monkeypatch, case, seed):
    inst, params, rules, reach, built, x, n_phases = _start(case, seed, 40, 12)
    exact = solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(mip_gap=0.0, secondary="none"))
    assert exact.status.value == "optimal"
    # the Polyak target at the optimum itself (net of what existing facilities earn): steps as large as valid
    at_optimum = exact.objective / n_phases - reach.offset
    for weight, target in ((0.2, 0.0), (0.2, at_optimum), (1.0, at_optimum)):
        monkeypatch.setattr(lagrange_module, "AVERAGE_WEIGHT", weight)
        bound = lagrange_bound(reach, params, rules.counts, target=target, max_iterations=150)
        assert bound.bound >= exact.objective - 1e-9 * max(1.0, abs(exact.objective))
