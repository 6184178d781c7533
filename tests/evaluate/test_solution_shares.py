"""solution.json of ``siting solve`` reads per service and per group, recomputed from the raw tables (issue 11)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from siting.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "example"


def test_solution_json_has_shares_per_service_and_group(tmp_path):
    shutil.copytree(EXAMPLE, tmp_path / "ex")
    assert main(["solve", str(tmp_path / "ex" / "mclp.toml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    solution = json.loads((tmp_path / "out" / "solution.json").read_text())
    shares = solution["stats"]["shares"]["mclp"]
    assert shares["population"]["share_after"] == pytest.approx(solution["covered_weight"] / solution["total_weight"])
    # the elderly share recomputed by hand from coverage.csv and the demand table
    coverage = pd.read_csv(tmp_path / "out" / "coverage.csv", dtype={"demand_id": str})
    demand = pd.read_csv(tmp_path / "ex" / "demand.csv", dtype={"id": str}).set_index("id")
    covered = coverage.loc[coverage["covered"].astype(bool), "demand_id"]
    want = demand.loc[covered, "elderly"].sum() / demand["elderly"].sum()
    assert shares["elderly"]["share_after"] == pytest.approx(want)
    assert shares["elderly"]["share_before"] < shares["elderly"]["share_after"]
