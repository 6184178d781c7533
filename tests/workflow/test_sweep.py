"""Budget sweeps: results, frontier, resume after interruption, checks of the budgets and the [sweep] section."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from siting.errors import ScenarioError
from siting.workflow import sweep
from siting.workflow.budget_sweep import pareto_mask
from siting.workflow.budgets import budget_key, parse_budgets
from siting.workflow.tasks import solve_task

BUDGETS = [1.0e6, 2.0e6, 3.0e6, 5.0e6]


def test_sweep_writes_points_csv_png_and_is_monotone(example, tmp_path):
    res = sweep(example / "mclp.toml", BUDGETS, out_dir=tmp_path / "o", use_dask=False, quiet=True)
    assert res.computed == tuple(budget_key(b) for b in BUDGETS) and res.reused == ()
    for b in BUDGETS:
        rec = json.loads((tmp_path / "o" / "sweep" / f"{budget_key(b)}.json").read_text())
        assert rec["finished"] and rec["status"] == "optimal" and rec["total_cost"] <= b + 1e-6
    t = pd.read_csv(res.csv)
    assert list(t["budget"]) == BUDGETS
    assert np.all(np.diff(t["covered_population"]) >= -1e-9)  # more money never covers less (optimal solves)
    assert t["coverage_share"].iloc[-1] == pytest.approx(1.0)
    assert res.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and res.png.stat().st_size > 10_000
    # the same answer as a direct solve at one budget
    from siting.run import solve_scenario
    from siting.scenario import load_scenario

    direct = solve_scenario(load_scenario(example / "mclp.toml").with_overrides(budget=2e6))
    assert t.loc[1, "covered_population"] == pytest.approx(direct.covered_population)


def test_resume_skips_finished_and_recomputes_broken_or_stale(example, tmp_path):
    out = tmp_path / "o"
    sweep(example / "mclp.toml", BUDGETS[:2], out_dir=out, use_dask=False, quiet=True, plot=False)
    # a half-written file (no "finished") and garbage are recomputed, finished ones are not
    (out / "sweep" / f"{budget_key(3e6)}.json").write_text('{"status": "optimal"}')
    (out / "sweep" / f"{budget_key(5e6)}.json").write_text("{not json")
    res = sweep(example / "mclp.toml", BUDGETS, out_dir=out, use_dask=False, quiet=True, plot=False)
    assert set(res.reused) == {budget_key(1e6), budget_key(2e6)}
    assert set(res.computed) == {budget_key(3e6), budget_key(5e6)}
    # changing an input file invalidates every point
    cand = example / "candidates.csv"
    cand.write_text(cand.read_text().replace("1200000", "1300000"))
    res = sweep(example / "mclp.toml", BUDGETS, out_dir=out, use_dask=False, quiet=True, plot=False)
    assert len(res.computed) == len(BUDGETS)


def test_interrupted_sweep_keeps_finished_points_and_resumes(example, tmp_path):
    calls = []

    def flaky(task):
        calls.append(task["name"])
        if len(calls) == 3:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during the third solve
        return solve_task(task)

    out = tmp_path / "o"
    with pytest.raises(KeyboardInterrupt):
        sweep(example / "mclp.toml", BUDGETS, out_dir=out, use_dask=False, quiet=True, task_fn=flaky)
    done = sorted(p.stem for p in (out / "sweep").glob("*.json"))
    assert done == sorted(calls[:2])
    assert not [p for p in (out / "sweep").iterdir() if p.name.startswith(".")]  # no temp files left
    calls.clear()
    res = sweep(example / "mclp.toml", BUDGETS, out_dir=out, use_dask=False, quiet=True, task_fn=solve_task)
    assert set(res.reused) == set(done) and len(res.computed) == 2


def test_a_failing_budget_does_not_lose_the_others(example, tmp_path):
    def fails_at_2m(task):
        if task["name"] == budget_key(2e6):
            raise RuntimeError("solver crashed")
        return solve_task(task)

    with pytest.raises(RuntimeError, match="solver crashed"):
        sweep(example / "mclp.toml", BUDGETS, out_dir=tmp_path, use_dask=False, quiet=True, task_fn=fails_at_2m)
    assert len(list((tmp_path / "sweep").glob("*.json"))) == 3
    res = sweep(example / "mclp.toml", BUDGETS, out_dir=tmp_path, use_dask=False, quiet=True)
    assert res.computed == (budget_key(2e6),)


def test_budgets_from_the_scenario_and_their_checks(example, tmp_path):
    toml = example / "mclp.toml"
    toml.write_text(toml.read_text() + "\n[sweep]\nbudgets = [2000000, 1e6]\n")
    res = sweep(toml, None, out_dir=tmp_path / "o", use_dask=False, quiet=True, plot=False)
    assert list(res.table["budget"]) == [1e6, 2e6]
    # editing the budget list keeps what is done; editing the model does not
    toml.write_text(toml.read_text().replace("budgets = [2000000, 1e6]", "budgets = [2000000, 1e6, 3e6]"))
    res = sweep(toml, None, out_dir=tmp_path / "o", use_dask=False, quiet=True, plot=False)
    assert res.computed == (budget_key(3e6),)
    toml.write_text(toml.read_text().replace("threshold_minutes = 10", "threshold_minutes = 12"))
    res = sweep(toml, None, out_dir=tmp_path / "o", use_dask=False, quiet=True, plot=False)
    assert len(res.computed) == 3
    toml.write_text(toml.read_text().replace("budgets = [2000000, 1e6, 3e6]", "budgets = [2000000, 1e6]"))
    toml.write_text(toml.read_text().replace("budgets = [2000000, 1e6]", "budgets = [2000000, -3]"))
    with pytest.raises(ScenarioError, match=r"mclp\.toml: key 'sweep\.budgets': budgets must be positive"):
        sweep(toml, None, out_dir=tmp_path / "o", use_dask=False, quiet=True)
    toml.write_text(toml.read_text().replace("budgets = [2000000, -3]", 'budgets = "lots"'))
    with pytest.raises(ScenarioError, match=r"key 'sweep\.budgets': expected a list"):
        sweep(toml, None, out_dir=tmp_path / "o", use_dask=False, quiet=True)
    toml.write_text(toml.read_text().replace('budgets = "lots"', "budget = [1e6]"))
    with pytest.raises(ScenarioError, match=r"mclp\.toml: key 'sweep\.budget': unknown key \(did you mean 'budgets'"):
        sweep(toml, None, out_dir=tmp_path / "o", use_dask=False, quiet=True)


def test_missing_budgets_and_bad_values(example, tmp_path):
    with pytest.raises(ScenarioError, match=r"key 'sweep\.budgets': no budgets"):
        sweep(example / "mclp.toml", None, out_dir=tmp_path, use_dask=False, quiet=True)
    with pytest.raises(ScenarioError, match="not a number"):
        parse_budgets(["12x"])
    with pytest.raises(ScenarioError, match="must be positive"):
        parse_budgets([0])
    with pytest.raises(ScenarioError, match="must be a number"):
        parse_budgets([True])
    assert parse_budgets(["40M", "2.5e7", 1_000, "1,000"]) == [1000.0, 2.5e7, 4e7]
    with pytest.raises(ScenarioError, match=r"nope\.toml.*file not found"):
        sweep(tmp_path / "nope.toml", [1e6], out_dir=tmp_path, use_dask=False, quiet=True)


def test_pareto_mask():
    assert pareto_mask([1, 2, 2, 3], [5, 4, 6, 6]).tolist() == [True, False, True, False]
    assert pareto_mask([1, 1, 2], [5, 5, 7]).tolist() == [True, False, True]  # duplicates: the first only


def test_a_budget_whose_plan_is_worse_than_a_smaller_budgets_is_flagged():
    from siting.workflow.budget_sweep import below_smaller_mask, frontier_table

    # a larger budget that covers less stopped short: the smaller budget's plan fits it too
    assert below_smaller_mask([1, 2, 3, 4], [5.0, 4.0, 5.0, 7.0]).tolist() == [False, True, False, False]
    assert below_smaller_mask([3, 1, 2], [4.0, 5.0, 6.0]).tolist() == [True, False, False]   # any order
    assert below_smaller_mask([1, 2], [5.0, np.nan]).tolist() == [False, False]
    assert below_smaller_mask([1, 2], [3.0, 4.0], maximise=False).tolist() == [False, True]  # p-median: lower is better

    def record(budget, objective, **extra):
        return {"budget_requested": budget, "objective": objective, "has_solution": objective is not None,
                "model": "mclp", "status": "time_limit", "total_cost": budget, "covered_population": objective or 0,
                "total_population": 10.0, **extra}

    table = frontier_table([record(2e6, 8.0), record(1e6, 9.0), record(3e6, None)])
    assert table["below_smaller_budget"].tolist() == [False, True, False]
    assert table["objective"].tolist()[:2] == [9.0, 8.0]
    # with priority levels a larger budget may lower the objective held after a higher first level: not flagged
    levels = {"stats": {"priority_levels": [{"level": 1}]}}
    table = frontier_table([record(2e6, 8.0, **levels), record(1e6, 9.0, **levels)])
    assert not table["below_smaller_budget"].any()
