"""Dask and CLI polish (issue 13): scheduler addresses, serial runs for few tasks, the dashboard link."""
from __future__ import annotations

import pytest

import siting.workflow.tasks as tasks
from siting.cli import main
from siting.errors import ScenarioError
from siting.workflow.tasks import SERIAL_MAX_TASKS, check_scheduler_address, dask_client, run_tasks


@pytest.mark.parametrize("address", ["localhost:abc", "tcp//x", "tcp://host:99999", "ftp://x:1", "127.0.0.1:8786:1",
                                     "tcp://:8786", "tcp://host", " "])
def test_a_malformed_scheduler_address_is_one_line_before_any_work(address, example, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(tasks, "solve_checked", lambda *a, **k: pytest.fail("work started"))
    out = tmp_path / "out"
    assert main(["sweep", str(example / "mclp.toml"), "--budgets", "1M", "--out", str(out), "--quiet",
                 "--scheduler", address]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is not a Dask scheduler address" in err and "tcp://HOST:PORT" in err
    assert not out.exists()


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "10.0.0.5:8786", "tls://sched.example.org:8786",
                                     "tcp://[::1]:8786", "inproc://10.0.0.5/1234/1"])
def test_well_formed_addresses_pass(address):
    assert check_scheduler_address(address) == address


def _recorder(calls):
    def run_on_dask(todo, fn, on_done, errors, advance, **kw):
        calls.append(len(todo))
        for t in todo:
            on_done(t, fn(t))
    return run_on_dask


@pytest.mark.parametrize(("n", "options", "on_dask"), [
    (SERIAL_MAX_TASKS, {}, False),                        # few tasks: serial, no cluster started
    (SERIAL_MAX_TASKS + 1, {}, True),                     # more: a local cluster
    (2, {"scheduler": "tcp://127.0.0.1:8786"}, True),     # a scheduler named: always on it
    (2, {"client": object()}, True),                      # a client given: always on it
    (SERIAL_MAX_TASKS + 1, {"use_dask": False}, False),   # --no-dask
])
def test_few_tasks_run_serially_unless_a_cluster_is_named(n, options, on_dask, monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(tasks, "_run_on_dask", _recorder(calls))
    seen: list[int] = []
    run_tasks([{"name": str(k)} for k in range(n)], lambda t: {"k": int(t["name"])},
              lambda t, r: seen.append(r["k"]), quiet=True, **options)
    assert sorted(seen) == list(range(n))
    assert calls == ([n] if on_dask else [])


def test_a_sweep_of_few_budgets_starts_no_cluster(example, tmp_path, monkeypatch):
    monkeypatch.setattr(tasks, "dask_client", lambda *a, **k: pytest.fail("a Dask cluster was started"))
    assert main(["sweep", str(example / "mclp.toml"), "--budgets", "1M", "2M", "3M", "--out", str(tmp_path),
                 "--quiet"]) == 0
    assert sorted(p.stem for p in (tmp_path / "sweep").glob("*.json")) == ["1000000", "2000000", "3000000"]


def test_a_local_cluster_prints_its_dashboard_link_on_a_free_port(monkeypatch, capsys):
    import distributed

    made = {}

    class FakeCluster:
        def __init__(self, **kw):
            made.update(kw)

        def close(self):
            made["closed"] = True

    class FakeClient:
        dashboard_link = "http://127.0.0.1:40123/status"

        def __init__(self, cluster):
            self.cluster = cluster

        def close(self):
            pass

    monkeypatch.setattr(distributed, "LocalCluster", FakeCluster)
    monkeypatch.setattr(distributed, "Client", FakeClient)
    with dask_client(None, 2) as client:
        assert isinstance(client, FakeClient)
    assert made["dashboard_address"] == ":0" and made["closed"]          # never the fixed port 8787
    assert "Dask dashboard: http://127.0.0.1:40123/status" in capsys.readouterr().err
    with dask_client(None, 2, quiet=True):
        pass
    assert capsys.readouterr().err == ""


def test_scheduler_errors_name_the_key():
    with pytest.raises(ScenarioError, match="key 'scheduler'"):
        check_scheduler_address("nohost")
