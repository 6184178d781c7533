"""The service catalog: the full life-circle basket, thresholds from walking distances, validation."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from siting.errors import ScenarioError
from siting.models.base import ScenarioInputs
from siting.models.multiservice import MODEL, MultiserviceParams
from siting.services import load_catalog, solve_multiservice
from siting.services.catalog import CATEGORIES, DEFAULT_SPEED_GROUP, TIERS
from siting.testing import random_instance
from siting.travel.speed import DEFAULT_ADULT_SPEED_M_S, DEFAULT_ELDERLY_SPEED_M_S

LEGACY_KEYS = ("elderly_care", "canteen", "health_station", "childcare", "fresh_market", "culture_sports",
               "service_centre")
EIGHT = ("education", "elderly", "health", "childcare", "culture", "sports", "commerce", "community")


def write(tmp_path, text, name="cat.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ the shipped basket
def test_shipped_catalog_covers_the_eight_categories_with_the_named_services():
    cat = load_catalog()
    by_category = {c: {s.key for s in cat.services if s.category == c} for c in EIGHT}
    assert all(by_category.values()), {c: keys for c, keys in by_category.items() if not keys}
    assert {"kindergarten", "nursery"} <= by_category["education"]
    assert {"elderly_care", "canteen"} <= by_category["elderly"]
    assert {"health_station", "health_centre"} <= by_category["health"]
    assert {"sports_indoor", "sports_ground"} <= by_category["sports"]
    assert {"fresh_market", "convenience_parcel"} <= by_category["commerce"]
    assert {"employment_station", "service_centre"} <= by_category["community"]
    assert cat["health_centre"].tier == "15min" and cat["health_station"].tier == "5min"
    assert cat["sports_ground"].area_basis == "land"


def test_every_shipped_service_has_tier_radius_norm_and_provenance():
    for s in load_catalog().services:
        assert s.tier in TIERS and s.category in CATEGORIES, s.key
        assert s.radius_m is not None and s.threshold_source != "explicit", s.key   # distances, not times
        assert s.source or "radius_m" in s.assumed, f"{s.key}: no source and the radius is not flagged assumed"
        assert s.area_norm_m2 is not None or "min_floor_area_m2" in s.assumed, f"{s.key}: area neither normed " \
                                                                                "nor flagged assumed"
        if s.area_norm_m2 is not None and s.area_basis == "building":
            assert s.area_norm_m2[0] <= s.min_floor_area_m2 <= s.area_norm_m2[1], s.key


def test_default_enabled_set_is_the_legacy_basket():
    """The demo and scripts run the default catalog: its enabled set stays the 0.1 one."""
    assert load_catalog().keys == LEGACY_KEYS


def test_shipped_speeds_match_the_travel_defaults():
    speeds = load_catalog().speeds
    assert speeds[DEFAULT_SPEED_GROUP] == DEFAULT_ADULT_SPEED_M_S
    assert speeds["elderly"] == DEFAULT_ELDERLY_SPEED_M_S


def test_by_category_follows_the_category_order():
    cat = load_catalog().select(["service_centre", "kindergarten", "canteen"])
    assert list(cat.by_category()) == ["education", "elderly", "community"]


# ------------------------------------------------------------------ thresholds from distances
def test_threshold_is_the_radius_at_the_group_flat_speed():
    cat = load_catalog()
    for s in cat.services:
        speed = cat.speeds[s.speed_group or DEFAULT_SPEED_GROUP]
        assert s.flat_speed_m_s == speed
        assert s.threshold_minutes == pytest.approx(s.radius_m / speed / 60.0), s.key
    assert round(cat["elderly_care"].threshold_minutes, 1) == 6.6         # the 300 m at 0.76 m/s


def test_no_double_penalty_same_distance_for_elderly_and_adult_services():
    cat = load_catalog()
    elderly, adult = cat["elderly_care"], cat["health_station"]
    assert elderly.radius_m == adult.radius_m
    walked = {s.key: s.threshold_minutes * 60.0 * s.flat_speed_m_s for s in (elderly, adult)}
    assert walked["elderly_care"] == pytest.approx(walked["health_station"])
    assert elderly.threshold_minutes > adult.threshold_minutes


def test_explicit_threshold_wins_within_a_layer_and_a_later_radius_replaces_it(tmp_path):
    f = write(tmp_path, "[services.a]\nradius_m = 600\nthreshold_minutes = 7\ndemand_column = 'population'\n")
    cat = load_catalog(f)
    assert cat["a"].threshold_minutes == 7.0 and cat["a"].threshold_source == "explicit"
    cat = load_catalog(f, overrides={"a": {"radius_m": 300}})
    assert cat["a"].threshold_minutes == pytest.approx(300 / cat.speeds[DEFAULT_SPEED_GROUP] / 60)
    assert cat["a"].threshold_source.startswith("radius_m 300 m")
    over = load_catalog(overrides={"elderly_care": {"threshold_minutes": 5}})["elderly_care"]
    assert over.threshold_minutes == 5.0 and over.threshold_source == "explicit"


def test_derived_thresholds_follow_speeds_groups_and_radii():
    base = load_catalog()
    cat = load_catalog(overrides={"speeds": {"elderly": 0.6}, "childcare": {"speed_group": "elderly"},
                                  "fresh_market": {"threshold_minutes": 12}})
    assert cat["elderly_care"].threshold_minutes == pytest.approx(base["elderly_care"].radius_m / 0.6 / 60)
    assert cat["childcare"].threshold_minutes == pytest.approx(base["childcare"].radius_m / 0.6 / 60)
    assert cat["health_station"].threshold_minutes == base["health_station"].threshold_minutes
    assert cat["fresh_market"].threshold_minutes == 12.0
    later = load_catalog(overrides={"speeds": {"default": 1.2}})
    assert later["health_station"].threshold_minutes == pytest.approx(base["health_station"].radius_m / 1.2 / 60)
    assert later["elderly_care"].threshold_minutes == base["elderly_care"].threshold_minutes


def test_speeds_argument_comes_before_the_overrides():
    cat = load_catalog(speeds={"elderly": 0.7})
    assert cat["canteen"].flat_speed_m_s == 0.7
    cat = load_catalog(speeds={"elderly": 0.7}, overrides={"services": {}, "speeds": {"elderly": 0.9}})
    assert cat["canteen"].flat_speed_m_s == 0.9


def test_a_user_file_without_speeds_uses_the_shipped_ones(tmp_path):
    f = write(tmp_path, "[services.a]\nradius_m = 380\nspeed_group = 'elderly'\ndemand_column = 'elderly'\n")
    cat = load_catalog(f)
    assert cat.speeds == load_catalog().speeds
    assert cat["a"].threshold_minutes == pytest.approx(380 / cat.speeds["elderly"] / 60)
    assert cat["a"].category == "other"
    f = write(tmp_path, "[speeds]\nelderly = 0.5\n[services.a]\nradius_m = 300\nspeed_group = 'elderly'\n"
                        "demand_column = 'elderly'\n")
    assert load_catalog(f)["a"].threshold_minutes == pytest.approx(10.0)


# ------------------------------------------------------------------ one-line errors naming the key
@pytest.mark.parametrize("over, key", [
    ({"canteen": {"category": "leisure"}}, "services.canteen.category"),
    ({"canteen": {"radius_m": -300}}, "services.canteen.radius_m"),
    ({"canteen": {"radius_m": 0}}, "services.canteen.radius_m"),
    ({"canteen": {"tier": "20min"}}, "services.canteen.tier"),
    ({"canteen": {"area_basis": "roof"}}, "services.canteen.area_basis"),
    ({"canteen": {"area_norm_m2": [500, 100]}}, "services.canteen.area_norm_m2"),
    ({"canteen": {"area_norm_m2": [100]}}, "services.canteen.area_norm_m2"),
    ({"canteen": {"area_norm_m2": "100-200"}}, "services.canteen.area_norm_m2"),
    ({"canteen": {"assumed": ["colour"]}}, "services.canteen.assumed"),
    ({"canteen": {"threshold_minutes": 0}}, "services.canteen.threshold_minutes"),
    ({"canteen": {"speed_group": "wheelchair"}}, "services.canteen.speed_group"),
    ({"pharmacy": {"demand_column": "population"}}, "services.pharmacy"),
    ({"speeds": {"elderly": 0}}, "speeds.elderly"),
    ({"speeds": {"elderly": "slow"}}, "speeds.elderly"),
    ({"speeds": 0.76}, "speeds"),
    ({"services": {"speeds": {"demand_column": "population", "radius_m": 3}}}, "services.speeds"),
])
def test_bad_input_is_one_line_naming_the_key(over, key):
    with pytest.raises(ScenarioError) as err:
        load_catalog(overrides=over)
    text = str(err.value)
    assert f"key '{key}'" in text and "\n" not in text


def test_file_errors_name_the_file_and_key(tmp_path):
    f = write(tmp_path, "[services.a]\ndemand_column = 'population'\n")
    with pytest.raises(ScenarioError, match=r"cat.toml: key 'services.a': needs radius_m .* or threshold_minutes"):
        load_catalog(f)
    f = write(tmp_path, "[speeds]\ndefault = 1.0\n[services.a]\nradius_m = 300\nspeed_group = 'elderly'\n"
                        "demand_column = 'elderly'\n")
    with pytest.raises(ScenarioError, match=r"key 'services.a.speed_group': speed group 'elderly' has no flat"):
        load_catalog(f)
    f = write(tmp_path, "[speeds]\nelderly = 0.76\n[services.a]\nradius_m = 300\ndemand_column = 'population'\n")
    with pytest.raises(ScenarioError, match=r"key 'services.a': speed group 'default' has no flat speed"):
        load_catalog(f)


def test_an_explicit_threshold_needs_no_flat_speed(tmp_path):
    f = write(tmp_path, "[speeds]\ndefault = 1.0\n[services.a]\nthreshold_minutes = 4\nspeed_group = 'cyclists'\n"
                        "demand_column = 'population'\n")
    s = load_catalog(f)["a"]
    assert s.threshold_minutes == 4.0 and s.flat_speed_m_s is None and s.radius_m is None


# ------------------------------------------------------------------ the model reads the resolved threshold
def _with_slow_elderly_table(seed):
    base = random_instance(12, 6, seed=seed, groups=True, floor_area=True)
    slow = replace(base.travel, minutes=base.travel.minutes * 1.5)
    return replace(base, group_travel={"elderly": slow})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_multiservice_covers_within_the_radius_at_flat_speed_and_reports_it(seed):
    inst = _with_slow_elderly_table(seed)
    cat = load_catalog().select(["elderly_care", "health_station"])
    r = solve_multiservice(inst, cat, budget=40.0 + 4e6)
    assert r.has_solution
    for key in cat.keys:
        s, stats = cat[key], r.stats["services"][key]
        for name in ("category", "tier", "radius_m", "flat_speed_m_s", "threshold_minutes", "threshold_source"):
            assert stats[name] == getattr(s, name), (key, name)
        assert stats["speed_group"] == (s.speed_group or DEFAULT_SPEED_GROUP)
        # recount from the raw pairs with the distance rule, not the catalog's minutes
        travel = inst.group_travel[s.speed_group] if s.speed_group else inst.travel
        limit_min = s.radius_m / cat.speeds[stats["speed_group"]] / 60.0
        open_ids = set(r.sites.loc[r.sites.service == key, "site_id"])
        is_open = np.isin(inst.sites.ids[travel.site_index], list(open_ids))
        reached = np.unique(travel.demand_index[is_open & (travel.minutes <= limit_min)])
        weight = inst.demand.weight(s.demand_column)
        assert stats["covered"] == pytest.approx(weight[reached].sum())


def test_scenario_services_section_can_set_speeds(tmp_path):
    """A scenario's [services.speeds] reaches the catalog the multiservice model solves with."""
    inst = _with_slow_elderly_table(4)

    inputs = ScenarioInputs(load_instance=lambda groups: inst, candidates=tmp_path / "none.csv",
                            sections={"services": {"speeds": {"elderly": 0.5}, "canteen": {"enabled": False}}},
                            base_dir=tmp_path)
    (tmp_path / "none.csv").write_text("id,cost\n" + "".join(f"{i},1\n" for i in inst.sites.ids))
    params, _ = MODEL.prepare(MultiserviceParams(budget=10.0), inputs)
    assert params.catalog.speeds["elderly"] == 0.5 and "canteen" not in params.catalog.keys
    assert params.catalog["elderly_care"].threshold_minutes == pytest.approx(300 / 0.5 / 60)


def test_network_speeds_reach_the_catalog_thresholds():
    """The catalog's minutes come from the speeds the [network] walked at (first group = the default table)."""
    from siting.models.multiservice import _network_speeds
    from siting.services import load_catalog

    speeds = _network_speeds({"speeds": {"adult": 1.2, "elderly": 0.6}})
    assert speeds == {"default": 1.2, "elderly": 0.6}
    cat = load_catalog(speeds=speeds)
    elderly = cat["elderly_care"]
    assert elderly.threshold_minutes == pytest.approx(elderly.radius_m / 0.6 / 60)
    assert _network_speeds({}) is None
