"""Independent solve tasks: a progress bar, a Dask client, the runner, and the worker side of one solve.

A task is a plain dict (:class:`SolveTask`: picklable, so Dask ships it to a worker) naming a scenario
file, a budget and overrides. The worker loads the scenario itself and returns a JSON-ready record
(:func:`solve_record`); the client writes each record as it arrives (:func:`run_resumable`), so an
interrupted run loses only the tasks in flight.

* default: a Dask ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` started for the run
  (its dashboard link is printed) — but at most :data:`SERIAL_MAX_TASKS` tasks run serially instead: starting
  the cluster costs more than it saves (``benchmarks/dask_sweep_bench.py``);
* ``scheduler="tcp://host:8786"`` or ``client=``: an existing cluster (workers must see the same files), at
  any number of tasks; a malformed address is a one-line error (:func:`check_scheduler_address`);
* ``use_dask=False``: serial, in this process.

Example
-------
>>> seen = []
>>> run_tasks([{"name": "a"}, {"name": "b"}], lambda t: {"n": t["name"]}, lambda t, r: seen.append(r["n"]),
...           use_dask=False, quiet=True)
>>> seen
['a', 'b']
"""
from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from ..data.travel_table import unreachable_demand
from ..errors import ScenarioError, SitingError
from ..models.driver import solve_model
from ..rules import SiteRules
from ..run import (
    prepare_model,
    solve_scenario,
)
from ..scenario import Scenario, load_scenario
from .records import read_record, result_record, write_record

if TYPE_CHECKING:
    from distributed import Client

    from ..data.instance import Instance
    from ..result import Result

__all__ = ["SolveTask", "progress_bar", "dask_client", "run_tasks", "run_resumable", "solve_task", "solve_record",
           "solve_checked", "check_scheduler_address", "SERIAL_MAX_TASKS", "SCHEMES"]

#: at most this many tasks run serially unless a scheduler or client is given. A fresh 2-worker LocalCluster
#: takes 8-30 s to start on 2 shared cores; measured (benchmarks/dask_sweep_bench.py, load 10) it was slower
#: than serial at every size tried: 8 example solves 54 vs 10 s, 8 city solves of ~5 s 86 vs 42 s, 12 of
#: ~9 s 178 vs 107 s. Past 8 tasks it is kept as before, for machines with more cores than this one.
SERIAL_MAX_TASKS = 8
#: the address schemes of distributed's communication backends
SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


class SolveTask(TypedDict):
    """One solve, as shipped to a worker."""

    name: str                     # record file stem (budget key, scenario name, excluded site id)
    scenario: str                 # scenario TOML path
    budget: float | None          # model.budget override (None: the scenario's own)
    travel: str | None            # cached travel-time table (from [network]) or None
    fingerprint: str              # of the scenario and its inputs: a record with another one is stale
    overrides: dict[str, Any]     # further scenario overrides ("data.candidates": ...)


# ----------------------------------------------------------------------------- progress + Dask
@contextlib.contextmanager
def progress_bar(total: int, description: str, *, quiet: bool = False) -> Iterator[Callable[..., None]]:
    """A rich progress bar on stderr (nothing when ``quiet``); yields ``advance(n=1)``."""
    if quiet:
        yield lambda n=1: None
        return
    from rich.console import Console  # third-party, only when a bar is shown
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=False) as prog:
        task = prog.add_task(description, total=total)
        yield lambda n=1: prog.advance(task, n)


def check_scheduler_address(address: str) -> str:
    """``address`` if it reads as a Dask scheduler address ``[scheme://]host:port``, else a one-line error.

    Only the form is checked (no connection is tried), so a typo fails before any walking time is computed.

    Raises
    ------
    ScenarioError
        naming the address and the form expected.

    Examples
    --------
    >>> check_scheduler_address("tcp://10.0.0.5:8786")
    'tcp://10.0.0.5:8786'
    >>> check_scheduler_address("localhost:abc")
    Traceback (most recent call last):
    ...
    siting.errors.ScenarioError: key 'scheduler': 'localhost:abc' is not a Dask scheduler address: the port must be a number from 1 to 65535 (expected tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786)
    """
    def bad(why: str) -> ScenarioError:
        return ScenarioError(f"{address!r} is not a Dask scheduler address: {why} (expected tcp://HOST:PORT, "
                             "e.g. tcp://127.0.0.1:8786)", key="scheduler")

    if not isinstance(address, str) or not address.strip():
        raise bad("it is empty")
    scheme, sep, rest = address.strip().rpartition("://")
    if sep and scheme not in SCHEMES:
        raise bad(f"unknown scheme '{scheme}' (known: {', '.join(SCHEMES)})")
    if scheme == "inproc":
        return address
    if "/" in rest or not rest:
        raise bad("write the scheme as tcp:// before HOST:PORT")
    host, colon, port = rest.rpartition(":")
    if not colon:
        raise bad("the port is missing")
    if host.startswith("["):
        ok_host = host.endswith("]") and len(host) > 2
    else:
        ok_host = bool(host) and ":" not in host and " " not in host
    if not ok_host:
        raise bad("the host is missing or malformed (an IPv6 host needs brackets: [::1]:8786)")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise bad("the port must be a number from 1 to 65535")
    return address


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, n_workers: int = 2, *, quiet: bool = False) -> Iterator[Client]:
    """A ``distributed.Client``: to ``scheduler`` if given, else to a fresh LocalCluster (closed on exit).

    A LocalCluster uses processes: a script calling this must guard its entry point with
    ``if __name__ == "__main__":`` (spawned workers re-import the main module). Its dashboard takes a free
    port (never a clash on 8787). Unless ``quiet``, the dashboard link of the cluster used is printed on stderr.
    """
    if scheduler:
        check_scheduler_address(scheduler)
    try:  # distributed is imported only when a cluster is wanted (--no-dask runs need not have it)
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover
        raise SitingError("Dask is not installed: pip install 'dask[distributed]', or run with --no-dask") from exc
    if scheduler:
        import dask

        try:  # dask config "siting.scheduler-timeout" (default 10 s) bounds the wait for an absent scheduler
            client = Client(scheduler, timeout=dask.config.get("siting.scheduler-timeout", "10s"))
        except (OSError, TimeoutError) as exc:
            raise SitingError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        if not quiet:
            print(f"Dask dashboard: {client.dashboard_link}", file=sys.stderr)
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(cluster)
    if not quiet:
        print(f"Dask dashboard: {client.dashboard_link}", file=sys.stderr)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


# ----------------------------------------------------------------------------- the runner
def run_tasks(
    tasks: list[SolveTask] | list[dict],
    fn: Callable[[Any], dict],
    on_done: Callable[[Any, dict], None],
    *,
    scheduler: str | None = None,
    use_dask: bool = True,
    client: Client | None = None,
    n_workers: int = 2,
    description: str = "tasks",
    quiet: bool = False,
) -> None:
    """Run ``fn(task)`` for every task; call ``on_done(task, record)`` in this process as each one finishes.

    ``on_done`` is where results are written, so what finished is on disk even if the run is interrupted.
    A failing task does not stop the others: every task that succeeds is saved, then the first error is
    raised. On an interrupt (Ctrl-C) the tasks already finished on the cluster are saved before stopping.
    Without ``scheduler`` or ``client``, at most :data:`SERIAL_MAX_TASKS` tasks run serially.
    """
    if scheduler:
        check_scheduler_address(scheduler)
    if not tasks:
        return
    errors: list[BaseException] = []
    serial = not use_dask or (client is None and not scheduler and len(tasks) <= SERIAL_MAX_TASKS)
    with progress_bar(len(tasks), description, quiet=quiet) as advance:
        if serial:
            for t in tasks:
                try:
                    rec = fn(t)
                except Exception as exc:  # noqa: BLE001 - re-raised after the other tasks ran
                    errors.append(exc)
                else:
                    on_done(t, rec)
                advance()
        else:
            _run_on_dask(tasks, fn, on_done, errors, advance, scheduler=scheduler, client=client,
                         n_workers=n_workers, quiet=quiet)
    if errors:
        raise errors[0]


def _run_on_dask(tasks: list, fn: Callable, on_done: Callable, errors: list[BaseException],
                 advance: Callable[..., None], *, scheduler: str | None, client: Client | None,
                 n_workers: int, quiet: bool) -> None:
    from distributed import as_completed  # third-party, only on the Dask path

    ctx = contextlib.nullcontext(client) if client is not None else dask_client(scheduler, n_workers, quiet=quiet)
    with ctx as cl:
        futures = {cl.submit(fn, t, pure=False, key=f"siting-{t['name']}-{time.time_ns()}"): t for t in tasks}
        saved: set = set()
        try:
            for fut in as_completed(list(futures)):
                try:
                    rec = fut.result()
                except Exception as exc:  # noqa: BLE001 - re-raised after the other tasks ran
                    errors.append(exc)
                else:
                    on_done(futures[fut], rec)
                saved.add(fut.key)
                advance()
        except BaseException:
            # interrupted: keep what already finished on the workers
            for fut, t in futures.items():
                if fut.key not in saved and fut.status == "finished":
                    with contextlib.suppress(Exception):
                        on_done(t, fut.result(timeout=5))
            raise
        finally:
            for fut in futures:
                fut.cancel()


def run_resumable(
    folder: Path,
    tasks: list[SolveTask],
    task_fn: Callable[[SolveTask], dict],
    *,
    description: str,
    **run_options: Any,
) -> tuple[dict[str, dict], tuple[str, ...], tuple[str, ...]]:
    """Run the tasks whose record ``folder/<name>.json`` is missing or stale (another fingerprint).

    Each finished record is written atomically to ``folder/<name>.json`` the moment it arrives, so an
    interrupted run resumes from what is on disk. Returns every record by name, the names reused and
    the names run now. ``description`` may hold ``{n}``, the number of tasks left to run;
    ``run_options`` go to :func:`run_tasks`.
    """
    records: dict[str, dict] = {}
    todo: list[SolveTask] = []
    for task in tasks:
        rec = read_record(folder / f"{task['name']}.json", task["fingerprint"])
        if rec is not None:
            records[task["name"]] = rec
        else:
            todo.append(task)
    reused = tuple(records)

    def done(task: SolveTask, rec: dict) -> None:
        rec = dict(rec, finished=True)
        write_record(folder / f"{task['name']}.json", rec)
        records[task["name"]] = rec

    run_tasks(todo, task_fn, done, description=description.format(n=len(todo)), **run_options)
    return records, reused, tuple(t["name"] for t in todo)


# ----------------------------------------------------------------------------- the worker side
def solve_checked(scenario: Scenario, *, progress: bool = False) -> tuple[Result, Instance, np.ndarray]:
    """:func:`siting.run.solve_scenario` plus the positions of the unreachable points (for ``unreachable.csv``).

    The driver itself refuses a threshold above the table's cutoff and summarises the unreachable points in
    ``result.stats["unreachable_demand"]``; only a caller writing the list needs this function.

    Returns
    -------
    (Result, Instance, numpy.ndarray)
        The result, the instance it was solved on and the positions of the unreachable demand points.
    """
    model, params, instance = prepare_model(scenario, progress=progress)
    # the driver refuses thresholds above the table's cutoff and states the unreachable points in the stats;
    # their positions are found again here for unreachable.csv
    result = solve_model(model, instance, params, backend=scenario.solver.name, strategy=scenario.solver.strategy,
                         options=scenario.solve_options())
    try:
        table = instance.travel_for(getattr(params, "speed_group", None))
        weight = instance.demand.weight(str(getattr(params, "weight_column", "population")))
    except KeyError:      # the solve reported an unknown group or column already
        table, weight = instance.travel, instance.demand.population
    lost = unreachable_demand(table, SiteRules.of(instance).usable, weight)
    return result, instance, lost


def solve_record(scenario: str | Path, *, budget: float | None = None, travel: str | None = None,
                 overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Solve one scenario file (with a budget / travel-table override) and return its record.

    The record is :func:`~siting.workflow.records.result_record` plus ``budget`` and ``scenario``.
    """
    sc = load_scenario(scenario)
    changes = dict(overrides or {})
    if travel is not None:
        changes["data.travel_times"] = travel
    if budget is not None:
        changes["model.budget"] = float(budget)
    if changes:
        sc = sc.with_overrides(**changes)
    result = solve_scenario(sc, progress=False)  # a record needs no list of the unreachable points
    return result_record(result) | {"budget": sc.model.budget, "scenario": str(sc.path)}


def solve_task(task: SolveTask) -> dict[str, Any]:
    """Worker side: load the scenario, override the budget, solve, return a JSON-ready record."""
    return solve_record(task["scenario"], budget=task.get("budget"), travel=task.get("travel"),
                        overrides=task.get("overrides") or {}) | {
        "name": task["name"], "fingerprint": task["fingerprint"], "budget_requested": task.get("budget"),
    }
