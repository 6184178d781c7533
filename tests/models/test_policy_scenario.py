"""Policy keys from a scenario TOML, end to end, and the one-line errors of bad policy input (issue 10)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from siting.errors import ScenarioError
from siting.run import solve_scenario, write_outputs
from siting.scenario import load_scenario


def write_district(tmp_path, n_d=30, n_s=10, seed=0):
    """Three communities (text labels), elderly and children, an elderly table 1.3x slower."""
    rng = np.random.default_rng(seed)
    comm = np.array(["C01", "C02", "C03"])[np.arange(n_d) % 3]
    pd.DataFrame({"id": [f"d{i}" for i in range(n_d)], "population": rng.integers(50, 200, n_d),
                  "elderly": rng.integers(5, 40, n_d), "children": rng.integers(2, 20, n_d),
                  "x": rng.random(n_d) * 900, "y": rng.random(n_d) * 900, "community": comm}
                 ).to_csv(tmp_path / "demand.csv", index=False)
    pd.DataFrame({"id": [f"s{j}" for j in range(n_s)], "cost": rng.integers(5, 20, n_s) * 1e5,
                  "x": rng.random(n_s) * 900, "y": rng.random(n_s) * 900,
                  "floor_area": rng.choice([300, 700, 1200], n_s), "status": "candidate", "services": "",
                  "community": np.array(["C01", "C02", "C03"])[np.arange(n_s) % 3]}
                 ).to_csv(tmp_path / "sites.csv", index=False)
    d, s = np.meshgrid(np.arange(n_d), np.arange(n_s), indexing="ij")
    t = rng.uniform(1, 14, d.size).round(2)
    base = pd.DataFrame({"demand_id": [f"d{i}" for i in d.ravel()], "candidate_id": [f"s{j}" for j in s.ravel()],
                         "minutes": t, "group": ""})
    pd.concat([base, base.assign(minutes=(t * 1.3).round(2), group="elderly")]).to_csv(tmp_path / "travel.csv",
                                                                                        index=False)


HEAD = ('[data]\ndemand = "demand.csv"\ncandidates = "sites.csv"\ntravel_times = "travel.csv"\n'
        '[model]\ntype = "multiservice"\n')
SERVICES = ('[services]\nspeeds = { elderly = 0.76 }\n'
            '[services.canteen]\nenabled = false\n[services.fresh_market]\nenabled = false\n'
            '[services.culture_sports]\nenabled = false\n[services.service_centre]\nenabled = false\n')


def scenario(tmp_path, model="", top="", services=""):
    write_district(tmp_path)
    path = tmp_path / "policy.toml"
    path.write_text(top + HEAD + model + SERVICES + services)
    return path


def test_every_policy_key_from_toml_end_to_end(tmp_path):
    path = scenario(tmp_path, model='objective = "share"\npriority_tolerance = 0.0\n'
                                     '[model.budget_groups.young_and_old]\nservices = ["elderly_care", "childcare"]\n'
                                     'min = 500000\n',
                    top='[[phases]]\nyear = 2025\nbudget = 4000000\n[[phases]]\nyear = 2026\nbudget = 4000000\n',
                    services='[services.elderly_care]\npriority = 1\nmin_providers_per_community = 1\n')
    r = solve_scenario(load_scenario(path))
    assert r.has_solution, r.message
    assert [p["year"] for p in r.stats["phases"]] == [2025, 2026]
    assert all(p["spent"] <= p["budget"] + 1e-6 for p in r.stats["phases"])
    assert r.stats["priority_levels"][0]["services"] == ["elderly_care"]
    assert r.stats["budget_groups"]["young_and_old"]["spent"] >= 500000
    new = r.sites[r.sites.origin == "new"]
    assert set(new["year"].dropna().astype(int)) <= {2025, 2026}
    elderly = r.sites[r.sites.service == "elderly_care"]
    comm = pd.read_csv(tmp_path / "sites.csv").set_index("id")["community"]
    assert set(comm[elderly.site_id]) == {"C01", "C02", "C03"}          # a provider in every community
    paths = write_outputs(r, tmp_path / "out")
    solution = json.loads(paths["solution"].read_text())
    assert solution["params"]["phases"][0] == {"year": 2025, "budget": 4000000.0}
    assert {"site_id", "service", "origin", "year"} <= set(pd.read_csv(paths["sites"]).columns)


def test_priority_one_reaches_what_the_budget_reaches_alone(tmp_path):
    alone = solve_scenario(load_scenario(scenario(
        tmp_path, model="budget = 1500000\n",
        services='[services.health_station]\nenabled = false\n[services.childcare]\nenabled = false\n')))
    first = solve_scenario(load_scenario(scenario(
        tmp_path, model="budget = 1500000\n", services='[services.elderly_care]\npriority = 1\n')))
    share = alone.stats["services"]["elderly_care"]["share"]
    assert first.stats["services"]["elderly_care"]["share"] == pytest.approx(share, abs=1e-9)


def test_floor_the_budget_cannot_reach_names_service_and_largest_share(tmp_path):
    r = solve_scenario(load_scenario(scenario(tmp_path, model="budget = 600000\n",
                                              services='[services.elderly_care]\nmin_share = 0.9\n')))
    assert r.status.value == "infeasible"
    assert "elderly_care" in r.message and "largest share" in r.message
    reach = float(r.message.split("reach is ")[1].split()[0])
    alone = solve_scenario(load_scenario(scenario(
        tmp_path, model="budget = 600000\n",
        services='[services.health_station]\nenabled = false\n[services.childcare]\nenabled = false\n')))
    assert reach == pytest.approx(alone.stats["services"]["elderly_care"]["share"], abs=1e-3)   # computed
    beyond = solve_scenario(load_scenario(scenario(tmp_path, model="budget = 600000\n",
                                                   services='[services.elderly_care]\nmin_share = 0.99\n')))
    assert beyond.status.value == "infeasible" and "converting every building" in beyond.message


@pytest.mark.parametrize(("model", "top", "services", "key", "words"), [
    ("budget = 1e6\n", "", "[services.elderly_care]\nmin_share = 1.5\n", "min_share", "between|at most|\\[0, 1\\]"),
    ("budget = 1e6\n[model.budget_groups.g]\nservices = [\"nope\"]\nmax = 5\n", "", "", "budget_groups",
     "nope"),
    ("budget = 1e6\n", "", "[services.kindergarten]\npriority = 1\n", "kindergarten", "enabled|disabled"),
    ("", "[[phases]]\nyear = 2026\nbudget = 1e6\n[[phases]]\nyear = 2025\nbudget = 1e6\n", "", "phases",
     "out of order"),
    ("", "[[phases]]\nyear = 2026\n", "", "phases", "budget"),
    ("budget = 1e6\n[model.budget_groups.care]\nservices = [\"elderly_care\"]\nmin = 2e6\n", "", "", "budget_groups",
     "min 2,000,000 is above the budget of 1,000,000"),
    ("[model.budget_groups.care]\nservices = [\"elderly_care\"]\nmin = 2.5e6\n",
     "[[phases]]\nyear = 2026\nbudget = 1e6\n[[phases]]\nyear = 2027\nbudget = 1e6\n", "", "budget_groups",
     "min 2,500,000 is above the budget of 2,000,000"),
])
def test_bad_policy_input_is_one_line(tmp_path, model, top, services, key, words):
    with pytest.raises(Exception) as info:
        solve_scenario(load_scenario(scenario(tmp_path, model=model, top=top, services=services)))
    message = str(info.value)
    assert "\n" not in message and key in message
    import re
    assert re.search(words, message), message


def test_floor_on_a_service_no_building_may_host(tmp_path):
    with pytest.raises(Exception, match="no building may host"):
        solve_scenario(load_scenario(scenario(
            tmp_path, model="budget = 1e6\n",
            services='[services.health_station]\nmin_share = 0.5\nmin_floor_area_m2 = 99999\n')))


def test_phases_need_a_multiservice_model(tmp_path):
    write_district(tmp_path)
    path = tmp_path / "m.toml"
    path.write_text('[[phases]]\nyear = 2025\nbudget = 1\n[data]\ndemand = "demand.csv"\ncandidates = "sites.csv"\n'
                    'travel_times = "travel.csv"\n[model]\ntype = "mclp"\nbudget = 1e6\nthreshold_minutes = 5\n')
    with pytest.raises(ScenarioError, match="phases.*multiservice"):
        load_scenario(path)
