"""Sweeps and comparisons as independent tasks on a 2-worker Dask LocalCluster."""
from __future__ import annotations

import pandas as pd
import pytest

from siting.workflow import compare, sweep
from siting.workflow.budgets import budget_key
from siting.workflow.tasks import solve_task

pytestmark = pytest.mark.slow


def test_sweep_on_dask_matches_serial_and_resumes(example, tmp_path, dask_client):
    budgets = [1e6, 2e6, 3e6, 4e6, 5e6]
    serial = sweep(example / "mclp.toml", budgets, out_dir=tmp_path / "s", use_dask=False, quiet=True, plot=False)
    par = sweep(example / "mclp.toml", budgets[:3], out_dir=tmp_path / "d", client=dask_client, quiet=True,
                plot=False)
    assert len(par.computed) == 3
    # both workers took part (tasks really ran in other processes)
    assert len(dask_client.scheduler_info()["workers"]) == 2
    par = sweep(example / "mclp.toml", budgets, out_dir=tmp_path / "d", client=dask_client, quiet=True, plot=False)
    assert set(par.reused) == {budget_key(b) for b in budgets[:3]} and len(par.computed) == 2
    cols = ["budget", "total_cost", "covered_population", "status"]
    pd.testing.assert_frame_equal(serial.table[cols], par.table[cols])


def _fails_at_3m(task):
    if task["name"] == "3000000":
        raise RuntimeError("worker crashed")
    return solve_task(task)


def test_a_failing_task_keeps_the_others_and_the_rerun_only_does_it(example, tmp_path, dask_client):
    import sys

    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module
    budgets = [1e6, 2e6, 3e6, 4e6]
    with pytest.raises(RuntimeError, match="worker crashed"):
        sweep(example / "mclp.toml", budgets, out_dir=tmp_path, client=dask_client, quiet=True, plot=False,
              task_fn=_fails_at_3m)
    assert sorted(p.stem for p in (tmp_path / "sweep").glob("*.json")) == ["1000000", "2000000", "4000000"]
    res = sweep(example / "mclp.toml", budgets, out_dir=tmp_path, client=dask_client, quiet=True, plot=False)
    assert res.computed == ("3000000",)


def test_compare_on_dask(example, tmp_path, dask_client):
    res = compare([example / "mclp.toml", example / "lscp.toml"], out_dir=tmp_path, client=dask_client, quiet=True)
    assert list(res.table.columns) == ["mclp", "lscp"]
    assert res.table.loc["status"].tolist() == ["optimal", "optimal"]
    assert (tmp_path / "compare" / "mclp.json").is_file()


def test_scheduler_address_of_an_existing_cluster(example, tmp_path, dask_client):
    res = sweep(example / "mclp.toml", [2e6], out_dir=tmp_path, scheduler=dask_client.scheduler.address,
                quiet=True, plot=False)
    assert res.table.loc[0, "status"] == "optimal"


def test_unreachable_scheduler_is_a_clear_error(example, tmp_path):
    import dask

    from siting.errors import SitingError

    with dask.config.set({"siting.scheduler-timeout": "1s"}), pytest.raises(SitingError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        sweep(example / "mclp.toml", [2e6], out_dir=tmp_path, scheduler="tcp://127.0.0.1:9", quiet=True)
