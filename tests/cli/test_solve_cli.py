"""`siting solve` end to end on the bundled example scenarios."""
import json
from pathlib import Path

import pandas as pd
import pytest

from siting.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "example"
FIELDS = {"status", "objective", "best_bound", "gap", "selected", "total_cost", "covered_weight", "total_weight",
          "weight_column", "covered_definition", "covered_population", "total_population", "solver", "seconds"}


@pytest.mark.parametrize("name", ["mclp", "lscp", "partial"])
def test_solve_writes_the_three_outputs(tmp_path, name, capsys):
    out = tmp_path / name
    code = main(["solve", str(EXAMPLE / f"{name}.toml"), "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    solution = json.loads((out / "solution.json").read_text())
    assert FIELDS <= solution.keys()
    assert solution["status"] == "optimal"
    sites = pd.read_csv(out / "sites.csv", dtype={"site_id": str})
    coverage = pd.read_csv(out / "coverage.csv", dtype={"demand_id": str, "site_id": str})
    demand = pd.read_csv(EXAMPLE / "demand.csv", dtype={"id": str})
    candidates = pd.read_csv(EXAMPLE / "candidates.csv", dtype={"id": str})
    assert sorted(coverage["demand_id"]) == sorted(demand["id"])
    assert set(solution["selected"]) <= set(candidates["id"])
    assert set(sites.loc[sites["selected"], "site_id"]) == set(solution["selected"])
    # figures agree with the per-row tables
    weight = solution["weight_column"]
    assert solution["covered_weight"] == pytest.approx(coverage.loc[coverage["covered"], "weight"].sum())
    assert (coverage["weight"] == demand.set_index("id").loc[coverage["demand_id"], weight].to_numpy()).all()
    assert solution["covered_population"] == solution["covered_weight"]  # the 0.1 name, same number
    assert solution["total_cost"] == pytest.approx(sites.loc[sites["selected"], "cost"].sum())
    assert solution["total_weight"] == pytest.approx(demand[weight].sum())
    # nothing partial left behind
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_budget_override_and_infeasible_exit_code(tmp_path, capsys):
    candidates = pd.read_csv(EXAMPLE / "candidates.csv")
    required_cost = candidates.loc[candidates["status"] == "required", "cost"].sum()
    assert required_cost > 1  # so a budget of 1 cannot pay for the required site: infeasible by construction
    code = main(["solve", str(EXAMPLE / "mclp.toml"), "--out", str(tmp_path), "--budget", "1", "--quiet"])
    solution = json.loads((tmp_path / "solution.json").read_text())
    assert solution["status"] == "infeasible"
    assert json.loads((tmp_path / "record.json").read_text())["budget"] == 1  # the override reached the solve
    assert code == 1 and "required" in capsys.readouterr().err


def test_bad_scenario_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text((EXAMPLE / "mclp.toml").read_text().replace("budget", "budjet")
                   .replace('"demand.csv"', f'"{EXAMPLE / "demand.csv"}"')
                   .replace('"candidates.csv"', f'"{EXAMPLE / "candidates.csv"}"')
                   .replace('"travel_times.csv"', f'"{EXAMPLE / "travel_times.csv"}"'))
    code = main(["solve", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "budjet" in err and "bad.toml" in err
