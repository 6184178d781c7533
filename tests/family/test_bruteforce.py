"""Every family model against brute-force enumeration on tiny random instances."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from siting.backends import available_backends
from siting.data.load import load_instance
from siting.errors import InfeasibleError, VerificationError
from siting.models.backup import solve_backup
from siting.models.capacitated import site_capacity, solve_capacitated
from siting.models.cflp import solve_cflp
from siting.models.equity import solve_equity
from siting.models.gradual import credit, solve_gradual
from siting.models.pcenter import solve_pcenter
from siting.models.pmedian import solve_pmedian
from siting.rules import SiteRules
from siting.testing import random_instance, subsets

BACKENDS = [b for b in ("highs", "cbc") if b in available_backends()]
SEEDS = range(6)


def dense_minutes(inst):
    """Tiny instances only: the full matrix with inf for missing pairs (brute force reference)."""
    t = np.full((inst.n_demand, inst.n_sites), np.inf)
    t[inst.travel.demand_index, inst.travel.site_index] = inst.travel.minutes
    return t


def plans(inst, *, budget=None, max_sites=None, exact=False):
    rules = SiteRules.of(inst)
    for mask in subsets(inst.n_sites):
        if np.any(mask & (rules.upper < 0.5)) or np.any(~mask & (rules.lower > 0.5)):
            continue
        n = int((mask & rules.counts).sum())
        if max_sites is not None and (n > max_sites or (exact and n != max_sites)):
            continue
        if budget is not None and rules.cost[mask].sum() > budget + 1e-9:
            continue
        yield mask


def brute_pmedian(inst, p):
    t, w = dense_minutes(inst), inst.demand.population
    best = np.inf
    for mask in plans(inst, max_sites=p, exact=True):
        near = t[:, mask].min(axis=1) if mask.any() else np.full(inst.n_demand, np.inf)
        if np.all(np.isfinite(near[w > 0])):
            best = min(best, float(w @ np.where(w > 0, near, 0)))
    return best


@pytest.mark.parametrize("formulation", ["assignment", "radius"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_pmedian_bruteforce(seed, backend, formulation):
    inst = random_instance(7, 6, seed=seed, statuses=seed % 2 == 0, density=0.8)
    p = 2
    ref = brute_pmedian(inst, p)
    if not np.isfinite(ref):
        with pytest.raises(InfeasibleError):
            solve_pmedian(inst, p=p, backend=backend, formulation=formulation)
        return
    r = solve_pmedian(inst, p=p, backend=backend, formulation=formulation)
    assert r.objective == pytest.approx(ref)
    assert r.status == "optimal"


def brute_pcenter(inst, p):
    t, w = dense_minutes(inst), inst.demand.population
    best = np.inf
    for mask in plans(inst, max_sites=p):
        near = t[:, mask].min(axis=1) if mask.any() else np.full(inst.n_demand, np.inf)
        best = min(best, float(near[w > 0].max()))
    return best


@pytest.mark.parametrize("method", ["search", "direct"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_pcenter_bruteforce(seed, backend, method):
    inst = random_instance(7, 6, seed=seed, statuses=seed % 2 == 1, density=0.8)
    best = brute_pcenter(inst, 2)
    r = solve_pcenter(inst, p=2, method=method, backend=backend)
    if not np.isfinite(best):
        assert r.status == "infeasible" and not r.has_solution
        return
    assert r.status == "optimal"
    assert r.objective == pytest.approx(best)
    assert r.best_bound == pytest.approx(best, abs=1e-6)


class _TimesOut:
    """A backend that always stops on its time limit without a plan (as a MIP cut off early does)."""

    name = "highs"

    def solve(self, program, options, **_):
        from siting.backends.base import BackendSolution
        from siting.status import Termination

        return BackendSolution(Termination.TIME_LIMIT, None, None, 1.0, 0.0, "highs", "stopped on time")


@pytest.mark.parametrize("stop", ["backend", "deadline"])
@pytest.mark.parametrize("seed", range(4))
def test_pcenter_time_limit_bound_is_in_minutes(seed, stop, monkeypatch):
    """A cut-off search keeps its best plan; its bound is a table time <= the optimum <= the radius."""
    import siting.models.pcenter as pcenter
    from siting.options import SolveOptions

    inst = random_instance(14, 9, seed=seed, density=0.8)
    best = brute_pcenter(inst, 2)
    if not np.isfinite(best):
        pytest.skip("random instance has an unreachable point")
    if stop == "backend":
        # the set-cover MIPs would report a site count as their bound: the search must never pass it on
        monkeypatch.setattr(pcenter, "get_backend", lambda name: _TimesOut())
        r = solve_pcenter(inst, p=2)
    else:
        r = solve_pcenter(inst, p=2, options=SolveOptions(time_limit_s=1e-6))
    assert r.best_bound in set(inst.travel.minutes.tolist())
    assert r.best_bound <= best + 1e-9
    if r.has_solution:     # the greedy plan, verified
        assert best <= r.objective + 1e-9
        assert r.status == ("optimal" if r.best_bound == r.objective else "time_limit")
    else:
        assert r.status == "time_limit"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_backup_bruteforce(seed, backend):
    inst = random_instance(8, 6, seed=seed, statuses=True)
    t, w = dense_minutes(inst), inst.demand.population
    best = -1.0
    for mask in plans(inst, budget=12):
        cnt = (t[:, mask] <= 10).sum(axis=1)
        best = max(best, float(w[cnt >= 2].sum()))
    r = solve_backup(inst, threshold_min=10, budget=12, backend=backend)
    assert r.objective == pytest.approx(best)
    assert r.stats["covered_twice"] == pytest.approx(best)


@pytest.mark.parametrize("seed", SEEDS)
def test_gradual_bruteforce(seed):
    inst = random_instance(8, 6, seed=seed, statuses=seed % 3 == 0)
    t, w = dense_minutes(inst), inst.demand.population
    best = -1.0
    for mask in plans(inst, max_sites=2):
        f = credit(t[:, mask], 6, 14).max(axis=1, initial=0.0)
        best = max(best, float(w @ f))
    r = solve_gradual(inst, threshold_min=6, outer_threshold_min=14, max_sites=2)
    assert r.objective == pytest.approx(best)


def transport_max(w, cover, cap):
    """Max assigned weight for fixed open sites: an LP solved with scipy linprog (independent path)."""
    from scipy.optimize import linprog

    i, j = np.nonzero(cover)
    if i.size == 0:
        return 0.0
    n_d, n_s = cover.shape
    a_ub = np.zeros((n_d + n_s, i.size))
    a_ub[i, np.arange(i.size)] = 1.0
    a_ub[n_d + j, np.arange(i.size)] = w[i]
    b_ub = np.concatenate([np.ones(n_d), np.where(np.isfinite(cap), cap, 1e12)])
    res = linprog(-w[i], A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
    return -res.fun


def assert_coverage_table_agrees(coverage):
    """``covered`` exactly where a serving site is named, and the share says the same."""
    named = coverage["site_id"].notna()
    assert (coverage["covered"] == named).all()
    assert ((coverage["share"] > 0) == named).all()
    assert coverage.loc[~named, "minutes"].isna().all() and coverage.loc[named, "minutes"].notna().all()


@pytest.mark.parametrize("seed", SEEDS)
def test_capacitated_bruteforce(seed):
    from siting.models.base import Plan
    from siting.models.capacitated import MODEL, CapacitatedParams

    inst = random_instance(7, 5, seed=seed, capacity=True, statuses=seed % 2 == 0)
    t, w = dense_minutes(inst), inst.demand.population
    cap = site_capacity(inst)
    params, rules = CapacitatedParams(threshold_min=10, budget=10), SiteRules.of(inst)
    best = -1.0
    for mask in plans(inst):
        most = transport_max(w, (t <= 10) & mask[None, :], cap)
        # every plan reports the largest coverage any assignment of its open sites reaches
        figures = MODEL.evaluate(inst, params, rules, Plan(mask))
        assert figures.covered_weight == pytest.approx(most, rel=1e-9, abs=1e-9)
        assert_coverage_table_agrees(figures.coverage)
        assert (figures.sites["load"] <= cap + 1e-6).all()
        if rules.cost[mask].sum() <= 10 + 1e-9:
            best = max(best, most)
    r = solve_capacitated(inst, threshold_min=10, budget=10)
    assert r.objective == pytest.approx(best, rel=1e-6)
    assert r.covered_weight == pytest.approx(transport_max(w, (t <= 10) & r.sites["open"].to_numpy()[None, :], cap),
                                             rel=1e-9)
    assert (r.sites["load"] <= r.sites["capacity"] + 1e-6).all()
    assert_coverage_table_agrees(r.coverage)


@pytest.mark.parametrize("seed", SEEDS)
def test_cflp_bruteforce(seed):
    inst = random_instance(6, 5, seed=seed, capacity=True, density=1.0)
    t, w = dense_minutes(inst), inst.demand.population
    cap = site_capacity(inst)
    from scipy.optimize import linprog

    from siting.models.base import Plan
    from siting.models.cflp import MODEL, CflpParams

    params, rules = CflpParams(), SiteRules.of(inst)
    best = np.inf
    for mask in plans(inst):
        if cap[mask].sum() < w.sum():
            with pytest.raises(VerificationError, match="cannot serve every demand point"):
                MODEL.evaluate(inst, params, rules, Plan(mask))
            continue
        cols = np.flatnonzero(mask)
        i, j = np.nonzero(np.ones((len(w), len(cols)), bool))
        a_eq = np.zeros((len(w), i.size))
        a_eq[i, np.arange(i.size)] = 1
        a_ub = np.zeros((len(cols), i.size))
        a_ub[j, np.arange(i.size)] = w[i]
        res = linprog(w[i] * t[i, cols[j]], A_ub=a_ub, b_ub=cap[cols], A_eq=a_eq, b_eq=np.ones(len(w)),
                      bounds=(0, 1), method="highs")
        # every plan reports the cheapest assignment of its open sites
        assert MODEL.evaluate(inst, params, rules, Plan(mask)).stats["assignment_cost"] == pytest.approx(res.fun,
                                                                                                        rel=1e-9)
        best = min(best, res.fun + inst.sites.cost[mask].sum())
    r = solve_cflp(inst)
    assert r.objective == pytest.approx(best, rel=1e-7)
    assert r.coverage["covered"].all() and r.coverage["site_id"].notna().all()


@pytest.mark.parametrize("seed", SEEDS)
def test_equity_bruteforce(seed):
    inst = random_instance(9, 6, seed=seed, groups=True)
    t, w = dense_minutes(inst), inst.demand.population
    dist = inst.demand.groups["district"]
    groups = [dist == g for g in np.unique(dist)]
    best = (-1.0, -1.0)
    for mask in plans(inst, budget=9):
        cov = (t[:, mask] <= 8).any(axis=1)
        shares = [w[g & cov].sum() / w[g].sum() for g in groups]
        best = max(best, (round(min(shares), 12), float(w[cov].sum())))
    r = solve_equity(inst, threshold_min=8, budget=9, equity_column="district")
    assert r.objective == pytest.approx(best[0])
    assert r.covered_population == pytest.approx(best[1])


def test_equity_groups_columns():
    inst = random_instance(9, 6, seed=11, groups=True)
    t = dense_minutes(inst)
    best = -1.0
    for mask in plans(inst, budget=9):
        cov = (t[:, mask] <= 8).any(axis=1)
        best = max(best, min(inst.demand.groups[g][cov].sum() / inst.demand.groups[g].sum()
                             for g in ("elderly", "children")))
    r = solve_equity(inst, threshold_min=8, budget=9, equity_groups=["elderly", "children"])
    assert r.objective == pytest.approx(best)


def brute_equity(inst, labels, *, threshold, budget):
    """(best minimum share, best total covered weight at that minimum) over every plan."""
    t, w = dense_minutes(inst), inst.demand.population
    groups = [labels == g for g in np.unique(labels)]
    best = (-1.0, -1.0)
    for mask in plans(inst, budget=budget):
        cov = (t[:, mask] <= threshold).any(axis=1)
        shares = [w[g & cov].sum() / w[g].sum() for g in groups]
        best = max(best, (round(min(shares), 12), float(w[cov].sum())))
    return best


def test_equity_text_district_column_from_file():
    # issue 15: a text district column of the demand file (Demand.labels) forms the groups
    example = Path(__file__).resolve().parents[2] / "scenarios" / "example"
    inst = load_instance(example / "demand.csv", example / "candidates.csv", example / "travel_times.csv")
    assert "district" in inst.demand.labels and "district" not in inst.demand.groups
    names = inst.demand.labels["district"].astype(str)
    for budget in (1.5e6, 2.5e6):
        best = brute_equity(inst, names, threshold=10, budget=budget)
        r = solve_equity(inst, threshold_min=10, budget=budget, equity_column="district")
        assert r.objective == pytest.approx(best[0])
        assert r.covered_weight == pytest.approx(best[1])
        assert sorted(r.stats["shares"]) == sorted(set(names))


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_equity_text_labels_match_numeric_codes(seed):
    inst = random_instance(9, 6, seed=seed, groups=True)
    codes = inst.demand.groups["district"]
    words = np.array(["north", "river", "hill"], dtype=object)[codes.astype(int)]
    as_text = replace(inst, demand=replace(inst.demand, labels={"quarter": words}))
    best = brute_equity(inst, codes, threshold=8, budget=9)
    for r in (solve_equity(as_text, threshold_min=8, budget=9, equity_column="quarter"),
              solve_equity(as_text, threshold_min=8, budget=9, labels=list(words))):
        assert r.objective == pytest.approx(best[0])
        assert r.covered_weight == pytest.approx(best[1])
        assert set(r.stats["shares"]) <= {"north", "river", "hill"}

