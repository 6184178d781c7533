"""The report's "walking model used" section."""
from __future__ import annotations

from types import SimpleNamespace

from siting.travel.speed import ELDERLY_STAIRS, SpeedProfile, StairRates
from siting.workflow.reporting.walking import TEXTS, walking_model_table, walking_section, with_walking_model


def test_section_states_speeds_slopes_and_stair_rates_per_group():
    prof = SpeedProfile({"adult": 1.0, "elderly": 0.76}, stairs={"adult": StairRates(0.45, 0.8)})
    table = walking_model_table(prof)
    assert table.iloc[:, 0].tolist() == ["adult", "elderly"] and table.iloc[:, 1].tolist() == [1.0, 0.76]
    stairs = table.iloc[:, 3].tolist()
    assert "0.450" in stairs[0] and "0.800" in stairs[0]
    assert f"{ELDERLY_STAIRS.descent_m_per_s:.3f}" in stairs[1]
    assert "Tobler" in table.iloc[0, 2] and "+0 %" in table.iloc[1, 2]
    head, body = walking_section(prof, lang="zh")
    assert head == TEXTS["heading"]["zh"] and "台阶" in body
    _, legacy = walking_section(SpeedProfile(stairs_factor=0.5))
    assert "Legacy stair model" in legacy


def test_inserted_after_the_coverage_table(tmp_path):
    sections = [("Summary", "s"), ("Coverage per service", "c"), ("Maps", "m")]
    with_net = SimpleNamespace(network={"path": "streets.gpkg", "speeds": {"adult": 1.0, "elderly": 0.76}},
                               path=tmp_path / "s.toml", base_dir=tmp_path, data=None)
    out = with_walking_model(sections, with_net)
    assert [h for h, _ in out] == ["Summary", "Coverage per service", "Walking model used", "Maps"]
    assert "0.76" in out[2][1]
    table_only = SimpleNamespace(network={}, data=SimpleNamespace(travel_times=tmp_path / "t.csv"))
    body = with_walking_model(sections, table_only)[2][1]
    assert "t.csv" in body and "not recorded" in body
