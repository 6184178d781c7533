"""``siting evaluate``: the files for every model type, and one-line errors for bad plans and keys."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from siting.cli import main
from siting.evaluate import evaluate
from siting.models.registry import MODELS
from siting.scenario import load_scenario

from .conftest import write_scenario

# [model] keys per type (the round-trip examples' kind); a test fails when a model is added without one
KEYS: dict[str, dict] = {
    "mclp": {"threshold_minutes": 8, "budget": 2e6}, "lscp": {"threshold_minutes": 12},
    "partial": {"threshold_minutes": 8, "target_coverage": 0.6}, "pmedian": {"p": 2}, "pcenter": {"p": 2},
    "backup": {"threshold_minutes": 12, "max_sites": 3},
    "gradual": {"threshold_minutes": 5, "outer_threshold_minutes": 15, "budget": 2e6},
    "capacitated": {"threshold_minutes": 12, "max_sites": 2}, "cflp": {"rate": 1.0},
    "equity": {"threshold_minutes": 10, "max_sites": 2, "equity_column": "community"},
    "multiservice": {"budget": 2.5e6},
}
FILES = ("accessibility.csv", "groups.csv", "supply.csv", "evaluation_summary.csv", "evaluation.json")


def test_every_model_has_keys() -> None:
    assert set(MODELS) == set(KEYS)


@pytest.mark.parametrize("model", sorted(KEYS))
def test_every_model_writes_the_three_tables(tables, tmp_path, model: str) -> None:
    path = write_scenario(tables, model, KEYS[model])
    services = ["elderly_care", "canteen"] if model == "multiservice" else None
    plan = {"model": model, "selected": ["s05", "s06"],
            "selected_sites": [{"site_id": s, "services": ";".join(services)} for s in ("s05", "s06")]
            if services else []}
    ev = evaluate(load_scenario(path), plan=plan, out_dir=tmp_path, by=["community"])
    for name in FILES:
        assert (tmp_path / name).is_file(), name
    acc = pd.read_csv(tmp_path / "accessibility.csv")
    keys = sorted(set(acc["service"]))
    assert keys == (sorted(ev.summary["service"]) if model == "multiservice" else [model])
    assert len(acc) == 40 * len(keys)
    summary = ev.summary.set_index("service")
    assert (summary["providers_after"] >= summary["providers_before"]).all()
    assert summary["providers_after"].sum() > summary["providers_before"].sum()
    groups = pd.read_csv(tmp_path / "groups.csv")
    assert set(groups["group"]) == {"population", "elderly", "children"}
    assert {"all", "community"} == set(groups["by"])
    if model in ("pmedian", "pcenter"):   # no threshold: every reachable pair; no decayed variants
        assert acc["access_gaussian_after"].isna().all() and acc["access_after"].notna().all()


def test_cli_with_a_solve_folder_and_without_a_plan(tables, tmp_path, capsys) -> None:
    path = write_scenario(tables, "mclp", KEYS["mclp"])
    solve_dir = tmp_path / "solve"
    assert main(["solve", str(path), "--out", str(solve_dir), "--quiet"]) == 0
    assert main(["evaluate", str(path), "--out", str(tmp_path / "ev"), "--plan", str(solve_dir / "solution.json")]) == 0
    out = capsys.readouterr().out
    assert "mclp" in out and "written:" in out
    info = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    solution = json.loads((solve_dir / "solution.json").read_text())
    assert info["converted_buildings"] == len(solution["selected"])
    mclp = info["services"][0]
    assert mclp["covered_after"] == pytest.approx(solution["covered_weight"], rel=1e-12)
    assert main(["evaluate", str(path), "--out", str(tmp_path / "none"), "--quiet"]) == 0
    acc = pd.read_csv(tmp_path / "none" / "accessibility.csv")
    assert (acc["access_before"] == acc["access_after"]).all()


def _one_line_error(capsys, argv: list[str], *needles: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err, err
    for n in needles:
        assert n in err, err


def test_errors_are_one_line(tables, tmp_path, capsys) -> None:
    path = write_scenario(tables, "mclp", KEYS["mclp"])
    out = str(tmp_path / "o")
    _one_line_error(capsys, ["evaluate", str(path), "--out", out, "--plan", str(tmp_path / "nope.json")],
                    "nope.json", "not found")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": "mclp", "has_solution": True, "selected": ["zzz"]}))
    _one_line_error(capsys, ["evaluate", str(path), "--out", out, "--plan", str(bad)], "zzz", "site_id")
    bad.write_text(json.dumps({"model": "lscp", "has_solution": True, "selected": []}))
    _one_line_error(capsys, ["evaluate", str(path), "--out", out, "--plan", str(bad)], "lscp", "mclp")
    bad.write_text(json.dumps({"model": "mclp", "has_solution": False, "status": "infeasible", "selected": []}))
    _one_line_error(capsys, ["evaluate", str(path), "--out", out, "--plan", str(bad)], "no solution")
    bad.write_text("{not json")
    _one_line_error(capsys, ["evaluate", str(path), "--out", out, "--plan", str(bad)], "JSON")
    _one_line_error(capsys, ["evaluate", str(path), "--out", out, "--by", "nonexistent"], "nonexistent")
    multi = write_scenario(tables, "multiservice", KEYS["multiservice"], extra='[report]\nby = 3')
    _one_line_error(capsys, ["evaluate", str(multi), "--out", out], "report.by")
    multi = write_scenario(tables, "multiservice", KEYS["multiservice"])
    bad.write_text(json.dumps({"model": "multiservice", "has_solution": True, "selected": ["s05"]}))
    _one_line_error(capsys, ["evaluate", str(multi), "--out", out, "--plan", str(bad)], "services of each building")
    bad.write_text(json.dumps({"model": "multiservice", "has_solution": True, "selected": ["s05"],
                               "selected_sites": [{"site_id": "s05", "services": "spa"}]}))
    _one_line_error(capsys, ["evaluate", str(multi), "--out", out, "--plan", str(bad)], "spa", "not enabled")
