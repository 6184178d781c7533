"""`--out` is checked before any work, and `siting solve` prepares a scenario as `siting.workflow.solve` does."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString

from siting import workflow
from siting.cli import main
from siting.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "example"


@pytest.fixture
def no_work(monkeypatch):
    """Every way a command could start solving or searching the street network fails the test."""
    import siting.workflow.demo
    import siting.workflow.prepare
    import siting.workflow.solve_one
    import siting.workflow.tasks

    def forbidden(*args, **kwargs):
        raise AssertionError("work started although --out was unusable")

    monkeypatch.setattr(siting.workflow.tasks, "solve_scenario", forbidden)
    monkeypatch.setattr(siting.workflow.tasks, "solve_checked", forbidden)
    monkeypatch.setattr(siting.workflow.solve_one, "solve_checked", forbidden)
    monkeypatch.setattr(siting.workflow.prepare, "scenario_travel_times", forbidden)
    monkeypatch.setattr(siting.workflow.demo, "generate", forbidden)


COMMANDS = {
    "solve": ["solve", str(EXAMPLE / "mclp.toml")],
    "sweep": ["sweep", str(EXAMPLE / "mclp.toml"), "--budgets", "1M", "--no-dask"],
    "compare": ["compare", str(EXAMPLE / "mclp.toml"), "--no-dask"],
    "rank": ["rank", str(EXAMPLE / "mclp.toml"), "--no-dask"],
    "report": ["report", str(EXAMPLE / "mclp.toml")],
    "evaluate": ["evaluate", str(EXAMPLE / "mclp.toml")],
    "demo": ["demo", "--no-dask"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("inside", [False, True], ids=["file", "below-a-file"])
def test_out_naming_an_existing_file_is_one_line_before_any_work(command, inside, tmp_path, capsys, no_work):
    taken = tmp_path / "taken.csv"
    taken.write_text("not a folder\n")
    out = taken / "sub" if inside else taken
    assert main([*COMMANDS[command], "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: key '--out': {taken} is a file, not a folder for the outputs"
    assert taken.read_text() == "not a folder\n"


def test_the_python_twins_name_out_dir(tmp_path, no_work):
    taken = tmp_path / "taken"
    taken.write_text("")
    with pytest.raises(ScenarioError, match=r"^key 'out_dir': .*taken is a file, not a folder"):
        workflow.sweep(EXAMPLE / "mclp.toml", [1e6], out_dir=taken, use_dask=False, quiet=True)
    with pytest.raises(ScenarioError, match=r"^key 'out_dir': "):
        workflow.solve(EXAMPLE / "mclp.toml", out_dir=taken, quiet=True)


def test_output_dir_of_the_scenario_naming_a_file(tmp_path, capsys, no_work):
    folder = tmp_path / "s"
    shutil.copytree(EXAMPLE, folder)
    (folder / "results").write_text("")
    toml = folder / "mclp.toml"
    toml.write_text(toml.read_text() + '\n[output]\ndir = "results"\n')
    assert main(["sweep", str(toml), "--budgets", "1M", "--no-dask", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {toml}: key 'output.dir': ")
    assert err.endswith("results is a file, not a folder for the outputs")


def test_travel_out_naming_a_folder_or_a_path_below_a_file(tmp_path, capsys, monkeypatch):
    import siting.travel.scenario

    monkeypatch.setattr(siting.travel.scenario, "network_travel_times",
                        lambda *a, **k: pytest.fail("searched although --out was unusable"))
    base = ["travel", "--network", "streets.gpkg", "--demand", "d.csv", "--candidates", "c.csv", "--quiet"]
    folder = tmp_path / "t.parquet"
    folder.mkdir()
    assert main([*base, "--out", str(folder)]) == 2
    assert "--out names a folder" in capsys.readouterr().err
    (tmp_path / "f").write_text("")
    assert main([*base, "--out", str(tmp_path / "f" / "t.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is a file, not a folder" in err


@pytest.fixture
def network_scenario(tmp_path) -> Path:
    """A four-street network with demand and two candidate sites (walking times computed, not given)."""
    lines = [LineString([(0, 0, 0), (400, 0, 0)]), LineString([(400, 0, 0), (400, 300, 40)]),
             LineString([(400, 300, 40), (900, 300, 40)]), LineString([(0, 0, 0), (0, 600, 0)])]
    gpd.GeoDataFrame({"highway": ["footway", "steps", "residential", "path"]}, geometry=lines,
                     crs="EPSG:32648").to_file(tmp_path / "streets.gpkg", driver="GPKG")
    pd.DataFrame({"id": ["d1", "d2", "d3"], "population": [10, 20, 30], "x": [10.0, 390.0, 0.0],
                  "y": [5.0, 150.0, 590.0]}).to_csv(tmp_path / "demand.csv", index=False)
    pd.DataFrame({"id": ["s1", "s2"], "cost": [1.0, 2.0], "x": [400.0, 800.0], "y": [0.0, 310.0]}).to_csv(
        tmp_path / "candidates.csv", index=False)
    toml = tmp_path / "net.toml"
    toml.write_text('[data]\ndemand = "demand.csv"\ncandidates = "candidates.csv"\n'
                    '[model]\ntype = "mclp"\nthreshold_minutes = 8\nbudget = 1\n'
                    '[network]\npath = "streets.gpkg"\n')
    return toml


def _figures(folder: Path) -> dict:
    sol = json.loads((folder / "solution.json").read_text())
    return {k: sol[k] for k in ("status", "selected", "covered_population", "total_cost", "objective")}


def test_cli_solve_and_workflow_solve_share_the_preparation(network_scenario, tmp_path, monkeypatch):
    cli_out, py_out = tmp_path / "cli", tmp_path / "py"
    assert main(["solve", str(network_scenario), "--out", str(cli_out), "--quiet"]) == 0
    result, prep = workflow.solve(network_scenario, out_dir=py_out, quiet=True)
    # the same files in the folder named, walking times cached under it in both cases
    for folder in (cli_out, py_out):
        # d3 is beyond the table's 8-minute cutoff from every site: unreachable.csv lists it
        assert {p.name for p in folder.iterdir() if p.is_file()} == {"solution.json", "sites.csv", "coverage.csv",
                                                                     "record.json", "unreachable.csv",
                                                                     "sites.labels.csv", "coverage.labels.csv"}
        assert len(list((folder / "travel").glob("travel_*.parquet"))) == 1
    assert prep.out_dir == py_out.resolve() and prep.travel is not None
    assert _figures(cli_out) == _figures(py_out)
    assert list(result.selected) == _figures(py_out)["selected"] and result.covered_population > 0
    # a second `siting solve` reuses the cached walking times
    import siting.workflow.prepare

    monkeypatch.setattr(siting.workflow.prepare, "scenario_travel_times",
                        lambda *a, **k: pytest.fail("walking times recomputed"))
    assert main(["solve", str(network_scenario), "--out", str(cli_out), "--quiet"]) == 0


def test_cli_solve_checks_sweep_and_output_sections_like_the_workflow(tmp_path, capsys):
    folder = tmp_path / "s"
    shutil.copytree(EXAMPLE, folder)
    toml = folder / "mclp.toml"
    toml.write_text(toml.read_text() + "\n[output]\nfolder = 'x'\n")
    assert main(["solve", str(toml), "--out", str(tmp_path / "o")]) == 2
    assert "mclp.toml: key 'output.folder': unknown key" in capsys.readouterr().err
    with pytest.raises(ScenarioError, match=r"key 'output\.folder': unknown key"):
        workflow.solve(toml, out_dir=tmp_path / "o", quiet=True)


def test_solver_flags_override_the_scenario(tmp_path):
    result, _ = workflow.solve(EXAMPLE / "mclp.toml", out_dir=tmp_path, backend="scipy", time_limit_s=5,
                               budget=2e6, quiet=True)
    record = json.loads((tmp_path / "record.json").read_text())
    assert "scipy" in result.solver and "highs" not in result.solver
    assert record["budget"] == 2e6 and result.total_cost <= 2e6
