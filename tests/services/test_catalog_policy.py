"""Catalog policy fields (issue 10): floors, providers per community, priority, operating cost, complex core."""
from __future__ import annotations

import math

import pytest

from siting.errors import ScenarioError
from siting.services import Catalog, Service, load_catalog
from siting.services.catalog import POLICY_FIELDS

COMPLEX_CORE = {"elderly_care", "canteen", "childcare", "nursery", "kindergarten"}
FLOORS_AND_PRIORITY = ("min_share", "min_share_per_community", "priority")


def write(tmp_path, text, name="cat.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def one_line_error(key, **kwargs):
    """Load with ``kwargs``; the ScenarioError text, checked to be one line naming ``key``."""
    with pytest.raises(ScenarioError) as err:
        load_catalog(**kwargs)
    text = str(err.value)
    assert f"key '{key}'" in text and "\n" not in text, text
    return text


# ------------------------------------------------------------------ the shipped catalog
def test_shipped_catalog_sets_no_floor_or_priority():
    for s in load_catalog().services:
        assert all(getattr(s, name) is None for name in FLOORS_AND_PRIORITY), s.key
        assert s.min_providers_per_community == 0, s.key


def test_shipped_complex_core_is_the_elderly_infant_child_meal_services():
    assert {s.key for s in load_catalog().services if s.complex_core} == COMPLEX_CORE


def test_shipped_operating_costs_are_positive_placeholders_flagged_assumed():
    for s in load_catalog().services:
        assert s.operating_cost_per_year > 0 and math.isfinite(s.operating_cost_per_year), s.key
        assert "operating_cost_per_year" in s.assumed, s.key


# ------------------------------------------------------------------ values from overrides and files
def test_overrides_set_every_policy_field_with_plain_types():
    over = {"childcare": {"min_share": 1, "min_share_per_community": 0.25, "min_providers_per_community": 2,
                          "priority": 3, "operating_cost_per_year": 5, "complex_core": False}}
    s = load_catalog(overrides=over)["childcare"]
    assert (s.min_share, s.min_share_per_community, s.min_providers_per_community, s.priority,
            s.operating_cost_per_year, s.complex_core) == (1.0, 0.25, 2, 3, 5.0, False)
    assert type(s.min_share) is float and type(s.operating_cost_per_year) is float
    assert type(s.priority) is int and type(s.min_providers_per_community) is int
    # the other services keep their values
    base = load_catalog()
    assert load_catalog(overrides=over)["canteen"] == base["canteen"]


def test_a_new_service_in_a_file_takes_policy_fields_and_defaults(tmp_path):
    f = write(tmp_path, "[services.a]\nradius_m = 300\ndemand_column = 'population'\nmin_share = 0.6\n"
                        "priority = 1\ncomplex_core = true\n[services.b]\nradius_m = 500\n"
                        "demand_column = 'population'\n")
    cat = load_catalog(f)
    assert (cat["a"].min_share, cat["a"].priority, cat["a"].complex_core) == (0.6, 1, True)
    b = cat["b"]
    assert (b.min_share, b.min_share_per_community, b.min_providers_per_community, b.priority,
            b.operating_cost_per_year, b.complex_core) == (None, None, 0, None, 0.0, False)


def test_a_python_override_of_none_clears_a_floor_or_priority(tmp_path):
    f = write(tmp_path, "[services.a]\nradius_m = 300\ndemand_column = 'population'\nmin_share = 0.6\n"
                        "priority = 2\n")
    a = load_catalog(f, overrides={"a": {"min_share": None, "priority": None}})["a"]
    assert a.min_share is None and a.priority is None


# ------------------------------------------------------------------ one-line errors naming the key
@pytest.mark.parametrize("field, value", [
    ("min_share", 1.5), ("min_share", -0.1), ("min_share", "high"), ("min_share", True), ("min_share", math.nan),
    ("min_share_per_community", 2), ("min_share_per_community", -1),
    ("min_providers_per_community", -1), ("min_providers_per_community", 1.5),
    ("min_providers_per_community", True), ("min_providers_per_community", None),
    ("priority", 0), ("priority", -2), ("priority", 1.5), ("priority", 1.0), ("priority", True), ("priority", "1"),
    ("operating_cost_per_year", -1), ("operating_cost_per_year", math.inf), ("operating_cost_per_year", math.nan),
    ("operating_cost_per_year", None),
    ("complex_core", "yes"), ("complex_core", 1), ("complex_core", None),
])
def test_bad_policy_value_is_one_line_naming_the_key(field, value):
    one_line_error(f"services.canteen.{field}", overrides={"canteen": {field: value}})


def test_file_policy_errors_name_the_file(tmp_path):
    f = write(tmp_path, "[services.a]\nradius_m = 300\ndemand_column = 'population'\nmin_share = 1.2\n")
    text = one_line_error("services.a.min_share", path=f)
    assert text.startswith(str(f))


def test_python_built_services_are_checked_too():
    with pytest.raises(ScenarioError, match=r"key 'services.a.min_share': must be a share in \[0, 1\]"):
        Service("a", 5.0, "population", min_share=1.2)
    with pytest.raises(ScenarioError, match=r"key 'services.a.priority': must be an integer >= 1"):
        Service("a", 5.0, "population", priority=0)
    with pytest.raises(ScenarioError, match=r"key 'services.a.operating_cost_per_year'"):
        Service("a", 5.0, "population", operating_cost_per_year=-3.0)
    s = Service("a", 5.0, "population", min_share=1, priority=2)
    assert type(s.min_share) is float and s.priority == 2


# ------------------------------------------------------------------ a priority or floor on a disabled service
@pytest.mark.parametrize("field, value", [("priority", 1), ("min_share", 0.5), ("min_share_per_community", 0.3),
                                          ("min_providers_per_community", 1)])
def test_policy_on_a_disabled_shipped_service_is_an_error(field, value):
    text = one_line_error(f"services.kindergarten.{field}", overrides={"kindergarten": {field: value}})
    assert text.startswith("overrides: ") and "disabled service 'kindergarten'" in text


def test_disabling_a_service_with_a_policy_is_an_error_naming_it():
    text = one_line_error("services.canteen.min_share",
                          overrides={"services": {"canteen": {"min_share": 0.5, "enabled": False}}})
    assert "'canteen'" in text


def test_a_file_policy_on_a_service_it_disables_names_the_file_and_the_scenario_can_enable_it(tmp_path):
    f = write(tmp_path, "[services.a]\nradius_m = 300\ndemand_column = 'population'\n"
                        "[services.b]\nradius_m = 300\ndemand_column = 'population'\npriority = 1\nenabled = false\n")
    text = one_line_error("services.b.priority", path=f)
    assert text.startswith(str(f))
    assert load_catalog(f, overrides={"b": {"enabled": True}})["b"].priority == 1
    assert load_catalog(f, overrides={"b": {"priority": None}})["b"].priority is None
    # the scenario disabling a service the file gave a priority: named as the scenario's doing
    f2 = write(tmp_path, "[services.a]\nradius_m = 300\ndemand_column = 'population'\npriority = 2\n"
                         "[services.b]\nradius_m = 300\ndemand_column = 'population'\n", name="cat2.toml")
    text = one_line_error("services.a.priority", path=f2, overrides={"a": {"enabled": False}})
    assert text.startswith("overrides: ")


def test_enabling_and_prioritising_in_one_override_is_fine_and_harmless_fields_are_allowed():
    cat = load_catalog(overrides={"kindergarten": {"enabled": True, "priority": 1, "min_share": 0.4}})
    assert cat["kindergarten"].priority == 1 and "kindergarten" in cat.keys
    # zero duties and costs on a disabled service ask for nothing
    cat = load_catalog(overrides={"nursery": {"min_providers_per_community": 0, "min_share": 0.0,
                                              "operating_cost_per_year": 1.0, "complex_core": False}})
    assert "nursery" not in cat.keys


def test_check_policy_on_a_python_catalog():
    ok = Catalog((Service("a", 5.0, "population", priority=1), Service("b", 5.0, "population", enabled=False)))
    ok.check_policy()
    bad = Catalog((Service("a", 5.0, "population"), Service("b", 5.0, "population", enabled=False, min_share=0.2)))
    with pytest.raises(ScenarioError, match=r"^mine.toml: key 'services.b.min_share': .*disabled service 'b'"):
        bad.check_policy("mine.toml")


# ------------------------------------------------------------------ policy_info and threshold_info
def test_policy_info_lists_the_set_fields_only():
    s = load_catalog(overrides={"childcare": {"min_share_per_community": 0.5, "priority": 2}})["childcare"]
    info = s.policy_info()
    assert info == {"min_share_per_community": 0.5, "min_providers_per_community": 0, "priority": 2,
                    "operating_cost_per_year": s.operating_cost_per_year, "complex_core": True}
    assert set(info) <= set(POLICY_FIELDS)
    full = Service("x", 5.0, "population", min_share=0.1, min_share_per_community=0.2,
                   min_providers_per_community=1, priority=1, operating_cost_per_year=9.0).policy_info()
    assert list(full) == list(POLICY_FIELDS)


def test_threshold_info_keeps_its_keys():
    info = load_catalog()["canteen"].threshold_info()
    assert set(info) == {"category", "tier", "radius_m", "speed_group", "flat_speed_m_s", "threshold_minutes",
                         "threshold_source"}
    assert not set(info) & set(POLICY_FIELDS)


# ------------------------------------------------------------------ priority levels
def test_without_priorities_there_is_one_level_of_all_enabled_services():
    cat = load_catalog()
    assert cat.priority_levels() == [cat.keys]


def test_levels_sort_by_priority_share_ties_skip_gaps_and_put_the_rest_last():
    cat = load_catalog(overrides={"fresh_market": {"priority": 7}, "childcare": {"priority": 2},
                                  "canteen": {"priority": 2}, "service_centre": {"priority": 1}})
    levels = cat.priority_levels()
    assert levels == [("service_centre",), ("canteen", "childcare"), ("fresh_market",),
                      ("elderly_care", "health_station", "culture_sports")]
    assert sorted(k for level in levels for k in level) == sorted(cat.keys)


def test_levels_without_a_last_level_when_every_service_has_a_priority_and_only_enabled_services():
    cat = Catalog((Service("a", 5.0, "population", priority=2), Service("b", 5.0, "population", priority=1),
                   Service("c", 5.0, "population", enabled=False)))
    assert cat.priority_levels() == [("b",), ("a",)]
    assert Catalog((Service("c", 5.0, "population", enabled=False),)).priority_levels() == []


# ------------------------------------------------------------------ the documentation follows the catalog
def test_service_catalog_doc_lists_every_policy_field_and_the_shipped_operating_costs():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "models" / "service-catalog.md").read_text(encoding="utf-8")
    for name in POLICY_FIELDS:
        assert f"| `{name}` |" in doc, name
    cells = [c.strip() for line in doc.splitlines() if line.startswith("| ") for c in line.strip("|").split("|")]
    for s in load_catalog().services:
        documented = {cells[i + 1] for i, c in enumerate(cells[:-2]) if c == s.key}
        assert f"{s.operating_cost_per_year:,.0f}" in documented, s.key
