"""Verification recomputes from the raw triples and refuses plans and claims that do not hold."""
import numpy as np
import pytest

from siting.data.instance import SiteStatus
from siting.errors import VerificationError
from siting.models import get_model
from siting.models.driver import check_claims
from siting.reach import nearest_open_site
from siting.rules import Limits, SiteRules, check_plan_rules
from siting.verify import check_plan

from .instances import covered_by, make_instance


def test_nearest_open_site_matches_loop():
    rng = np.random.default_rng(3)
    inst = make_instance(rng, 30, 8, density=0.4)
    open_mask = rng.random(8) < 0.5
    nearest, minutes = nearest_open_site(inst.travel, open_mask)
    t = inst.travel
    for i in range(inst.n_demand):
        sel = (t.demand_index == i) & open_mask[t.site_index]
        if sel.any():
            assert minutes[i] == t.minutes[sel].min()
            assert open_mask[nearest[i]]
        else:
            assert nearest[i] == -1 and np.isinf(minutes[i])


def _plain(rng):
    return make_instance(rng, 20, 6, density=0.6, statuses=False)


def test_budget_violation_is_an_error():
    inst = _plain(np.random.default_rng(1))
    plan = np.ones(6, dtype=bool)
    check = check_plan(inst, plan, model="mclp", threshold_min=10)
    with pytest.raises(VerificationError, match="exceeds budget"):
        check_plan_rules(SiteRules.of(inst), plan, Limits(budget=float(inst.sites.cost.sum()) - 1),
                         total_cost=check.total_cost, model="mclp")


def test_excluded_and_required_are_checked():
    inst = _plain(np.random.default_rng(2))
    status = inst.sites.status
    status[0] = SiteStatus.EXCLUDED
    status[1] = SiteStatus.REQUIRED
    plan = np.zeros(6, dtype=bool)
    plan[0] = True
    with pytest.raises(VerificationError, match="excluded sites opened.*required sites closed"):
        check_plan_rules(SiteRules.of(inst), plan, Limits(), total_cost=0.0, model="mclp", site_ids=inst.sites.ids)


def test_existing_sites_count_as_open_and_cost_nothing():
    inst = _plain(np.random.default_rng(6))
    inst.sites.status[3] = SiteStatus.EXISTING
    check = check_plan(inst, np.zeros(6, dtype=bool), model="mclp", threshold_min=10)
    assert check.open_sites.tolist() == [False, False, False, True, False, False]
    assert check.total_cost == 0.0
    assert check.covered.tolist() == covered_by(inst, check.open_sites, 10).tolist()


def test_overclaimed_coverage_is_an_error():
    inst = _plain(np.random.default_rng(4))
    plan = np.zeros(6, dtype=bool)
    plan[2] = True
    check = check_plan(inst, plan, model="mclp", threshold_min=10)
    real = float(inst.demand.population[covered_by(inst, plan, 10)].sum())
    assert check.covered_weight == real
    mclp = get_model("mclp")
    check_claims(mclp, objective=real, bound=real + 5, verified=real, proven_optimal=False)
    with pytest.raises(VerificationError, match="solver reports objective"):
        check_claims(mclp, objective=real + 1, bound=None, verified=real, proven_optimal=False)
    with pytest.raises(VerificationError, match="wrong side"):
        check_claims(mclp, objective=real, bound=real - 1, verified=real, proven_optimal=False)


def test_lscp_plan_must_cover_every_coverable_point():
    inst = _plain(np.random.default_rng(5))
    plan = np.zeros(6, dtype=bool)
    with pytest.raises(VerificationError, match="left uncovered"):
        check_plan(inst, plan, model="lscp", threshold_min=15)


def test_partial_plan_must_reach_its_target():
    inst = _plain(np.random.default_rng(7))
    plan = np.zeros(6, dtype=bool)
    plan[0] = True
    share = check_plan(inst, plan, model="mclp", threshold_min=10).covered_weight / inst.demand.population.sum()
    check_plan(inst, plan, model="partial", threshold_min=10, target_coverage=share)
    with pytest.raises(VerificationError, match="below the target"):
        check_plan(inst, plan, model="partial", threshold_min=10, target_coverage=min(1.0, share + 0.01))
