"""Scenario TOML files: the examples load, and each kind of mistake is one line naming file and key."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DEMAND, SITES, TRAVEL, write_csv

from siting.errors import InputError, ScenarioError
from siting.scenario import load_scenario, scenario_from_dict

EXAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "example"


@pytest.mark.parametrize("name,kind", [("mclp", "mclp"), ("lscp", "lscp"), ("partial", "partial")])
def test_examples_load(name, kind):
    s = load_scenario(EXAMPLE / f"{name}.toml")
    assert s.name == name and s.model.type == kind
    assert s.data.demand.is_absolute() and s.data.demand.exists()
    inst = s.load_instance()
    assert inst.name == name and inst.n_demand == 12 and inst.n_sites == 6


@pytest.fixture
def folder(tmp_path):
    write_csv(tmp_path / "demand.csv", DEMAND)
    write_csv(tmp_path / "candidates.csv", SITES)
    write_csv(tmp_path / "travel.csv", TRAVEL)
    return tmp_path


GOOD = """
[data]
demand = "demand.csv"
candidates = "candidates.csv"
travel_times = "travel.csv"

[model]
type = "mclp"
threshold_minutes = 10
budget = 50

[solver]
time_limit = 30
"""


def _toml(folder: Path, text: str) -> Path:
    p = folder / "x.toml"
    p.write_text(text)
    return p


def _error(folder, text) -> tuple[str, str]:
    p = _toml(folder, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(p) + ": ")
    return msg, info.value.key


def test_defaults_and_paths_relative_to_file(folder, monkeypatch):
    monkeypatch.chdir("/")
    s = load_scenario(_toml(folder, GOOD))
    assert s.data.travel_times == (folder / "travel.csv").resolve()
    assert s.solver.name == "highs" and s.solver.strategy == "auto" and s.model.weight_column == "population"
    assert s.solve_options().time_limit_s == 30.0
    assert s.load_instance().n_sites == 3


def test_unknown_key_suggests(folder):
    msg, key = _error(folder, GOOD.replace("budget = 50", "budjet = 50"))
    assert key == "model.budjet"
    assert "key 'model.budjet': unknown key (did you mean 'budget'?)" in msg


def test_wrong_type(folder):
    msg, key = _error(folder, GOOD.replace("budget = 50", 'budget = "abc"'))
    assert key == "model.budget" and "expected a number, got 'abc'" in msg


def test_budget_must_not_be_negative(folder):
    msg, key = _error(folder, GOOD.replace("budget = 50", "budget = -5"))
    assert key == "model.budget" and "at least 0" in msg


def test_budget_zero_asks_what_the_existing_facilities_reach(folder):
    # budget 0 is a real question (the first point of a sweep): accepted, it leaves only free sites
    s = load_scenario(_toml(folder, GOOD.replace("budget = 50", "budget = 0")))
    assert s.model.budget == 0.0


def test_missing_data_file(folder):
    msg, key = _error(folder, GOOD.replace('"travel.csv"', '"travle.csv"'))
    assert key == "data.travel_times" and f"file not found: {(folder / 'travle.csv').resolve()}" in msg


def test_unknown_section(folder):
    msg, key = _error(folder, GOOD + "\n[netwrok]\nspeed = 1\n")
    assert key == "netwrok" and "unknown section (did you mean 'network'?)" in msg


def test_bad_toml_gives_line(folder):
    p = _toml(folder, GOOD.replace("budget = 50", "budget = = 50"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(p)
    line = GOOD.splitlines().index("budget = 50") + 1
    assert "invalid TOML" in str(info.value) and f"line {line}," in str(info.value)


def test_missing_scenario_file(tmp_path):
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "none.toml")


@pytest.mark.parametrize("change,key,word", [
    (("budget = 50", 'type = "pmedain"'), "model.type", "did you mean 'pmedian'"),
    (("budget = 50", "max_sites = 2.5"), "model.max_sites", "whole number"),
    (("time_limit = 30", "time_limit = 0"), "solver.time_limit", "greater than 0"),
    (("time_limit = 30", 'name = "gurobi"'), "solver.name", "allowed"),
    (("time_limit = 30", "mip_gap = -0.1"), "solver.mip_gap", "at least 0"),
    (("threshold_minutes = 10", "threshold_minutes = true"), "model.threshold_minutes", "expected a number"),
    # the solvers take 32-bit seeds: HiGHS ignored a larger one with only an error status
    (("time_limit = 30", "seed = 4294967296"), "solver.seed", "at most 2147483646"),
])
def test_bad_values(folder, change, key, word):
    text = GOOD.replace(*change)
    if "type = \"pmedain\"" in text:
        text = text.replace('type = "mclp"\n', "")
    msg, got = _error(folder, text)
    assert got == key and word in msg


def test_model_requirements(folder):
    _, key = _error(folder, GOOD.replace('"mclp"', '"partial"'))
    assert key == "model.target_coverage"
    _, key = _error(folder, GOOD.replace("budget = 50", ""))
    assert key == "model.budget"  # mclp needs budget or max_sites
    _, key = _error(folder, GOOD.replace('"mclp"', '"gradual"') + "")
    assert key == "model.outer_threshold_minutes"
    msg, key = _error(folder, GOOD.replace('"mclp"', '"gradual"').replace("budget = 50",
                                                                         "budget = 50\nouter_threshold_minutes = 5"))
    assert key == "model.outer_threshold_minutes" and "greater than threshold_minutes" in msg
    msg, key = _error(folder, GOOD.replace('"mclp"', '"partial"').replace("budget = 50", "target_coverage = 1.5"))
    assert key == "model.target_coverage" and "at most 1" in msg
    # keys belong to model types: a partial-covering key on an mclp scenario is named as such
    msg, key = _error(folder, GOOD.replace("budget = 50", "budget = 50\ntarget_coverage = 0.5"))
    assert key == "model.target_coverage" and "not a key of type 'mclp'" in msg and "partial" in msg


def test_travel_times_optional_with_network(folder):
    text = GOOD.replace('travel_times = "travel.csv"\n', "")
    _, key = _error(folder, text)
    assert key == "data.travel_times"
    s = load_scenario(_toml(folder, text + '\n[network]\nstreets = "streets.gpkg"\n'))
    assert s.data.travel_times is None and s.network == {"streets": "streets.gpkg"}
    with pytest.raises(ScenarioError, match="data.travel_times"):
        s.load_instance()


def test_with_overrides(folder):
    s = load_scenario(_toml(folder, GOOD))
    t = s.with_overrides(budget=80, **{"solver.time_limit": 5, "name": "b80"})
    assert (t.model.budget, t.solver.time_limit, t.name) == (80.0, 5.0, "b80")
    assert (s.model.budget, s.name) == (50.0, "x")  # the original is unchanged
    with pytest.raises(ScenarioError, match="model.budget"):
        s.with_overrides(budget=-1)
    with pytest.raises(ScenarioError, match="did you mean 'budget'"):
        s.with_overrides(budjet=1)
    assert s.with_overrides(max_sites=2, budget=None).model.budget is None


def test_weight_column_checked_against_demand(folder):
    s = load_scenario(_toml(folder, GOOD.replace("budget = 50", 'budget = 50\nweight_column = "elderli"')))
    with pytest.raises(ScenarioError) as info:
        s.load_instance()
    assert info.value.key == "model.weight_column" and "did you mean 'elderly'" in str(info.value)
    s = s.with_overrides(weight_column="district")
    with pytest.raises(InputError, match="not numeric"):
        s.load_instance()


def test_from_dict(folder):
    s = scenario_from_dict({"data": {"demand": "demand.csv", "candidates": "candidates.csv",
                                     "travel_times": "travel.csv"},
                            "model": {"type": "lscp", "threshold_minutes": 15}}, base=folder, name="d")
    assert s.name == "d" and s.path is None and s.with_overrides(threshold_minutes=5).model.threshold_minutes == 5


def test_path_overrides_are_relative_to_cwd(folder, tmp_path_factory, monkeypatch):
    s = load_scenario(_toml(folder, GOOD))
    other = tmp_path_factory.mktemp("elsewhere")
    write_csv(other / "t2.csv", TRAVEL)
    monkeypatch.chdir(other)
    assert s.with_overrides(travel_times="t2.csv").data.travel_times == (other / "t2.csv").resolve()
    with pytest.raises(ScenarioError, match="file not found"):
        s.with_overrides(**{"data.travel_times": "travel.csv"})  # exists next to the TOML, not here


def test_utf8_bom_and_uppercase_choice(folder):
    p = folder / "bom.toml"
    p.write_bytes("\ufeff".encode() + GOOD.replace('"mclp"', '"MCLP"').encode())
    assert load_scenario(p).model.type == "mclp"
