"""The stair model (time per metre climbed / descended), per-group slope responses, access legs with height."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siting.errors import ScenarioError
from siting.travel import SpeedProfile, compute_travel_times, parse_network_section, random_points, street_network
from siting.travel.graph import WalkGraph
from siting.travel.matrix import numba_available
from siting.travel.speed import ADULT_STAIRS, ELDERLY_SLOPE, ELDERLY_STAIRS, SlopeResponse, StairRates

from .reference import as_dict, reference_minutes, stair_model_costs

ENGINES = ["scipy"] + (["numba"] if numba_available() else [])

# explicit rates so that the expected minutes below are hand arithmetic, not the code's defaults
RATES = {"adult": StairRates(0.5, 1.0), "elderly": StairRates(0.25, 0.2)}


def _stairway():
    """A (0 m) -100 m flat- B (0 m) -stairs: 30 m going, 18 m rise (60 %)- C (18 m) -50 m flat- D (18 m)."""
    return WalkGraph.from_segments([0, 100, 130, 180], [0, 0, 0, 0], [0, 0, 18, 18], [0, 1, 2], [1, 2, 3],
                                   stairs=[False, True, False], crs="EPSG:32648")


def _pt(name, x, **cols):
    return pd.DataFrame({"id": [name], "x": [float(x)], "y": [0.0], **{k: [v] for k, v in cols.items()}})


def test_elderly_vs_adult_on_a_steep_stairway_hand_computed():
    g = _stairway()
    prof = SpeedProfile({"adult": 1.0, "elderly": 0.76}, stairs=RATES)
    up = compute_travel_times(g, _pt("a", 0), _pt("d", 180), cutoff_min=30, profile=prof)
    down = compute_travel_times(g, _pt("d", 180), _pt("a", 0), cutoff_min=30, profile=prof)
    m_up = dict(zip(up["group"], up["minutes"], strict=True))
    m_down = dict(zip(down["group"], down["minutes"], strict=True))
    # adult up: 100 + (30 + 18 / 0.5) + 50 = 216 s; down: 100 + (30 + 18 / 1.0) + 50 = 198 s
    assert m_up[""] == pytest.approx(216 / 60) and m_down[""] == pytest.approx(198 / 60)
    # elderly up: 180 / 0.76 + 18 / 0.25 = 308.84 s; down: 180 / 0.76 + 18 / 0.2 = 326.84 s (slower down)
    assert m_up["elderly"] == pytest.approx((180 / 0.76 + 72) / 60)
    assert m_down["elderly"] == pytest.approx((180 / 0.76 + 90) / 60)
    assert m_down["elderly"] > m_up["elderly"] and m_down[""] < m_up[""]
    # the flat-scaled model would have made the elderly 1 / 0.76 = 1.32x the adult time both ways
    assert m_down["elderly"] / m_down[""] == pytest.approx(326.842105 / 198, rel=1e-6)
    assert m_down["elderly"] / m_down[""] > 1.6 > 1 / 0.76
    assert up.attrs["searches"] == 2


def test_stair_time_grows_with_the_rise_unlike_the_legacy_factor():
    def minutes(rise_m, profile):
        g = WalkGraph.from_segments([0, 20], [0, 0], [0, rise_m], [0], [1], stairs=[True])
        return compute_travel_times(g, _pt("a", 0), _pt("b", 20), cutoff_min=10, profile=profile)["minutes"].item()

    model, legacy = SpeedProfile(), SpeedProfile(stairs_factor=0.5)
    assert minutes(10, model) == pytest.approx((20 + 10 / ADULT_STAIRS.ascent_m_per_s) / 60)
    assert minutes(10, model) > minutes(2, model)
    assert minutes(10, legacy) == pytest.approx(minutes(2, legacy)) == pytest.approx(40 / 60)


def test_default_rates_follow_the_documented_derivation():
    # adults: 0.5 m/s horizontal up a 50 % stair at 1.0 m/s flat: r = 0.5 * 0.5 * 1 / 0.5
    assert ADULT_STAIRS.ascent_m_per_s == pytest.approx(0.5)
    assert ADULT_STAIRS.descent_m_per_s == pytest.approx(0.5 * 0.65 / 0.35)
    # older adults (Oh-Park et al. 2011): 3 steps of 178 / 279 mm up in 2.78 s, down in 2.83 s at 0.76 m/s flat
    run, rise = 3 * 0.279, 3 * 0.178
    for rate, seconds in ((ELDERLY_STAIRS.ascent_m_per_s, 2.78), (ELDERLY_STAIRS.descent_m_per_s, 2.83)):
        assert run / 0.76 + rise / rate == pytest.approx(seconds)
    assert ELDERLY_STAIRS.descent_m_per_s < ELDERLY_STAIRS.ascent_m_per_s       # older people: down is not faster
    assert ADULT_STAIRS.descent_m_per_s > ADULT_STAIRS.ascent_m_per_s


@pytest.mark.parametrize("engine", ENGINES)
def test_per_group_searches_equal_an_independent_reference(engine):
    g = street_network(900, seed=5)
    assert g.seg_stairs.any() and np.isfinite(g.node_z).all()
    d = random_points(g, 80, seed=1, prefix="d")
    s = random_points(g, 25, seed=2, prefix="s")
    prof = SpeedProfile.default(elderly=True)
    t = compute_travel_times(g, d, s, cutoff_min=10, profile=prof, engine=engine)
    assert t.attrs["searches"] == 2
    for label, name, slope in (("", "adult", SlopeResponse()), ("elderly", "elderly", ELDERLY_SLOPE)):
        v = prof.groups[name]
        r = prof.stair_rates(name)
        costs = stair_model_costs(g, speed_m_s=v, ascent_m_per_s=r.ascent_m_per_s, descent_m_per_s=r.descent_m_per_s,
                                  optimum_grade=slope.optimum_grade, uphill_k=slope.uphill_k,
                                  downhill_k=slope.downhill_k)
        exp = reference_minutes(g, d, s, cutoff_min=10, speed_m_s=v, costs=costs)
        got = as_dict(t[t["group"] == label])
        assert len(exp) > 50
        assert set(got) == set(exp)
        assert max(abs(got[k] - exp[k]) for k in exp) < 1e-9


def test_groups_differing_by_a_constant_factor_share_one_search():
    g = street_network(600, seed=3)
    d = random_points(g, 40, seed=1, prefix="d")
    s = random_points(g, 15, seed=2, prefix="s")
    scaled = SpeedProfile({"adult": 1.0, "slow": 0.8},
                          stairs={"adult": ADULT_STAIRS, "slow": ADULT_STAIRS.scaled(0.8)})
    assert [m for _, m in scaled.search_classes()] == [["adult", "slow"]]
    t = compute_travel_times(g, d, s, cutoff_min=10, profile=scaled)
    assert t.attrs["searches"] == 1
    own = SpeedProfile({"slow": 0.8}, stairs={"slow": ADULT_STAIRS.scaled(0.8)})
    alone = as_dict(compute_travel_times(g, d, s, cutoff_min=10, profile=own))
    shared = as_dict(t[t["group"] == "slow"])
    assert set(alone) == set(shared) and max(abs(alone[k] - shared[k]) for k in alone) < 1e-9


def test_access_legs_walk_the_height_to_the_street():
    g = WalkGraph.from_segments([0, 200], [0, 0], [0, 0], [0], [1], crs="EPSG:32648")
    prof = SpeedProfile({"adult": 1.0}, stairs={"adult": StairRates(0.5, 1.0)})
    site = _pt("s", 200, elevation_m=0.0)
    flat = compute_travel_times(g, _pt("d", 0).assign(y=20.0), site, cutoff_min=10, profile=prof)
    high = compute_travel_times(g, _pt("d", 0, z=12.0).assign(y=20.0), site, cutoff_min=10, profile=prof)
    # 20 m access + 200 m street; a block 12 m above its street walks down 12 m at 1.0 m/s (+12 s)
    assert flat["minutes"].item() == pytest.approx(220 / 60)
    assert high["minutes"].item() == pytest.approx(232 / 60)
    back = compute_travel_times(g, site, _pt("d", 0, z=12.0).assign(y=20.0), cutoff_min=10, profile=prof)
    assert back["minutes"].item() == pytest.approx((220 + 12 / 0.5) / 60)  # climbing up to the block
    # elevations from samples (a DEM) when the layers carry none: a plane z = 0.06 * y
    dem = (np.array([-100.0, 300.0, -100.0]), np.array([-100.0, -100.0, 300.0]), np.array([-6.0, -6.0, 18.0]))
    sampled = compute_travel_times(g, _pt("d", 0).assign(y=20.0), site.drop(columns="elevation_m"), cutoff_min=10,
                                   profile=prof, elevation_samples=dem)
    assert sampled["minutes"].item() == pytest.approx((220 + 1.2 / 1.0) / 60)


def test_network_section_stairs_and_slopes(tmp_path):
    cfg = parse_network_section({"path": "s.gpkg", "speeds": {"adult": 1.0, "elderly": 0.76},
                                 "stairs": {"elderly": {"ascent_m_per_s": 0.2}},
                                 "slopes": {"elderly": {"downhill_k": 5.0}}}, check_files=False)
    p = cfg.profile()
    assert p.stair_rates("elderly") == StairRates(0.2, ELDERLY_STAIRS.descent_m_per_s, "scenario [network.stairs]")
    assert p.slope_response("elderly") == SlopeResponse(3.5, 5.0, 0.0)
    assert not p.legacy_stairs and p.stair_rates("adult") == ADULT_STAIRS
    assert parse_network_section({"path": "s.gpkg", "stairs_factor": 0.4}, check_files=False).profile().legacy_stairs
    bad = [
        ({"stairs_factor": 0.5, "stairs": {"adult": {"ascent_m_per_s": 0.3}}}, "not both"),
        ({"stairs": {"elderly": {"ascent_m_per_s": 0.3}}}, "no group 'elderly'"),
        ({"stairs": {"adult": {"ascent_m_s": 0.3}}}, "did you mean 'ascent_m_per_s'"),
        ({"stairs": {"adult": {"descent_m_per_s": -1}}}, "network.stairs.adult.descent_m_per_s"),
        ({"slopes": {"adult": {"optimum_grade": 0.9}}}, "at most 0.3"),
    ]
    for extra, message in bad:
        with pytest.raises(ScenarioError, match=message):
            parse_network_section({"path": "s.gpkg", **extra}, file="s.toml", check_files=False)
