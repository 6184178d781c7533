"""Every command x every documented input shape x every registered model tells the same covered weight.

For each cell the commands run through the command line (in process, ``--no-dask``): ``solve``, ``sweep``,
``compare``, ``rank``, ``report``. Each succeeds, or stops with one line ``error: ...`` (exit 2), or (solve)
reports a plan-less status in one line (exit 1). Whatever a command writes about the plan at the scenario's
budget — ``solution.json``, ``sites.csv``, ``sweep/<budget>.json`` and ``sweep.csv``, ``compare/<name>.json``,
``rank.csv``, the report's ``coverage_per_service.csv`` — carries exactly (``==``) the covered weight per
service that ``siting solve`` wrote. Models come from the registry, so a new model joins the matrix.
"""
from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from siting.cli import main
from siting.models.registry import MODELS
from siting.workflow.budgets import budget_key
from siting.workflow.evaluation import covered_by_service

from .tiny import BUDGET, NETWORK, SHAPES, write_scenario, write_shape, write_streets

MODEL_NAMES = tuple(MODELS)
#: cells of the fast lane: every model on the CSV shape, every shape on these models; the rest is marked slow
FAST_SHAPE = "csv"
FAST_MODELS = ("mclp", "equity", "multiservice")


def cells() -> list[Any]:
    out = []
    for shape in SHAPES:
        for model in MODEL_NAMES:
            fast = shape == FAST_SHAPE or model in FAST_MODELS
            out.append(pytest.param(shape, model, id=f"{shape}-{model}",
                                    marks=() if fast else (pytest.mark.slow,)))
    return out


@pytest.fixture(scope="module", autouse=True)
def draw_each_figure_once() -> Iterator[dict[str, int]]:
    """Cells whose tables load to the same instance draw the same figures: draw each of them once.

    Every shape loads to the same instance for most models (CSV and Parquet, GeoPackage and GeoJSON for the
    multi-service model, whose elderly rows only the first two have). The sweep curve and the report's before /
    after maps are pure functions of their arguments (the sweep table but for its solve times, which are not
    drawn), the language and the catalog terms: a figure drawn once with exactly these inputs (pickled, hashed)
    is not drawn again; its PNG bytes are written where the command writes them. Every distinct figure is still
    drawn by the product code.
    """
    from siting.i18n import current_language
    from siting.i18n.labels import _TERMS
    from siting.io import atomic_write_bytes
    from siting.workflow import budget_sweep
    from siting.workflow.reporting import plan_maps

    drawn: dict[bytes, bytes] = {}
    counts = {"drawn": 0, "reused": 0}

    def once(draw: Callable[..., bytes], key_args: tuple[Any, ...], kwargs: dict[str, Any],
             call: Callable[[], bytes]) -> bytes:
        key = hashlib.blake2b(pickle.dumps((draw.__name__, key_args, sorted(kwargs.items()), str(current_language()),
                                            sorted(_TERMS.get().items()))), digest_size=20).digest()
        if key not in drawn:
            counts["drawn"] += 1
            drawn[key] = call()
        else:
            counts["reused"] += 1
        return drawn[key]

    plot, maps = budget_sweep.plot_frontier, plan_maps.before_after_map

    def plot_frontier(table: pd.DataFrame, path: Path | None = None, **kwargs: Any) -> bytes:
        # the solve times differ from run to run and are not drawn
        data = once(plot, (table.drop(columns=["seconds"], errors="ignore"),), kwargs,
                    lambda: plot(table, None, **kwargs))
        if path is not None:
            atomic_write_bytes(Path(path), data)
        return data

    def before_after_map(*args: Any, **kwargs: Any) -> bytes:
        return once(maps, args, kwargs, lambda: maps(*args, **kwargs))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(budget_sweep, "plot_frontier", plot_frontier)
        patch.setattr(plan_maps, "before_after_map", before_after_map)
        yield counts
    assert counts["drawn"] > 0


@pytest.fixture(scope="module")
def shape_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, str]]]:
    """The tiny tables written once per shape (scenarios are added per model)."""
    root = tmp_path_factory.mktemp("matrix")
    return {shape: (root / shape, write_shape(root / shape, shape)) for shape in SHAPES}


def run(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str]:
    """Run ``siting ARGS`` in process; the exit code and what it printed on stderr."""
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def one_line_error(code: int, err: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def sites_csv_covered(path: Path, model: str) -> dict[str, float]:
    """Covered weight per service as sites.csv states it (the sum of what each open site serves)."""
    sites = pd.read_csv(path, dtype={"site_id": str})
    if "service" in sites.columns:  # a service with no provider has no row: it covers nothing
        return {str(k): float(v) for k, v in sites.groupby("service")["served_weight"].sum().items()}
    column = "served_weight" if "served_weight" in sites.columns else "load"
    return {model: float(sites[column].fillna(0.0).sum())}


def check_cell(capsys: pytest.CaptureFixture[str], scenario: Path, out: Path, model: str) -> dict[str, Any]:
    """Run every command on ``scenario`` and check they agree with ``siting solve``; returns what solve wrote."""
    code, err = run(capsys, "solve", scenario, "--out", out / "solve", "--quiet")
    if code == 2:
        one_line_error(code, err)
        for command in (["sweep", scenario, "--budgets", BUDGET], ["rank", scenario, "--budgets", BUDGET],
                        ["report", scenario], ["compare", scenario]):
            one_line_error(*run(capsys, *command, "--out", out / "w", "--quiet",
                                *(["--no-dask"] if command[0] != "report" else [])))
        return {"error": err.strip()}
    solution = read_json(out / "solve" / "solution.json")
    covered = covered_by_service(solution)
    if code == 1:
        assert not solution["has_solution"] and len(err.strip().splitlines()) == 1
    else:
        assert code == 0 and solution["has_solution"], err
        from_sites = sites_csv_covered(out / "solve" / "sites.csv", model)
        assert {k: from_sites.get(k, 0.0) for k in covered} == covered

    code, err = run(capsys, "sweep", scenario, "--budgets", BUDGET, 2 * BUDGET, "--out", out / "w", "--no-dask",
                    "--quiet")
    assert code == 0, err
    record = read_json(out / "w" / "sweep" / f"{budget_key(BUDGET)}.json")
    assert record["selected"] == solution["selected"] and covered_by_service(record) == covered
    table = pd.read_csv(out / "w" / "sweep.csv")
    assert table.loc[table["budget"] == BUDGET, "covered_population"].tolist() == [solution["covered_weight"]]

    code, err = run(capsys, "compare", scenario, "--out", out / "c", "--no-dask", "--quiet")
    assert code == 0, err
    assert covered_by_service(read_json(out / "c" / "compare" / f"{scenario.stem}.json")) == covered

    code, err = run(capsys, "rank", scenario, "--budgets", BUDGET, "--out", out / "w", "--no-dask", "--quiet")
    if not solution["has_solution"]:
        one_line_error(code, err)
        assert "no plan at the scenario budget" in err
    else:
        assert code == 0, err
        rank = pd.read_csv(out / "w" / "rank.csv", dtype={"site_id": str})
        assert {k: float(rank[f"plan_covered_{k}"].iloc[0]) for k in covered} == covered

    code, err = run(capsys, "report", scenario, "--out", out / "w", "--quiet")
    assert code == 0, err
    services = pd.read_csv(out / "w" / "report" / "coverage_per_service.csv")
    assert dict(zip(services["service"], services["covered_after"], strict=True)) == covered
    assert covered_by_service(read_json(out / "w" / "solve" / "solution.json")) == covered
    return solution


@pytest.mark.parametrize(("shape", "model"), cells())
def test_every_command_agrees(shape_dirs: dict[str, tuple[Path, dict[str, str]]], tmp_path: Path,
                              capsys: pytest.CaptureFixture[str], shape: str, model: str) -> None:
    folder, data = shape_dirs[shape]
    scenario = write_scenario(folder, model, data)
    solution = check_cell(capsys, scenario, tmp_path, model)
    # the tiny data is built so that every model has a plan at the budget (an error would hide the other checks)
    assert solution.get("has_solution"), solution


def test_report_and_rank_read_the_default_rows_of_a_grouped_table(shape_dirs: dict[str, tuple[Path, dict[str, str]]]
                                                                   ) -> None:
    """Regression (issue 15): a model without a speed group reaches on the rows whose ``group`` is empty."""
    from siting.scenario import load_scenario
    from siting.workflow.evaluation import model_inputs
    from siting.workflow.reach import PlanReach

    from .tiny import tables

    folder, data = shape_dirs["csv"]
    reach = PlanReach(model_inputs(load_scenario(write_scenario(folder, "mclp", data))))
    demand, sites, travel = tables()
    default = travel[(travel["group"] == "") & (travel["minutes"] <= 5.0)]
    within = reach.specs[0].within.tocoo()
    pairs = set(zip(demand["id"].to_numpy()[within.row], sites["id"].to_numpy()[within.col], strict=True))
    assert pairs == set(zip(default["demand_id"], default["candidate_id"], strict=True))
    elderly = travel[(travel["group"] == "elderly") & (travel["minutes"] <= 5.0)]
    assert len(elderly) < len(default)  # the elderly rows would reach less: the test can tell them apart


@pytest.mark.slow
@pytest.mark.parametrize("model", ["mclp", "multiservice"])
def test_every_command_agrees_over_a_street_network(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str], model: str) -> None:
    """The ``[network]`` shape: walking times computed (and cached) by each command, same figures everywhere."""
    folder = tmp_path_factory.mktemp("network")
    scenario = write_scenario(folder, model, write_streets(folder), network=NETWORK)
    solution = check_cell(capsys, scenario, tmp_path, model)
    assert solution.get("has_solution"), solution
