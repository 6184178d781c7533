"""The multi-service Lagrangian bound with integral bundles: exact buildings, valid for any multipliers.

Small random instances with binding floor areas (3-5 services whose needs sum past most buildings' floor
area), phases, overall and per-community floors and a priority level, against the exact MIP.
"""
from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siting.models import multiservice_bundles as bundles
from siting.models import multiservice_lagrange as lagrange
from siting.models.driver import solve_model
from siting.models.multiservice import MODEL, MultiserviceParams
from siting.models.multiservice_reach import reach_of
from siting.options import SolveOptions
from siting.rules import SiteRules
from siting.services import load_catalog

from ._instances import multiservice_instance

#: needs 120 + 200 + 350 + 250 + 700 m2 against floor areas of 100-1500 m2: most buildings cannot host all
SERVICES = ["health_station", "childcare", "elderly_care", "culture_sports", "service_centre"]


def _catalog(n_services: int, **policy):
    cat = load_catalog().select(SERVICES[:n_services])
    return replace(cat, services=tuple(replace(s, threshold_minutes=8.0, **policy.get(s.key, {}))
                                       for s in cat.services))


POLICY = {"elderly_care": {"min_share": 0.3, "priority": 1}, "childcare": {"min_share_per_community": 0.2}}
CASES = {
    "plain3": lambda: {"budget": 3e6, "catalog": _catalog(3)},
    "sites5": lambda: {"budget": 6e6, "max_sites": 3, "catalog": _catalog(5)},
    "policy4": lambda: {"budget": 4e6, "catalog": _catalog(4, **POLICY)},
    "phased4": lambda: {"catalog": _catalog(4, **POLICY), "carry_over": True,
                        "phases": [{"year": 2026, "budget": 1.5e6}, {"year": 2027, "budget": 2e6}]},
}

#: draws on which at least three buildings cannot host every service
SEEDS = {"plain3": 3, "sites5": 0, "policy4": 3, "phased4": 3}


def _setup(case: str, seed: int, n_demand: int = 30, n_sites: int = 9):
    inst = multiservice_instance(seed, n_demand, n_sites)
    params = MultiserviceParams.from_kwargs(CASES[case]())
    rules = SiteRules.of(inst)
    return inst, params, rules, reach_of(inst, params, rules)


def _optimum(inst, params) -> float | None:
    result = solve_model(MODEL, inst, params, backend="highs", options=SolveOptions(mip_gap=0.0, secondary="none"))
    if result.status.value == "infeasible":
        return None
    assert result.status.value == "optimal"
    return float(result.objective)


@pytest.mark.parametrize("case", sorted(CASES))
def test_integral_and_fractional_bounds_stay_above_the_optimum(case, monkeypatch):
    inst, params, rules, reach = _setup(case, SEEDS[case])
    inner = bundles.Buildings(reach, rules.counts, params.max_sites)
    assert inner.bundles == "integral" and inner.tight.shape[0] >= 3, "floor areas must bind on this draw"
    optimum = _optimum(inst, params)
    if optimum is None:
        pytest.skip("floors out of reach on this draw")
    tol = 1e-9 * max(1.0, abs(optimum))
    integral = lagrange.lagrange_bound(reach, params, rules.counts, target=optimum - reach.offset,
                                       max_iterations=200)
    assert integral.bound >= optimum - tol
    assert integral.bundles == "integral"
    # the site scores and bundles of the bound: non-negative, hostable, within each building's floor area
    assert integral.site_score.shape == (inst.n_sites,) and (integral.site_score >= 0).all()
    hosted = integral.site_services
    assert hosted.shape == reach.allowed.shape and not (hosted & ~inner.hosts).any()
    assert ((hosted @ inner.need) <= inner.room).all()
    assert ((integral.site_score > 0) == hosted.any(axis=1)).all()
    # the same iteration with fractional bundles: a bound too, never below the integral one here
    original = bundles.Buildings.__init__
    monkeypatch.setattr(bundles.Buildings, "__init__",
                        lambda self, *a, **k: original(self, *a, **{**k, "exact": False}))
    fractional = lagrange.lagrange_bound(reach, params, rules.counts, target=optimum - reach.offset,
                                         max_iterations=200)
    assert fractional.bundles == "fractional" and fractional.bound >= optimum - tol


@pytest.mark.parametrize("case", ["sites5", "policy4", "phased4"])
def test_any_multipliers_give_a_bound_and_integral_is_tighter(case):
    """Random (u, lambda) and every mu: integral <= fractional pointwise, and both above the optimum."""
    seed = SEEDS[case]
    inst, params, rules, reach = _setup(case, seed)
    optimum = _optimum(inst, params)
    if optimum is None:
        pytest.skip("floors out of reach on this draw")
    floors = lagrange.floors_of(reach)
    exact = bundles.Buildings(reach, rules.counts, params.max_sites)
    loose = bundles.Buildings(reach, rules.counts, params.max_sites, exact=False)
    n_years = len(params.phases) if params.phases else 1
    rng = np.random.default_rng(seed)
    for _ in range(6):
        lam = [rng.uniform(0, 3, f.need.shape[0]) * f.scale for f in floors]
        caps = lagrange._caps(reach, floors, lam)
        u = [rng.uniform(0, 1, c.shape[0]) * c for c in caps]
        price = np.column_stack([s.by_site @ x for s, x in zip(reach.services, u, strict=True)])
        for mu in (0.0, *rng.uniform(0, 3e-6, 4)):
            assert exact.best(price, mu).total <= loose.best(price, mu).total + 1e-12
        money = lagrange.year_money(params)[-1]
        value = lagrange._final_value(exact, reach, floors, lam, caps, u, money, 0.0, rel_tol=1e-10)[0]
        frac = lagrange._final_value(loose, reach, floors, lam, caps, u, money, 0.0, rel_tol=1e-10)[0]
        assert value <= frac + 1e-8 * abs(frac)
        # the final year's term bounds every year's coverage (nested money): n_years of it bound the program
        assert n_years * (reach.offset + value) >= optimum - 1e-9 * max(1.0, abs(optimum))


def test_the_fallback_is_fractional_and_still_a_bound(monkeypatch):
    inst, params, rules, reach = _setup("policy4", 3)
    optimum = _optimum(inst, params)
    assert optimum is not None
    monkeypatch.setattr(bundles, "MAX_EXACT_SERVICES", 3)           # 4 services: too many to enumerate
    fallback = lagrange.lagrange_bound(reach, params, rules.counts, target=optimum - reach.offset,
                                       max_iterations=150)
    assert fallback.bundles == "fractional"
    assert fallback.bound >= optimum - 1e-9 * max(1.0, abs(optimum))
    monkeypatch.setattr(bundles, "MAX_EXACT_SERVICES", 10)
    monkeypatch.setattr(bundles, "MAX_EXACT_ENTRIES", 15)            # 16 subsets x the tight buildings
    assert bundles.Buildings(reach, rules.counts, params.max_sites).bundles == "fractional"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), mu=st.floats(0.0, 2e-6), max_sites=st.sampled_from([None, 1, 3]))
def test_buildings_take_the_best_fitting_set_exactly(seed, mu, max_sites):
    """Against brute force over every subset of every building's services."""
    inst, params, rules, reach = _setup("sites5", seed % 7, 12, 6)
    inner = bundles.Buildings(reach, rules.counts, max_sites)
    rng = np.random.default_rng(seed)
    price = rng.uniform(0, 1, inner.hosts.shape)            # shares; fit-outs of 3e5-8e5 yuan at mu <= 2e-6
    choice = inner.best(price, mu)
    q = price - mu * reach.placement_cost
    n_services = price.shape[1]
    best_term = np.zeros(inst.n_sites)
    for j in range(inst.n_sites):
        for size in range(1, n_services + 1):
            for subset in itertools.combinations(range(n_services), size):
                s = list(subset)
                if inner.hosts[j, s].all() and inner.need[s].sum() <= inner.room[j]:
                    best_term[j] = max(best_term[j], q[j, s].sum() - mu * reach.building_cost[j])
    taken = choice.term > 0
    assert np.allclose(choice.term[taken], best_term[taken])
    if max_sites is None:
        assert np.allclose(choice.term, best_term)
    else:
        counted = np.sort(best_term[rules.counts])[::-1][:max_sites]
        assert choice.term.sum() == pytest.approx(counted.sum() + best_term[~rules.counts].sum())
    assert np.array_equal(choice.chosen > 0, choice.chosen == 1)            # integral placements
    assert choice.total == pytest.approx(choice.term.sum())


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), money=st.floats(2e5, 2e7), start=st.sampled_from([0.0, 1e-9, 1e-6]))
def test_line_minimum_is_the_minimum_over_mu(seed, money, start):
    inst, params, rules, reach = _setup("sites5", seed % 5, 12, 6)
    inner = bundles.Buildings(reach, rules.counts, None)
    rng = np.random.default_rng(seed)
    price = rng.uniform(0, 1, inner.hosts.shape)
    value, mu, choice = bundles.line_minimum(inner, price, money, start, scale=1.0, rel_tol=1e-9)
    assert value == pytest.approx(mu * money + inner.best(price, mu).total)
    # the tangents at either side prove the minimum; a fine grid of mu finds nothing below it
    top = 2.0 * float(price.max() / max(reach.placement_cost.min(), 1.0))
    grid = np.concatenate([[0.0], np.geomspace(1e-12, max(top, 1e-9), 400)])
    at_grid = min(g * money + inner.best(price, g).total for g in grid)
    assert value <= at_grid + 1e-9 * (1.0 + abs(at_grid))
