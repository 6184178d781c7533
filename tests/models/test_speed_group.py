"""Group speeds everywhere: a single model weighted by a group that walks slower says which table it walks on."""
from __future__ import annotations

import pandas as pd
import pytest

import siting
from siting.data import instance_from_frames
from siting.models.params import ParamError
from siting.scenario import scenario_from_dict

DEMAND = pd.DataFrame({"id": ["a", "b"], "population": [100, 100], "elderly": [40, 10], "x": [0, 1], "y": [0, 0]})
SITES = pd.DataFrame({"id": ["s1", "s2"], "cost": [1.0, 1.0], "x": [0, 1], "y": [0, 0]})
# adults reach s1 from both points within 5 min; the elderly only from a
TRAVEL = pd.DataFrame({
    "demand_id": ["a", "b", "b", "a", "b", "b"],
    "candidate_id": ["s1", "s1", "s2", "s1", "s1", "s2"],
    "minutes": [2.0, 4.0, 3.0, 3.0, 7.0, 4.0],
    "group": ["", "", "", "elderly", "elderly", "elderly"],
})


def _instance(group=None):
    return instance_from_frames(DEMAND, SITES, TRAVEL, group=group)


def test_weight_of_a_speed_group_without_speed_group_is_an_error():
    with pytest.raises(ParamError) as err:
        siting.solve(_instance(), model="mclp", threshold_min=5, max_sites=1, weight_column="elderly")
    assert err.value.param == "speed_group" and "speed_group = 'elderly'" in str(err.value)


def test_speed_group_walks_on_its_table_and_default_is_explicit():
    elderly = _instance("elderly")
    inst = siting.solve(_instance(), model="mclp", threshold_min=5, max_sites=1, weight_column="elderly",
                        speed_group="default")
    assert inst.covered_weight == 50.0          # the default rows: both points reach s1 within 5 min
    from dataclasses import replace

    both = replace(_instance(), group_travel={"elderly": elderly.travel})
    slow = siting.solve(both, model="mclp", threshold_min=5, max_sites=1, weight_column="elderly",
                        speed_group="elderly")
    assert slow.covered_weight == 40.0          # at elderly pace no one site serves both: s1 serves a (40)
    assert slow.params["speed_group"] == "elderly"


def test_scenario_loads_the_named_group(tmp_path):
    DEMAND.to_csv(tmp_path / "demand.csv", index=False)
    SITES.to_csv(tmp_path / "candidates.csv", index=False)
    TRAVEL.to_csv(tmp_path / "travel.csv", index=False)
    data = {"demand": "demand.csv", "candidates": "candidates.csv", "travel_times": "travel.csv"}
    from siting.run import solve_scenario

    s = scenario_from_dict({"data": data, "model": {"type": "mclp", "threshold_minutes": 5, "max_sites": 1,
                                                     "weight_column": "elderly", "speed_group": "elderly"}},
                           base=tmp_path)
    res = solve_scenario(s)
    assert res.has_solution and res.params["speed_group"] == "elderly"
    missing = scenario_from_dict({"data": data, "model": {"type": "mclp", "threshold_minutes": 5, "max_sites": 1,
                                                           "weight_column": "elderly"}}, base=tmp_path)
    with pytest.raises(ParamError, match="speed_group"):
        solve_scenario(missing)


def test_report_reach_walks_on_the_models_speed_group_table():
    """The report's reach (siting.workflow.evaluation.service_reach) uses the table the model walked on."""
    from dataclasses import replace

    from siting.models.registry import get_model
    from siting.rules import SiteRules
    from siting.workflow.evaluation import ModelInputs, service_reach

    both = replace(_instance(), group_travel={"elderly": _instance("elderly").travel})
    model = get_model("mclp")
    params = model.params.from_kwargs({"threshold_min": 5, "max_sites": 1, "weight_column": "elderly",
                                       "speed_group": "elderly"})
    (reach,) = service_reach(ModelInputs(model, params, both, SiteRules.of(both)))
    # at elderly pace b does not reach s1 within 5 min (7.0), at the default pace it does (4.0)
    assert reach.within.toarray().tolist() == [[1.0, 0.0], [0.0, 1.0]]
