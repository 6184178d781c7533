"""Service catalog and multi-service co-location against brute force."""
from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from siting.backends import available_backends
from siting.data.instance import SiteStatus
from siting.data.orlib import instance_from_pairs
from siting.errors import InputError, ScenarioError, VerificationError
from siting.models.base import Plan, ScenarioInputs
from siting.models.multiservice import MODEL, MultiserviceParams
from siting.models.params import ParamError
from siting.rules import SiteRules
from siting.services import load_catalog, service_masks, solve_multiservice
from siting.services.catalog import Catalog, Service

BACKENDS = [b for b in ("highs", "cbc") if b in available_backends()]


# ---------------------------------------------------------------- catalog
def test_default_catalog_has_the_basket():
    cat = load_catalog()
    assert set(cat.keys) >= {"elderly_care", "canteen", "health_station", "childcare", "fresh_market",
                             "culture_sports", "service_centre"}
    assert cat["elderly_care"].demand_column == "elderly" and cat["elderly_care"].speed_group == "elderly"
    assert {s.tier for s in cat} <= {"5min", "10min", "15min"}


def test_overrides_change_add_and_drop():
    cat = load_catalog(overrides={"childcare": {"threshold_minutes": 8},
                                  "pharmacy": {"threshold_minutes": 10, "demand_column": "population"},
                                  "canteen": {"enabled": False}})
    assert cat["childcare"].threshold_minutes == 8.0
    assert "pharmacy" in cat.keys and "canteen" not in cat.keys


@pytest.mark.parametrize("over, key", [
    ({"childcare": {"threshold": 5}}, "services.childcare.threshold"),
    ({"childcare": {"threshold_minutes": "five"}}, "services.childcare.threshold_minutes"),
    ({"childcare": {"weight": -1}}, "services.childcare.weight"),
    ({"childcare": {"tier": "20min"}}, "services.childcare.tier"),
    ({"newthing": {"weight": 1.0}}, "services.newthing"),
    ({"services": {}, "bogus": {}}, "bogus"),
])
def test_bad_overrides_name_the_key(over, key):
    with pytest.raises(ScenarioError) as err:
        load_catalog(overrides=over)
    assert f"key '{key}'" in str(err.value)


def test_bad_file(tmp_path):
    f = tmp_path / "cat.toml"
    f.write_text("[services.a]\nthreshold_minutes = 5\ndemand_column = 'population'\ncolour = 'red'\n")
    with pytest.raises(ScenarioError, match="cat.toml: key 'services.a.colour'"):
        load_catalog(f)
    f.write_text("[services.a\n")
    with pytest.raises(ScenarioError, match="invalid TOML"):
        load_catalog(f)


# ---------------------------------------------------------------- brute force
def tiny(seed, n_sites=5, n_demand=9, statuses=True, area=True):
    rng = np.random.default_rng(seed)
    d, s = np.nonzero(rng.random((n_demand, n_sites)) < 0.75)
    t = rng.integers(0, 16, d.shape[0]).astype(float)
    pop = rng.integers(10, 60, n_demand).astype(float)
    status = np.array([SiteStatus.CANDIDATE] * n_sites, dtype=object)
    if statuses:
        status[0] = SiteStatus.EXISTING
        status[1] = SiteStatus.EXCLUDED
    floor = rng.choice([200.0, 400.0, 700.0, np.nan], n_sites) if area else None
    groups = {"elderly": np.floor(pop * rng.random(n_demand))}
    base = instance_from_pairs(d, s, t, population=pop, cost=rng.integers(1, 6, n_sites).astype(float),
                               floor_area=floor, status=status, groups=groups)
    slow = instance_from_pairs(d, s, t * 1.3, population=pop, cost=base.sites.cost, floor_area=floor,
                               status=status, groups=groups)
    # the elderly table rides along (a service must never walk at the default pace unless it says so)
    return replace(base, group_travel={"elderly": slow.travel}), slow


CAT = Catalog((
    Service("elderly_care", 8.0, "elderly", weight=1.0, fitout_cost=2.0, min_floor_area_m2=350.0,
            speed_group="elderly"),
    Service("health_station", 5.0, "population", weight=0.7, fitout_cost=1.0, min_floor_area_m2=150.0),
    Service("fresh_market", 10.0, "population", weight=0.5, fitout_cost=3.0, min_floor_area_m2=300.0),
))


def dense(inst):
    t = np.full((inst.n_demand, inst.n_sites), np.inf)
    t[inst.travel.demand_index, inst.travel.site_index] = inst.travel.minutes
    return t


def brute(base, slow, cat, budget, existing, share=False):
    services = list(cat)
    n = base.n_sites
    area = base.sites.floor_area
    status = base.sites.status.astype(str)
    free = [j for j in range(n) if status[j] == "candidate"]
    mats = {s.key: dense(slow if s.speed_group else base) <= s.threshold_minutes for s in services}
    best = -1.0
    for combo in itertools.product(range(2 ** len(services)), repeat=len(free)):
        place = np.zeros((len(services), n), bool)
        for j, bits in zip(free, combo, strict=True):
            for k in range(len(services)):
                place[k, j] = bool(bits >> k & 1)
        used = np.array([sum(s.min_floor_area_m2 for k, s in enumerate(services) if place[k, j]) for j in range(n)])
        if np.any(used > np.nan_to_num(area, nan=np.inf) if area is not None else False):
            continue
        conv = place.any(axis=0)
        cost = base.sites.cost[conv].sum() + sum(s.fitout_cost * place[k].sum() for k, s in enumerate(services))
        if cost > budget + 1e-9:
            continue
        val = 0.0
        for k, s in enumerate(services):
            open_k = place[k] | existing.get(s.key, np.zeros(n, bool))
            cov = (mats[s.key] & open_k[None, :]).any(axis=1)
            w = base.demand.weight(s.demand_column)
            val += s.weight * w[cov].sum() / (w.sum() if share else 1.0)
        best = max(best, val)
    return best


@pytest.mark.parametrize("objective", ["weighted", "share"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(4))
def test_multiservice_bruteforce(seed, backend, objective):
    base, slow = tiny(seed)
    existing = {"health_station": np.eye(1, base.n_sites, 0, dtype=bool).ravel()}
    budget = 9.0
    ref = brute(base, slow, CAT, budget, existing, share=objective == "share")
    inst = replace(base, group_travel={"elderly": slow.travel})
    r = solve_multiservice(inst, CAT, budget=budget, existing_services=existing, backend=backend,
                           objective=objective)
    assert r.objective == pytest.approx(ref)
    assert r.total_cost <= budget + 1e-9
    assert r.stats["services"]["health_station"]["existing_sites"] == 1
    assert not r.stats.get("warnings")
    placed = r.sites[r.sites.origin == "new"]
    assert set(placed.site_id) <= set(r.selected)
    # the 0.1 form {group: Instance} is the same problem
    old = solve_multiservice({"default": base, "elderly": slow}, CAT, budget=budget, existing_services=existing,
                             backend=backend, objective=objective)
    assert old.objective == pytest.approx(r.objective)


def test_missing_speed_group_is_an_error_never_the_default_pace():
    base, slow = tiny(0)
    base = replace(base, group_travel={})
    with pytest.raises(InputError, match="elderly_care.*speed group 'elderly'"):
        solve_multiservice(base, CAT, budget=9.0)
    # on purpose: the service walks on the default table when the catalog says so
    on_purpose = replace(CAT, services=tuple(replace(s, speed_group="default") for s in CAT.services))
    r = solve_multiservice(base, on_purpose, budget=9.0, objective="weighted")
    assert r.objective == pytest.approx(brute(base, base, CAT, 9.0, {}))


def test_capacitated_service_bruteforce():
    from scipy.optimize import linprog

    base, slow = tiny(7, n_sites=4, n_demand=7, statuses=False, area=False)
    cat = Catalog((Service("childcare", 10.0, "population", fitout_cost=1.0, capacity=60.0),
                   Service("health_station", 5.0, "population", weight=0.5, fitout_cost=1.0)))
    t = dense(base)
    w = base.demand.population
    best = -1.0
    for combo in itertools.product(range(4), repeat=4):
        place = np.array([[c & 1 for c in combo], [c >> 1 & 1 for c in combo]], bool)
        conv = place.any(axis=0)
        if base.sites.cost[conv].sum() + place.sum() > 8:
            continue
        i, j = np.nonzero((t <= 10) & place[0][None, :])
        val = 0.0
        if i.size:
            a = np.zeros((7 + 4, i.size))
            a[i, np.arange(i.size)] = 1
            a[7 + j, np.arange(i.size)] = w[i]
            val = -linprog(-w[i], A_ub=a, b_ub=np.r_[np.ones(7), np.full(4, 60.0)], bounds=(0, 1)).fun
        val += 0.5 * w[((t <= 5) & place[1][None, :]).any(axis=1)].sum()
        best = max(best, val)
    r = solve_multiservice(base, cat, budget=8, objective="weighted")
    assert r.objective == pytest.approx(best, rel=1e-7)
    loads = r.sites[r.sites.service == "childcare"]["load"]
    assert (loads <= 60 + 1e-6).all()


def test_evaluate_checks_capacitated_assignment():
    """The solver's assignment is checked for feasibility; the figures come from the plan."""
    import scipy.sparse as sp

    base, _ = tiny(7, n_sites=4, n_demand=7, statuses=False, area=False)
    cat = Catalog((Service("childcare", 10.0, "population", fitout_cost=1.0, capacity=60.0),))
    params = MultiserviceParams(budget=100, catalog=cat)
    rules = SiteRules.of(base)
    r = solve_multiservice(base, cat, budget=8, objective="weighted")
    placed = np.isin(base.sites.ids, r.sites.site_id[r.sites.origin == "new"])
    tr = base.travel
    near = (tr.minutes <= 10) & placed[tr.site_index]
    # every reachable pair fully assigned: over capacity, or more than once, somewhere
    too_much = sp.csr_matrix((np.ones(int(near.sum())), (tr.demand_index[near], tr.site_index[near])),
                             shape=(base.n_demand, base.n_sites))
    with pytest.raises(VerificationError, match="capacity|more than once"):
        MODEL.evaluate(base, params, rules, Plan(placed, {"childcare": placed}, {"childcare": too_much}))
    far = (tr.minutes > 10) & placed[tr.site_index]
    assert far.any()
    k = int(np.flatnonzero(far)[0])
    beyond = sp.csr_matrix(([0.1], ([tr.demand_index[k]], [tr.site_index[k]])), shape=too_much.shape)
    with pytest.raises(VerificationError, match="beyond 10 minutes"):
        MODEL.evaluate(base, params, rules, Plan(placed, {"childcare": placed}, {"childcare": beyond}))
    # the figures come from the plan: without the solver's assignment, or with a poor one, they are the same
    solver_made = r.stats["services"]["childcare"]["covered"]
    for assignment in (None, {"childcare": sp.csr_matrix(too_much.shape)}):
        figures = MODEL.evaluate(base, params, rules, Plan(placed, {"childcare": placed}, assignment))
        assert figures.stats["services"]["childcare"]["covered"] == pytest.approx(solver_made, rel=1e-9)


def test_service_masks_from_frame():
    base, _ = tiny(1)
    cat = CAT
    frame = pd.DataFrame({"id": base.sites.ids, "services": ["health_station;fresh_market", "", "elderly_care",
                                                             None, ""]})
    existing, allowed = service_masks(frame, base, cat)
    assert existing["health_station"].tolist() == [True, False, False, False, False]
    assert allowed["fresh_market"].tolist() == [True, True, False, True, True]
    frame.loc[2, "services"] = "spa"
    with pytest.raises(InputError, match="row 3 .*column 'services'.*spa"):
        service_masks(frame, base, cat)


def test_missing_demand_column_is_a_scenario_error():
    base, _ = tiny(2)
    cat = Catalog((Service("childcare", 5.0, "children"),))
    with pytest.raises(ScenarioError, match="services.childcare.demand_column"):
        solve_multiservice(base, cat, budget=5)


def test_unknown_service_in_masks():
    base, _ = tiny(3)
    with pytest.raises(ParamError, match="parameter 'existing_services': unknown service.*spa"):
        solve_multiservice(base, CAT, budget=5, existing_services={"spa": np.zeros(base.n_sites, bool)})
    with pytest.raises(ParamError, match="parameter 'allowed_services': unknown service.*spa"):
        MultiserviceParams(budget=5, catalog=CAT, allowed_services={"spa": np.zeros(base.n_sites, bool)})
    # without a catalog the default one is checked when solving
    with pytest.raises(ParamError, match="parameter 'allowed_services': unknown service.*spa"):
        solve_multiservice(base, budget=5, allowed_services={"spa": np.zeros(base.n_sites, bool)})


@pytest.mark.parametrize("masks, match", [
    ({"fresh_market": np.ones(3, bool)}, "mask over the 5 sites"),
    ({"fresh_market": np.array([0.5, 1, 0, 1, 1])}, "mask of True/False"),
    ("fresh_market", "expected a mapping"),
])
def test_bad_masks_are_param_errors(masks, match):
    base, _ = tiny(3)
    with pytest.raises(ParamError, match=f"parameter 'allowed_services': .*{match}"):
        solve_multiservice(base, CAT, budget=5, allowed_services=masks)


def test_params_validate():
    with pytest.raises(ParamError, match="parameter 'budget': multiservice needs a limit"):
        MultiserviceParams.from_kwargs({})
    with pytest.raises(ParamError, match="parameter 'objective'"):
        MultiserviceParams(budget=5, objective="people")
    with pytest.raises(ParamError, match="parameter 'catalog'"):
        MultiserviceParams(budget=5, catalog={"elderly_care": {}})
    with pytest.raises(ParamError, match="parameter 'catalog': the catalog has no enabled service"):
        off = replace(CAT, services=tuple(replace(x, enabled=False) for x in CAT.services))
        MultiserviceParams(budget=5, catalog=off)
    assert "services" in MultiserviceParams.scenario_keys() and "catalog" not in MultiserviceParams.scenario_keys()


def test_total_weight_is_person_services():
    base, _ = tiny(4)
    params = MultiserviceParams(budget=5, catalog=CAT)
    want = 2 * base.demand.population.sum() + base.demand.groups["elderly"].sum()
    assert MODEL.total_weight(base, params) == pytest.approx(want)
    r = solve_multiservice(base, CAT, budget=5)
    assert r.total_weight == pytest.approx(want)


def test_evaluate_rejects_broken_plans():
    base, slow = tiny(5, statuses=False)
    inst = replace(base, group_travel={"elderly": slow.travel})
    params = MultiserviceParams(budget=100, catalog=CAT)
    rules = SiteRules.of(inst)
    n = inst.n_sites
    none = {s.key: np.zeros(n, bool) for s in CAT}
    one = np.eye(1, n, 2, dtype=bool).ravel()
    ok = MODEL.evaluate(inst, params, rules, Plan(one, {**none, "health_station": one}))
    assert ok.total_cost == pytest.approx(inst.sites.cost[2] + 1.0)
    with pytest.raises(VerificationError, match="not converted"):
        MODEL.evaluate(inst, params, rules, Plan(np.zeros(n, bool), {**none, "health_station": one}))
    with pytest.raises(VerificationError, match="no placement mask"):
        MODEL.evaluate(inst, params, rules, Plan(one, {"health_station": one}))
    small = replace(inst, sites=replace(inst.sites, floor_area=np.full(n, 400.0)))
    with pytest.raises(VerificationError, match="exceed its floor area"):
        MODEL.evaluate(small, params, SiteRules.of(small),
                       Plan(one, {**none, "elderly_care": one, "health_station": one}))


def write_scenario(tmp_path, groups=True):
    rng = np.random.default_rng(0)
    n_d, n_s = 12, 6
    pd.DataFrame({"id": [f"d{i}" for i in range(n_d)], "population": rng.integers(50, 200, n_d),
                  "elderly": rng.integers(5, 40, n_d), "children": rng.integers(2, 20, n_d),
                  "x": rng.random(n_d) * 500, "y": rng.random(n_d) * 500}).to_csv(tmp_path / "demand.csv", index=False)
    pd.DataFrame({"id": [f"s{j}" for j in range(n_s)], "cost": [0, 1e6, 2e6, 1.5e6, 1e6, 3e6],
                  "x": rng.random(n_s) * 500, "y": rng.random(n_s) * 500,
                  "floor_area": [500, 800, 1200, 400, 900, 2000],
                  "status": ["existing", "candidate", "candidate", "candidate", "candidate", "candidate"],
                  "services": ["health_station", "", "", "childcare", "", ""]}
                 ).to_csv(tmp_path / "sites.csv", index=False)
    d, s = np.meshgrid(np.arange(n_d), np.arange(n_s), indexing="ij")
    t = rng.integers(1, 20, d.size).astype(float)
    base = pd.DataFrame({"demand_id": [f"d{i}" for i in d.ravel()], "candidate_id": [f"s{j}" for j in s.ravel()],
                         "minutes": t, "group": ""})
    table = pd.concat([base, base.assign(minutes=t * 1.3, group="elderly")]) if groups else base.drop(columns="group")
    table.to_csv(tmp_path / "travel.csv", index=False)
    (tmp_path / "ms.toml").write_text(
        '[data]\ndemand = "demand.csv"\ncandidates = "sites.csv"\ntravel_times = "travel.csv"\n'
        '[model]\ntype = "multiservice"\nbudget = 6000000\n'
        '[services.canteen]\nenabled = false\n')
    return tmp_path / "ms.toml"


def test_multiservice_scenario_end_to_end(tmp_path):
    """CSV files + scenario TOML -> run.solve_scenario -> a verified multi-service plan."""
    from siting.run import solve_scenario
    from siting.scenario import load_scenario

    r = solve_scenario(load_scenario(write_scenario(tmp_path)))
    assert r.model == "multiservice" and r.has_solution and r.total_cost <= 6e6
    assert "canteen" not in r.stats["services"]
    assert r.stats["services"]["health_station"]["existing_sites"] == 1
    assert not r.stats.get("warnings")
    new = r.sites[r.sites.origin == "new"]
    assert not ((new.site_id == "s3") & (new.service != "childcare")).any()  # s3 may host childcare only


def test_prepare_hook_reads_catalog_groups_and_services_column(tmp_path):
    from siting.data.load import load_instance

    write_scenario(tmp_path, groups=False)
    asked = []

    def load(groups):
        asked.append(tuple(groups))
        base = load_instance(tmp_path / "demand.csv", tmp_path / "sites.csv", tmp_path / "travel.csv")
        tables = {g: load_instance(tmp_path / "demand.csv", tmp_path / "sites.csv", tmp_path / "travel.csv",
                                   group=g).travel for g in groups}
        return replace(base, group_travel=tables)

    inputs = ScenarioInputs(load_instance=load, candidates=tmp_path / "sites.csv",
                            sections={"services": {"canteen": {"enabled": False}}}, base_dir=tmp_path)
    params, inst = MODEL.prepare(MultiserviceParams(budget=6e6), inputs)
    assert asked[0] == ("elderly",)                     # the speed group of elderly_care
    assert "canteen" not in params.catalog.keys and not inst.group_travel
    assert params.existing_services["health_station"].tolist() == [True] + [False] * 5
    assert params.allowed_services["health_station"][3] == False and params.allowed_services["childcare"][3]
    from siting.models.driver import solve_model

    with pytest.raises(InputError, match="elderly_care"):
        solve_model(MODEL, inst, params)


# ---------------------------------------------------------------- capacitated coverage from the plan
def max_assignable(inst, weight, open_sites, threshold, cap):
    """Largest weight the open sites can serve within ``threshold`` and ``cap`` (a dense LP, tiny only)."""
    from scipy.optimize import linprog

    i, j = np.nonzero((dense(inst) <= threshold) & open_sites[None, :] & (weight[:, None] > 0))
    if i.size == 0:
        return 0.0
    a = np.zeros((inst.n_demand + inst.n_sites, i.size))
    a[i, np.arange(i.size)] = 1.0
    a[inst.n_demand + j, np.arange(i.size)] = weight[i]
    b = np.r_[np.ones(inst.n_demand), np.full(inst.n_sites, cap)]
    return -linprog(-weight[i], A_ub=a, b_ub=b, bounds=(0, 1), method="highs").fun


@pytest.mark.parametrize("seed", range(3))
def test_capacitated_service_of_weight_zero_reports_the_same_coverage_on_every_backend(seed):
    """A service that adds nothing to the objective still reports the plan's best assignment."""
    base, _ = tiny(seed, n_sites=6, n_demand=12, area=False)
    cat = Catalog((Service("childcare", 10.0, "population", weight=0.0, fitout_cost=1.0, capacity=45.0),
                   Service("health_station", 8.0, "population", fitout_cost=1.0)))
    n = base.n_sites
    existing = {"childcare": np.isin(np.arange(n), [0, 2, 3])}
    nowhere = {"childcare": np.zeros(n, bool)}          # the open childcare sites are the same in every plan
    want = max_assignable(base, base.demand.population, existing["childcare"], 10.0, 45.0)
    assert want > 0
    tables = []
    for backend in available_backends():
        r = solve_multiservice(base, cat, budget=6.0, existing_services=existing, allowed_services=nowhere,
                               backend=backend)
        assert r.stats["services"]["childcare"]["covered"] == pytest.approx(want, rel=1e-9), backend
        rows = r.coverage[r.coverage.service == "childcare"].reset_index(drop=True)
        assert (rows["covered"] == rows["site_id"].notna()).all(), backend
        tables.append(rows)
    for other in tables[1:]:
        pd.testing.assert_frame_equal(tables[0], other)


def test_capacitated_service_coverage_names_the_assigned_site_only():
    base, _ = tiny(3, n_sites=4, n_demand=10, statuses=False, area=False)
    cat = Catalog((Service("childcare", 15.0, "population", fitout_cost=1.0, capacity=30.0),))
    params, rules = MultiserviceParams(budget=100, catalog=cat), SiteRules.of(base)
    one = np.eye(1, base.n_sites, 1, dtype=bool).ravel()
    rows = MODEL.evaluate(base, params, rules, Plan(one, {"childcare": one})).coverage
    reach = rows["nearest_open_minutes"] <= 15
    assert (reach & ~rows["covered"]).any()            # capacity leaves reachable points unserved ...
    assert rows.loc[~rows["covered"], "site_id"].isna().all()   # ... and names no site for them
    assert (rows.loc[rows["covered"], "site_id"] == base.sites.ids[1]).all()


# ---------------------------------------------------------------- no conversion without a service
def _converted_without_service(r):
    new = set(r.sites.loc[r.sites.origin == "new", "site_id"])
    return set(r.selected) - new


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("seed", range(8))
def test_solves_convert_only_buildings_that_host_a_service(seed, backend):
    base, slow = tiny(seed)
    inst = replace(base, group_travel={"elderly": slow.travel})
    rng = np.random.default_rng(seed)
    budget = float(rng.choice([6.0, 12.0, 40.0]))
    r = solve_multiservice(inst, CAT, budget=budget, backend=backend, objective=str(rng.choice(["population",
                                                                                                  "share"])))
    assert r.has_solution
    assert not _converted_without_service(r)
    assert r.stats["buildings_converted"] == len(r.selected)


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("seed", range(4))
def test_formulation_has_no_conversion_without_a_service(seed, backend):
    """Rewarding conversions themselves: only buildings that can host a service are converted."""
    from siting.backends import get_backend
    from siting.models.multiservice import build_multiservice
    from siting.options import SolveOptions

    base, slow = tiny(seed, statuses=False)
    inst = replace(base, group_travel={"elderly": slow.travel})
    n = inst.n_sites
    barred = np.isin(np.arange(n), [1, 3])             # no service may go there
    allowed = {s.key: ~barred for s in CAT}
    params = MultiserviceParams(budget=1e3, catalog=CAT, allowed_services=allowed)
    rules = SiteRules.of(inst)
    built = build_multiservice(inst, params, rules)
    program = built.program
    reward = np.zeros(program.n_cols)
    reward[:n] = 1.0                                   # maximise the number of conversions
    sol = get_backend(backend).solve(replace(program, objective=reward, objective_offset=0.0), SolveOptions())
    plan = built.plan_of(sol.x)
    hosting = np.logical_or.reduce([plan.placements[s.key] for s in CAT])
    converted = plan.open_sites & ~rules.existing
    assert converted.any() and not (converted & barred).any()
    assert not (converted & ~hosting).any()


def test_evaluate_rejects_a_conversion_without_a_service():
    base, _ = tiny(5, statuses=False)
    params, rules = MultiserviceParams(budget=100, catalog=CAT), SiteRules.of(base)
    none = {s.key: np.zeros(base.n_sites, bool) for s in CAT}
    two = np.isin(np.arange(base.n_sites), [2, 4])
    only_2 = np.eye(1, base.n_sites, 2, dtype=bool).ravel()
    with pytest.raises(VerificationError, match=f"host no new service: {base.sites.ids[4]}"):
        MODEL.evaluate(base, params, rules, Plan(two, {**none, "health_station": only_2}))


@pytest.mark.parametrize("phased", [False, True])
def test_required_buildings_whose_least_cost_is_above_the_budget_are_named(phased):
    """Each required building costs its conversion plus its cheapest service (a conversion hosts one); the
    check conversions alone pass (the driver's) must not end in a bare "Infeasible" from the solver."""
    base, _ = tiny(6, statuses=False)
    status = base.sites.status.copy()
    status[[2, 3]] = SiteStatus.REQUIRED
    area = np.full(base.n_sites, 1000.0)
    inst = replace(base, sites=replace(base.sites, status=status, floor_area=area))
    least = float(base.sites.cost[[2, 3]].sum()) + 2 * 1.0         # health_station's fit-out is the cheapest
    def money(total):
        if phased:
            return {"phases": [{"year": 2026, "budget": total / 2}, {"year": 2027, "budget": total / 2}],
                    "carry_over": True}
        return {"budget": total}
    short = solve_multiservice(inst, CAT, **money(least - 0.5))
    assert short.status == "infeasible" and not short.has_solution
    assert "the 2 required building(s) cost at least" in short.message, short.message
    assert str(inst.sites.ids[2]) in short.message and str(inst.sites.ids[3]) in short.message
    enough = solve_multiservice(inst, CAT, **money(least))          # the bound is exact: this one has a plan
    assert enough.status == "optimal" and enough.has_solution
    assert set(enough.selected) >= {str(inst.sites.ids[2]), str(inst.sites.ids[3])}


def _nobody_elderly():
    base, _ = tiny(7, statuses=False)
    return replace(base, demand=replace(base.demand, groups={"elderly": np.zeros(base.n_demand)}))


def test_a_share_floor_on_a_group_that_totals_zero_is_an_input_error():
    """A share of nobody: the floor's row would read 0 >= 0 and pass whatever the plan does."""
    inst = _nobody_elderly()
    cat = replace(CAT, services=tuple(replace(s, min_share=0.2) if s.key == "elderly_care" else s for s in CAT))
    with pytest.raises(InputError, match="column 'elderly'.*elderly_care.*totals 0"):
        solve_multiservice(inst, cat, budget=100)


def test_a_service_whose_group_totals_zero_is_named_in_the_results_warnings():
    inst = _nobody_elderly()
    r = solve_multiservice(inst, CAT, budget=100)
    assert r.has_solution
    assert "warning: elderly_care: its demand column 'elderly' totals 0" in r.message, r.message
    assert "health_station: its demand column" not in r.message
    with_people = solve_multiservice(tiny(7, statuses=False)[0], CAT, budget=100)
    assert "totals 0" not in with_people.message


def test_required_building_that_can_host_nothing_is_infeasible():
    base, _ = tiny(6, statuses=False)
    status = base.sites.status.copy()
    status[3] = SiteStatus.REQUIRED
    inst = replace(base, sites=replace(base.sites, status=status))
    allowed = {s.key: np.arange(inst.n_sites) != 3 for s in CAT}
    r = solve_multiservice(inst, CAT, budget=100, allowed_services=allowed)
    assert r.status == "infeasible" and not r.has_solution
    assert f"required building(s) {inst.sites.ids[3]} can host none" in r.message
    allowed[CAT.services[1].key][3] = True                  # one service fits: it is placed there
    r = solve_multiservice(inst, CAT, budget=100, allowed_services=allowed)
    assert inst.sites.ids[3] in set(r.sites.loc[r.sites.origin == "new", "site_id"])
