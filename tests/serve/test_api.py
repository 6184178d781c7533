"""The JSON API of ``siting serve`` through FastAPI's test client, on the tiny district (conftest)."""
from __future__ import annotations

import time

import pandas as pd
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402

from siting.cli import main as cli_main  # noqa: E402
from siting.serve.app import create_app  # noqa: E402

from .conftest import BUDGET, write_district  # noqa: E402


@pytest.fixture(scope="module")
def tiny_scenario(tmp_path_factory):
    """One tiny district for the module (tests only read it; each test plans in its own session)."""
    data = tmp_path_factory.mktemp("serve") / "data"
    data.mkdir()
    return write_district(data)


@pytest.fixture(scope="module")
def client(tiny_scenario):
    app = create_app(tiny_scenario, out_dir=tiny_scenario.parent.parent / "out")
    with TestClient(app) as c:
        yield c


def tab(name: str) -> dict[str, str]:
    return {"X-Siting-Session": name}


def solve(client, body, session):
    r = client.post("/api/solve", json=body, headers=tab(session))
    assert r.status_code == 200, r.text
    return r.json()


def test_scenario_lists_services_budget_sites_and_map_layers(client, tiny_scenario):
    s = client.get("/api/scenario").json()
    assert s["budget"] == BUDGET and s["model"] == "multiservice"
    enabled = [x["key"] for x in s["services"] if x["enabled"]]
    assert enabled == ["elderly_care", "health_station", "childcare"]
    sites = pd.read_csv(tiny_scenario.parent / "sites.csv")
    assert [x["id"] for x in s["sites"]] == sites["id"].tolist()
    assert {x["id"]: x["status"] for x in s["sites"]} == dict(zip(sites["id"], sites["status"], strict=True))
    assert len(s["map"]["demand_u"]) == len(pd.read_csv(tiny_scenario.parent / "demand.csv"))
    assert s["map"]["streets"].startswith("M") and len(s["map"]["zones"]) == 3 and not s["notes"]
    assert client.get("/api/scenario?lang=zh").json()["strings"]["replan"] != s["strings"]["replan"]


def test_replan_returns_verified_fields_shares_and_the_diff_against_the_previous_plan(client):
    first = solve(client, {}, "replan")
    assert first["status"] == "optimal" and first["has_solution"] and first["diff"] is None
    for key in ("objective", "best_bound", "gap", "selected", "total_cost", "covered_weight", "params"):
        assert key in first
    # the shares are the service figures the driver recomputed from the raw tables
    for share in first["shares"].values():
        assert share["share"] == pytest.approx(share["covered"] / share["total"])
    second = solve(client, {"budget": 2 * BUDGET}, "replan")
    assert second["total_cost"] <= 2 * BUDGET and second["budget"] == 2 * BUDGET
    assert second["objective"] >= first["objective"] - 1e-9      # more money never covers less
    diff = second["diff"]
    assert diff["against"] == first["plan"]
    assert diff["opened"] == sorted(set(second["selected"]) - set(first["selected"]))
    assert diff["closed"] == sorted(set(first["selected"]) - set(second["selected"]))
    for key, change in diff["coverage_change"].items():
        assert change == pytest.approx(second["shares"][key]["share"] - first["shares"][key]["share"])
    # the map's coverage bits agree with the covered weight of each service
    demand = pd.read_csv(client.app.state.serve.planner.scenario.data.demand)
    bits = second["covered"]["childcare"]
    assert len(bits) == len(demand)
    covered = demand["children"][[b == "1" for b in bits]].sum()
    assert covered == pytest.approx(second["shares"]["childcare"]["covered"])


def test_locks_and_service_overrides_reach_the_plan(client):
    free = solve(client, {}, "locks")
    chosen = free["selected"][0]
    other = next(s["id"] for s in client.get("/api/scenario").json()["sites"]
                 if s["status"] == "candidate" and s["id"] not in free["selected"])
    locked = solve(client, {"required": [other], "excluded": [chosen]}, "locks")
    assert other in locked["selected"] and chosen not in locked["selected"]
    floor = solve(client, {"budget": 4 * BUDGET, "services": {"childcare": {"min_share": 0.5, "weight": 3}}}, "locks")
    assert floor["shares"]["childcare"]["share"] >= 0.5 - 1e-9
    off = solve(client, {"services": {"childcare": {"enabled": False}}}, "locks")
    assert "childcare" not in off["shares"]


BAD = [
    ({"budget": -5}, "model.budget"),
    ({"budget": "lots"}, "budget: expected a number"),
    ({"required": ["nope"]}, "unknown site id 'nope'"),
    ({"excluded": ["b00"]}, "existing facility"),
    ({"required": ["b01"], "excluded": ["b01"]}, "both required and excluded"),
    ({"services": {"childcare": {"min_share": 1.5}}}, "min_share"),
    ({"services": {"childcare": {"colour": 1}}}, "unknown field 'colour'"),
    ({"time_limit": -1}, "solver.time_limit"),
    ({"budgett": 1}, "unknown field 'budgett'"),
]


def test_bad_requests_get_a_one_line_4xx_and_the_server_keeps_planning(client):
    for body, words in BAD:
        r = client.post("/api/solve", json=body, headers=tab("bad"))
        assert 400 <= r.status_code < 500, body
        detail = r.json()["detail"]
        assert words in detail and "\n" not in detail and "Traceback" not in detail, (body, detail)
    assert client.get("/api/plans", headers=tab("bad")).json() == []     # nothing was kept
    assert solve(client, {}, "bad")["has_solution"]                       # and the server still plans


def test_not_json_unknown_job_and_unknown_plan(client):
    assert client.post("/api/solve", content=b"{budget", headers=tab("x")).status_code == 400
    assert client.get("/api/jobs/abc", headers=tab("x")).status_code == 404
    assert client.get("/api/plans/7", headers=tab("x")).status_code == 404
    assert client.get("/api/export?format=toml", headers=tab("x")).status_code == 404


def test_two_tabs_keep_their_own_plans(client):
    a = solve(client, {"budget": BUDGET}, "two-a")
    b = solve(client, {"budget": 2 * BUDGET}, "two-b")
    a2 = solve(client, {"budget": BUDGET / 2}, "two-a")
    assert a2["diff"]["against"] == a["plan"] and b["diff"] is None
    plans_a = client.get("/api/plans", headers=tab("two-a")).json()
    plans_b = client.get("/api/plans", headers=tab("two-b")).json()
    assert [p["budget"] for p in plans_a] == [BUDGET, BUDGET / 2]
    assert [p["budget"] for p in plans_b] == [2 * BUDGET]


def wait(client, job_id, session):
    for _ in range(300):
        status = client.get(f"/api/jobs/{job_id}", headers=tab(session)).json()
        if status["state"] not in ("queued", "running"):
            return status
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_background_jobs_report_progress_and_can_be_cancelled(client):
    first = client.post("/api/jobs", json={"budget": 2 * BUDGET}, headers=tab("j"))
    second = client.post("/api/jobs", json={"budget": BUDGET}, headers=tab("j"))
    assert first.status_code == second.status_code == 202
    # one worker: the second waits behind the first, and cancelling it means it never runs
    cancelled = client.delete(f"/api/jobs/{second.json()['job_id']}", headers=tab("j")).json()
    assert cancelled["state"] == "cancelled"
    done = wait(client, first.json()["job_id"], "j")
    assert done["state"] == "done" and done["progress"] == 1.0 and done["plan"]["has_solution"]
    assert wait(client, second.json()["job_id"], "j")["state"] == "cancelled"
    assert [p["budget"] for p in client.get("/api/plans", headers=tab("j")).json()] == [2 * BUDGET]
    # another tab cannot see (or cancel) this tab's job
    assert client.delete(f"/api/jobs/{first.json()['job_id']}", headers=tab("k")).status_code == 404


def test_replans_without_priorities_warm_start_from_the_previous_plan(client):
    body = {"services": {"elderly_care": {"priority": None}}}
    first = solve(client, dict(body, budget=BUDGET), "w")
    second = solve(client, dict(body, budget=2 * BUDGET), "w")       # more money: the old plan still fits
    # ... and the model's own search spends the added money on it before the solver starts
    assert first["warm_start"].startswith("none") and second["warm_start"] == "previous plan, improved"
    assert second["objective"] >= first["objective"] - 1e-9
    # less money than the plan costs: the previous plan is repaired (buildings dropped) into a start
    assert second["total_cost"] > BUDGET / 2
    third = solve(client, dict(body, budget=BUDGET / 2), "w")
    assert third["warm_start"].startswith("previous plan, repaired") and third["total_cost"] <= BUDGET / 2


def test_exported_toml_reproduces_the_plan_with_siting_solve(client, tmp_path):
    free = solve(client, {}, "e")
    other = next(s["id"] for s in client.get("/api/scenario").json()["sites"]
                 if s["status"] == "candidate" and s["id"] not in free["selected"])
    plan = solve(client, {"budget": 1.5 * BUDGET, "required": [other],
                          "services": {"childcare": {"weight": 2}}, "time_limit": 15}, "e")
    text = client.get("/api/export?format=toml", headers=tab("e")).text
    path = tmp_path / "again.toml"
    path.write_text(text)
    assert cli_main(["solve", str(path), "--out", str(tmp_path / "again"), "--quiet"]) == 0
    import json

    again = json.loads((tmp_path / "again" / "solution.json").read_text())
    assert sorted(again["selected"]) == sorted(plan["selected"])
    assert again["total_cost"] == pytest.approx(plan["total_cost"])
    assert again["objective"] == pytest.approx(plan["objective"], rel=1e-9)
    sites = pd.read_csv(tmp_path / "again" / "sites.csv")
    new = sites[sites["origin"] == "new"]
    assert {k: sorted(g) for k, g in new.groupby("site_id")["service"]} == plan["placements"]
    # pinned: the plan's buildings required, every other idle building excluded (reproduces time-limited plans)
    pinned = tmp_path / "pinned.toml"
    pinned.write_text(client.get("/api/export?format=toml&pin=1", headers=tab("e")).text)
    assert cli_main(["solve", str(pinned), "--out", str(tmp_path / "pinned"), "--quiet"]) == 0
    again = json.loads((tmp_path / "pinned" / "solution.json").read_text())
    assert sorted(again["selected"]) == sorted(plan["selected"])
    assert again["objective"] == pytest.approx(plan["objective"], rel=1e-9)


def test_csv_and_geopackage_exports(client):
    import io

    import pyogrio

    plan = solve(client, {}, "g")
    table = pd.read_csv(io.StringIO(client.get("/api/export?format=csv", headers=tab("g")).text))
    assert set(table.loc[table["origin"] == "new", "site_id"]) == set(plan["selected"])
    gpkg = client.get("/api/export?format=gpkg&session=g")
    assert gpkg.status_code == 200 and gpkg.content[:16] == b"SQLite format 3\x00"
    layers = dict(pyogrio.list_layers(io.BytesIO(gpkg.content)))
    assert {"sites", "coverage"} <= set(layers)
    assert client.get("/api/export?format=xls", headers=tab("g")).status_code == 400


def test_the_page_embeds_a_cjk_font_with_every_chinese_character_it_can_show(client):
    import base64
    import io
    import re

    from fontTools.ttLib import TTFont

    from siting.serve.strings import STRINGS

    page = client.get("/").text
    found = re.search(r'src:url\(data:font/otf;base64,([A-Za-z0-9+/=]+)\)', page)
    assert found, "no embedded font"
    cmap = TTFont(io.BytesIO(base64.b64decode(found.group(1)))).getBestCmap()
    scenario = client.get("/api/scenario?lang=zh").json()
    names = "".join(str(s.get("name", "")) for s in scenario["services"])
    needed = {c for c in "".join(zh for _, zh in STRINGS.values()) + names if "\u4e00" <= c <= "\u9fff"}
    assert needed and not {c for c in needed if ord(c) not in cmap}
    assert page.count("<style>") == 1 and "Siting CJK" in page


def test_a_session_id_never_names_a_folder_outside_the_output(client, tiny_scenario):
    evil = "../../../../escape"
    body = {"time_limit": 5}
    r = client.post("/api/solve", json=body, headers={"X-Siting-Session": evil})
    assert r.status_code == 200, r.text
    sid = r.headers.get("X-Siting-Session") or r.cookies.get("siting_session")
    assert sid and sid != evil and "/" not in sid
    out = tiny_scenario.parent.parent
    assert not (out.parent.parent / "escape").exists() and not any(p.name.startswith("escape")
                                                                    for p in out.parent.parent.glob("*"))


def test_a_time_limit_above_the_scenarios_is_refused(client):
    r = client.post("/api/solve", json={"time_limit": 1e9}, headers=tab("greedy"))
    assert r.status_code == 400 and "time_limit" in r.json()["detail"] and "\n" not in r.json()["detail"]
