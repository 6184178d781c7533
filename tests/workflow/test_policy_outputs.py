"""What planners read of a policy plan: phases.csv, the report's policy tables and the printed summary.

The results are built by hand (``Result.from_plan``) with the statistics of the issue-10 contract
(models/policy.md), so these tests pin the outputs independently of the model's progress.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from siting.errors import VerificationError
from siting.io import to_jsonable
from siting.result import Result
from siting.run import write_outputs
from siting.status import Termination
from siting.workflow.reporting.html import render_html
from siting.workflow.reporting.policy import (
    community_table,
    opening_years,
    phase_lines,
    phase_table,
    policy_sections,
    service_lines,
    service_table,
)

YEARS = (2025, 2026, 2027)
# catalog order interleaves categories on purpose: the report groups them (elderly first, as it appears first)
SERVICES = {
    "elderly_care": dict(category="elderly", demand_column="elderly", already_covered=97.0, covered=240.0,
                         total=1000.0, threshold_minutes=300 / 0.76 / 60, speed_group="elderly",
                         threshold_source="radius_m 300 m at 0.76 m/s (elderly)", min_share=0.2, priority=1,
                         min_share_per_community=0.1),
    "childcare": dict(category="childcare", demand_column="children", already_covered=50.0, covered=120.0,
                      total=400.0, threshold_minutes=5.0, speed_group="default",
                      threshold_source="threshold_minutes 5 (explicit)"),
    "canteen": dict(category="elderly", demand_column="elderly", already_covered=300.0, covered=310.0,
                    total=1000.0, threshold_minutes=500 / 0.76 / 60, speed_group="elderly",
                    threshold_source="radius_m 500 m at 0.76 m/s (elderly)", priority=2),
}
COMMUNITIES = {"elderly_care": {"north": 0.5, "south": 0.12, "east": 0.3},
               "childcare": {"north": 0.05, "south": 0.4},          # no children in the east: skipped
               "canteen": {"north": 0.31, "south": 0.2, "east": 0.45}}


def _phases() -> tuple[list[dict], list[dict]]:
    """Per-year stats and cost rows of a three-year plan (placements open one building a year)."""
    phases, rows = [], []
    for t, year in enumerate(YEARS):
        site = f"B{t + 1}"
        rows += [{"year": year, "site_id": site, "service": "", "kind": "conversion", "cost": 1e6 * (t + 1)},
                 {"year": year, "site_id": site, "service": "elderly_care", "kind": "service", "cost": 2e5}]
        if t == 2:  # a later placement in a building opened earlier
            rows.append({"year": year, "site_id": "B1", "service": "canteen", "kind": "service", "cost": 1e5})
        spent = sum(r["cost"] for r in rows if r["year"] == year)
        services = {k: {"covered": s["already_covered"] + (s["covered"] - s["already_covered"]) * (t + 1) / 3,
                        "total": s["total"]} for k, s in SERVICES.items()}
        for s in services.values():
            s["share"] = s["covered"] / s["total"]
        phases.append({"year": year, "budget": 2e6 + 1e6 * t, "spent": spent,
                       "new_placements": sum(r["kind"] == "service" for r in rows if r["year"] == year),
                       "buildings_converted": 1, "objective": 0.1 * (t + 1), "services": services})
    return phases, rows


def policy_result(*, phased: bool = True, communities: bool = True) -> Result:
    services = {k: {**s, "share": s["covered"] / s["total"]} for k, s in SERVICES.items()}
    stats: dict = {"services": services}
    sites = pd.DataFrame({"site_id": ["B1", "B2"], "service": ["elderly_care", "canteen"], "origin": ["new", "new"]})
    if phased:
        stats["phases"], stats["phase_rows"] = _phases()
        sites["year"] = [2025, 2027]
    if communities:
        stats["communities"] = COMMUNITIES
    covered = sum(s["covered"] for s in SERVICES.values())
    total = sum(s["total"] for s in SERVICES.values())
    return Result.from_plan("multiservice", termination=Termination.OPTIMAL, objective=0.5, bound=0.5,
                            selected=("B1", "B2", "B3"), total_cost=6.6e6, covered_weight=covered,
                            total_weight=total, solver="highs", seconds=0.1, sites=sites,
                            coverage=pd.DataFrame({"demand_id": ["d1"], "service": ["canteen"], "covered": [True]}),
                            stats=stats)


# ------------------------------------------------------------------------------------------ phases.csv
def test_phases_csv_holds_every_cost_row_and_is_written_before_solution(tmp_path):
    result = policy_result()
    paths = write_outputs(result, tmp_path)
    assert set(paths) == {"solution", "sites", "coverage", "phases"}
    phases = pd.read_csv(paths["phases"], keep_default_na=False)
    assert list(phases.columns) == ["year", "site_id", "service", "kind", "cost"]
    expected = pd.DataFrame(result.stats["phase_rows"])[list(phases.columns)]
    key = list(phases.columns)
    pd.testing.assert_frame_equal(phases.sort_values(key, ignore_index=True),
                                  expected.sort_values(key, ignore_index=True), check_dtype=False)
    assert phases["year"].is_monotonic_increasing  # read year by year
    for _, rows in phases.groupby(["year", "site_id"]):  # a building's conversion before its services
        assert list(rows["kind"]) == sorted(rows["kind"])
    # per year, the rows add up to what the year spent
    spent = phases.groupby("year")["cost"].sum()
    assert spent.to_dict() == pytest.approx({p["year"]: p["spent"] for p in result.stats["phases"]})
    assert paths["phases"].stat().st_mtime_ns <= paths["solution"].stat().st_mtime_ns
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_broken_phase_rows_stop_before_solution_json(tmp_path):
    result = policy_result()
    result.stats["phase_rows"] = [{k: v for k, v in r.items() if k != "kind"} for r in result.stats["phase_rows"]]
    with pytest.raises(VerificationError, match="kind"):
        write_outputs(result, tmp_path)
    assert not (tmp_path / "solution.json").exists()  # the set is incomplete, and says so


def test_unphased_result_writes_no_phases_and_removes_a_stale_one(tmp_path):
    write_outputs(policy_result(), tmp_path)
    assert (tmp_path / "phases.csv").is_file()
    paths = write_outputs(policy_result(phased=False), tmp_path)
    assert "phases" not in paths and not (tmp_path / "phases.csv").exists()
    assert json.loads(paths["solution"].read_text())["stats"].get("phases") is None


def test_phased_plan_without_placements_writes_the_header(tmp_path):
    result = policy_result()
    result.stats["phase_rows"] = []
    paths = write_outputs(result, tmp_path)
    assert paths["phases"].read_text().splitlines() == ["year,site_id,service,kind,cost"]


# ------------------------------------------------------------------------------------------ tables
def test_service_table_before_after_grouped_by_category_with_policy_columns():
    table = service_table(policy_result().stats)
    assert list(table["service"]) == ["elderly_care", "canteen", "childcare"]  # elderly category together
    for row in table.to_dict(orient="records"):
        s = SERVICES[row["service"]]
        assert row["share_before"] == pytest.approx(s["already_covered"] / s["total"])
        assert row["share_after"] == pytest.approx(s["covered"] / s["total"])
        assert row["before"] == f"{s['already_covered']:,.0f} / {s['total']:,.0f}"
        assert row["after"] == f"{s['covered']:,.0f} / {s['total']:,.0f}"
        assert row["threshold_source"] == s["threshold_source"] and row["speed_group"] == s["speed_group"]
        assert row["category"] == s["category"] and row["target_group"] == s["demand_column"]
    assert {"min_share", "priority", "min_share_per_community", "floor_met"} <= set(table.columns)
    assert "min_providers_per_community" not in table.columns  # no service sets it
    floor_met = dict(zip(table["service"], table["floor_met"], strict=True))
    assert floor_met == {"elderly_care": "met", "canteen": "", "childcare": ""}


def test_service_table_without_policy_has_no_policy_columns_and_flags_a_missed_floor():
    stats = policy_result().stats
    # the catalog's policy_info() always carries these; a 0 duty asks for nothing
    plain = {k: {**{f: v for f, v in s.items() if f not in ("min_share", "priority", "min_share_per_community")},
                 "min_providers_per_community": 0, "operating_cost_per_year": 0.0, "complex_core": True}
             for k, s in stats["services"].items()}
    table = service_table({"services": plain})
    assert not {"min_share", "priority", "floor_met", "min_providers_per_community"} & set(table.columns)
    duty = dict(plain, canteen=dict(plain["canteen"], min_providers_per_community=2))
    assert service_table({"services": duty})["min_providers_per_community"].tolist() == [0, 2, 0]
    missed = {k: dict(s, min_share=s["share"] + 0.01) for k, s in plain.items()}
    assert set(service_table({"services": missed})["floor_met"]) == {"NOT met"}


def test_single_service_and_unphased_stats_give_no_policy_tables():
    assert service_table({}) is None and phase_table({}) is None and community_table({}) is None
    assert policy_sections({"warnings": []}) == [] and service_lines({}) == [] and phase_lines({}) == []
    assert opening_years({}) is None


def test_phase_table_one_row_per_year_and_totals():
    stats = policy_result().stats
    table = phase_table(stats)
    years = table.iloc[:-1]
    assert list(years["year"]) == list(YEARS) and table["year"].iloc[-1] == "total"
    assert table["spent"].iloc[-1] == pytest.approx(sum(p["spent"] for p in stats["phases"]))
    assert table["new_placements"].iloc[-1] == sum(p["new_placements"] for p in stats["phases"])
    for k in SERVICES:
        assert list(years[f"share_{k}"]) == pytest.approx([p["services"][k]["share"] for p in stats["phases"]])
    # shares never fall from one year to the next in a nested plan
    assert (years[[f"share_{k}" for k in SERVICES]].diff().iloc[1:] >= 0).all().all()


def test_community_table_worst_first_with_floor_flags():
    table = community_table(policy_result().stats)
    assert list(table["worst_share"]) == sorted(table["worst_share"])
    by = table.set_index("community")
    for c in by.index:
        shares = [COMMUNITIES[k][c] for k in COMMUNITIES if c in COMMUNITIES[k]]
        assert by.loc[c, "worst_share"] == pytest.approx(min(shares))
    assert pd.isna(by.loc["east", "childcare"])  # no children there: not a zero share
    floor = SERVICES["elderly_care"]["min_share_per_community"]
    flagged = {c for c, v in by["below_floor"].items() if "elderly_care" in v.split(";")}
    assert flagged == {c for c, s in COMMUNITIES["elderly_care"].items() if s < floor}
    # a service nobody reaches yet ties every community at 0: the lower average comes first
    tied = community_table({"communities": {"a": {"x": 0.0, "y": 0.0, "z": 0.0}, "b": {"x": 0.9, "y": 0.1, "z": 0.5}}})
    assert list(tied["community"]) == ["y", "z", "x"] and set(tied["worst_share"]) == {0.0}


def test_opening_years_is_the_first_year_of_any_cost_row():
    years = opening_years(policy_result().stats)
    rows = pd.DataFrame(policy_result().stats["phase_rows"])
    assert years == rows.groupby("site_id")["year"].min().to_dict()
    assert years["B1"] == YEARS[0]  # B1 gets canteen in the last year, but opened in the first


# ------------------------------------------------------------------------------------------ HTML
def test_policy_sections_in_the_page_and_unchanged_through_solution_json():
    result = policy_result()
    sections = policy_sections(result.stats)
    assert [h for h, _ in sections] == ["Services by category: before → after", "Plan by year",
                                        "Coverage per community"]
    html = render_html("t", sections)
    for s in SERVICES.values():
        assert f"{s['already_covered']:,.0f} → {s['covered']:,.0f} / {s['total']:,.0f}" in html
        assert f"{100 * s['already_covered'] / s['total']:.1f} % → {100 * s['covered'] / s['total']:.1f} %" in html
        assert s["threshold_source"] in html and f"{s['threshold_minutes']:.1f} min" in html
    for year in YEARS:
        assert f"<td>{year}</td>" in html and f"<th>{year}</th>" in html  # money row, shares column
    for p in result.stats["phases"]:
        for k, s in p["services"].items():
            assert f"<td>{100 * s['share']:.1f} %</td>" in html, (p["year"], k)
    assert "http://" not in html and "https://" not in html
    # the report reads record.json: the same tables after the JSON round trip (NaN -> null, keys -> str)
    stats = json.loads(json.dumps(to_jsonable(result.summary())))["stats"]
    assert policy_sections(stats) == sections


def test_community_section_shows_the_worst_first_and_says_how_many():
    many = {"elderly_care": {f"c{i:03d}": i / 100 for i in range(80)}}
    (heading, body), = policy_sections({"communities": many}, max_communities=10)
    assert heading == "Coverage per community" and "80 communities" in body and "the 10 worst" in body
    shown = re.findall(r"<tr><td>(c\d+)</td>", body)
    assert shown == [f"c{i:03d}" for i in range(10)]


# ------------------------------------------------------------------------------------------ CLI
def test_cli_prints_each_service_before_after_and_each_year(monkeypatch, tmp_path, capsys):
    import siting.workflow
    from siting.cli import main

    result = policy_result()
    monkeypatch.setattr(siting.workflow, "solve", lambda *a, **k: (result, SimpleNamespace(out_dir=tmp_path)))
    assert main(["solve", str(tmp_path / "s.toml"), "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    for key, s in SERVICES.items():
        line = next(x for x in lines if x.strip().startswith(f"{key} "))
        before, after = s["already_covered"] / s["total"], s["covered"] / s["total"]
        assert re.search(rf" {100 * before:.1f} % -> +{100 * after:.1f} % ", line), line
    assert "floor 20.0 % met" in next(x for x in lines if x.strip().startswith("elderly_care"))
    year_lines = [x.strip() for x in lines if re.match(r"\s*20\d\d: ", x)]
    assert [int(x[:4]) for x in year_lines] == list(YEARS)
    for line, p in zip(year_lines, result.stats["phases"], strict=True):
        assert f"spent {p['spent']:,.0f} of {p['budget']:,.0f}" in line
        assert f"elderly_care {100 * p['services']['elderly_care']['share']:.1f} %" in line


def test_cli_prints_no_policy_lines_for_a_single_service_model(monkeypatch, tmp_path, capsys):
    import siting.workflow
    from siting.cli import main

    plain = Result.from_plan("mclp", termination=Termination.OPTIMAL, objective=5.0, bound=5.0, selected=("S1",),
                             total_cost=1.0, covered_weight=5.0, total_weight=10.0, solver="highs", seconds=0.1,
                             sites=pd.DataFrame(), coverage=pd.DataFrame(), stats={})
    monkeypatch.setattr(siting.workflow, "solve", lambda *a, **k: (plain, SimpleNamespace(out_dir=tmp_path)))
    assert main(["solve", str(tmp_path / "s.toml"), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "before -> after" not in out and "by year" not in out and "written to" in out


# ------------------------------------------------------------------------------------------ the document
def test_policy_doc_names_every_policy_key():
    from siting.models.multiservice_params import MultiserviceParams
    from siting.services.catalog import POLICY_FIELDS as CATALOG_POLICY_FIELDS

    doc = (Path(__file__).resolve().parents[2] / "models" / "policy.md").read_text(encoding="utf-8")
    keys = set(MultiserviceParams.scenario_keys()) | set(CATALOG_POLICY_FIELDS)
    missing = sorted(k for k in keys if f"`{k}`" not in doc and f"[model.{k}" not in doc and f"[[{k}]]" not in doc)
    assert missing == []


# ------------------------------------------------------------------------------------------ end to end
PHASED = """
[data]
demand = "demand.csv"
candidates = "candidates.csv"
travel_times = "travel_times.csv"
crs = "EPSG:32648"

[model]
type = "multiservice"
community_column = "district"

[services.elderly_care]
threshold_minutes = 10
speed_group = "default"
priority = 1
min_share = 0.2
[services.canteen]
threshold_minutes = 10
speed_group = "default"
min_share_per_community = 0.0

[[phases]]
year = 2025
budget = 2000000
[[phases]]
year = 2026
budget = 1500000
[[phases]]
year = 2027
budget = 2000000

[solver]
name = "highs"
time_limit = 60
"""


@pytest.fixture
def phased_scenario(example):
    """The example district with a community per building (nearest demand point's district) and three years."""
    import numpy as np

    demand = pd.read_csv(example / "demand.csv")
    sites = pd.read_csv(example / "candidates.csv")
    nearest = np.argmin(np.hypot(sites["x"].to_numpy()[:, None] - demand["x"].to_numpy()[None],
                                 sites["y"].to_numpy()[:, None] - demand["y"].to_numpy()[None]), axis=1)
    sites["district"] = demand["district"].to_numpy()[nearest]
    sites.to_csv(example / "candidates.csv", index=False)
    (example / "phased.toml").write_text(PHASED)
    return example / "phased.toml"


def test_phased_solve_and_report_end_to_end(phased_scenario, tmp_path, capsys):
    import geopandas as gpd

    from siting.cli import main
    from siting.workflow.reporting import build_report

    out = tmp_path / "out"
    assert main(["solve", str(phased_scenario), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    solution = json.loads((out / "solution.json").read_text())
    stats = solution["stats"]
    years = [p["year"] for p in stats["phases"]]
    assert years == [2025, 2026, 2027]
    # phases.csv: each year's rows add up to what the year spent, within the year's budget
    phases = pd.read_csv(out / "phases.csv", keep_default_na=False, dtype={"site_id": str})
    assert list(phases.columns) == ["year", "site_id", "service", "kind", "cost"]
    spent = phases.groupby("year")["cost"].sum().reindex(years, fill_value=0.0)
    for p in stats["phases"]:
        assert spent[p["year"]] == pytest.approx(p["spent"], abs=1e-6)
        assert p["spent"] <= p["budget"] + 1e-6
    assert phases["cost"].sum() == pytest.approx(solution["total_cost"])
    # sites.csv: a new placement opens in the year phases.csv charges it
    sites = pd.read_csv(out / "sites.csv", dtype={"site_id": str})
    new = sites[sites["origin"] == "new"].set_index(["site_id", "service"])["year"]
    charged = phases[phases["kind"] == "service"].set_index(["site_id", "service"])["year"]
    assert new.sort_index().to_dict() == charged.sort_index().to_dict()
    # the printed summary: every service, every year
    for key in stats["services"]:
        assert re.search(rf"^\s+{key}\s+[\d.]+ % -> +[\d.]+ %", printed, re.M), key
    for p in stats["phases"]:
        assert f"{p['year']}: spent {p['spent']:,.0f} of {p['budget']:,.0f}" in printed
    # the report: the years, and the year each building opens in the GeoPackage
    rep = build_report(phased_scenario, out_dir=out, quiet=True)
    # the report reads the plan `siting solve --out` wrote into the same folder instead of solving it again
    assert not (out / "solve").exists() and rep.record["selected"] == solution["selected"]
    html = rep.html.read_text(encoding="utf-8")
    for heading in ("Services by category: before → after", "Plan by year"):
        assert f">{heading}</h2>" in html
    selected = gpd.read_file(rep.gpkg, layer="selected_sites")
    opened = phases.groupby("site_id")["year"].min().to_dict()
    assert dict(zip(selected["site_id"].astype(str), selected["year"], strict=True)) == opened
