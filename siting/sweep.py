"""Budget sweeps: one independent solve per budget, resumable, on Dask or serially.

Each finished solve is written atomically to ``<out>/sweep/<budget>.json`` as soon as it arrives, so an
interrupted sweep loses nothing: a re-run skips every budget whose file exists, parses and carries the same
scenario fingerprint (scenario text + size/mtime of every input file it names). A file that is unreadable or
stale is recomputed. The runner is :func:`run_tasks`, shared with :mod:`siting.compare`:

* default: a Dask ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` started for the run;
* ``scheduler="tcp://host:8786"``: an existing cluster (workers must see the same files);
* ``use_dask=False``: serial, in this process.

Outputs: ``sweep.csv`` (one row per budget, with ``pareto`` = not dominated in (cost, coverage)) and
``sweep.png`` (the coverage-vs-budget curve).

Example
-------
>>> from siting.sweep import pareto_mask
>>> pareto_mask([10, 20, 30], [100, 100, 150]).tolist()
[True, False, True]
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from .errors import ScenarioError, SitingError

__all__ = [
    "budget_key", "pareto_mask", "fingerprint", "progress_bar", "run_tasks", "read_record",
    "write_json", "SweepResult", "sweep", "frontier_table", "plot_frontier", "parse_budgets",
]


# ----------------------------------------------------------------------------- small helpers
def budget_key(budget: float) -> str:
    """File-name form of a budget: ``60000000`` for whole yuan, ``1234.5`` otherwise."""
    b = float(budget)
    return str(int(b)) if b.is_integer() else repr(b)


def parse_budgets(values: Iterable[Any], *, file: str | None = None, key: str = "budgets") -> list[float]:
    """Validate a list of budgets (numbers > 0, finite; ``1e6``/``"60M"``/``"2.5e7"`` accepted), sorted, unique."""
    out: list[float] = []
    for v in values:
        raw = v
        if isinstance(v, str):
            s = v.strip().replace(",", "").replace("_", "")
            mult = 1.0
            if s[-1:].upper() in {"K", "M", "B"}:
                mult = {"K": 1e3, "M": 1e6, "B": 1e9}[s[-1].upper()]
                s = s[:-1]
            try:
                v = float(s) * mult
            except ValueError:
                raise ScenarioError(f"budget {raw!r} is not a number", file=file, key=key) from None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ScenarioError(f"budget {raw!r} must be a number, got {type(raw).__name__}", file=file, key=key)
        if not math.isfinite(v) or v <= 0:
            raise ScenarioError(f"budgets must be positive, got {raw!r}", file=file, key=key)
        out.append(float(v))
    if not out:
        raise ScenarioError("no budgets given", file=file, key=key)
    return sorted(set(out))


def pareto_mask(cost: Iterable[float], covered: Iterable[float]) -> np.ndarray:
    """True for points no other point dominates (cost <= and covered >=, one strictly); of equal points, the first."""
    c = np.asarray(list(cost), dtype=float)
    v = np.asarray(list(covered), dtype=float)
    keep = np.ones(c.size, dtype=bool)
    for i in range(c.size):  # a sweep has tens of points
        dom = (c <= c[i]) & (v >= v[i]) & ((c < c[i]) | (v > v[i]) | (np.arange(c.size) < i))
        keep[i] = not dom.any()
    return keep


def fingerprint(scenario_path: str | Path, extra_files: Iterable[str | Path] = (), extra: str = "", *,
                include_scenario: bool = True) -> str:
    """sha256 of the scenario text, ``extra`` and (size, mtime) of every file named (changed input -> recompute)."""
    h = hashlib.sha256()
    if include_scenario:
        h.update(Path(scenario_path).read_bytes())
    h.update(extra.encode())
    for f in sorted(str(x) for x in extra_files):
        fp = Path(f)
        st = fp.stat() if fp.exists() else None
        h.update(f"{f}:{st.st_size if st else -1}:{st.st_mtime_ns if st else -1}".encode())
    return h.hexdigest()[:16]


def write_json(path: Path, data: dict) -> None:
    """Atomic JSON write (NaN -> null)."""
    from .io import atomic_write_json

    atomic_write_json(path, data, indent=1)


def write_text(path: Path, text: str) -> None:
    from .io import atomic_write_text

    atomic_write_text(path, text)


def write_bytes(path: Path, data: bytes) -> None:
    from .io import atomic_write_bytes

    atomic_write_bytes(path, data)


def read_record(path: Path, fp: str | None) -> dict | None:
    """A finished task's record, or None when missing, unreadable, unfinished or from other inputs."""
    try:
        rec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or "status" not in rec or rec.get("finished") is not True:
        return None
    if fp is not None and rec.get("fingerprint") != fp:
        return None
    return rec


# ----------------------------------------------------------------------------- progress + runner
@contextlib.contextmanager
def progress_bar(total: int, description: str, *, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (nothing when ``quiet``); yields ``advance(n=1)``."""
    if quiet:
        yield lambda n=1: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=False) as prog:
        task = prog.add_task(description, total=total)
        yield lambda n=1: prog.advance(task, n)


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, n_workers: int = 2):
    """A ``distributed.Client``: to ``scheduler`` if given, else to a fresh LocalCluster (closed on exit).

    A LocalCluster uses processes: a script calling this must guard its entry point with
    ``if __name__ == "__main__":`` (spawned workers re-import the main module).
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover
        raise SitingError("Dask is not installed: pip install 'dask[distributed]', or run with --no-dask") from exc
    if scheduler:
        import dask

        try:  # dask config "siting.scheduler-timeout" (default 10 s) bounds the wait for an absent scheduler
            client = Client(scheduler, timeout=dask.config.get("siting.scheduler-timeout", "10s"))
        except (OSError, TimeoutError) as exc:
            raise SitingError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def run_tasks(
    tasks: list[dict],
    fn: Callable[[dict], dict],
    on_done: Callable[[dict, dict], None],
    *,
    scheduler: str | None = None,
    use_dask: bool = True,
    client: Any = None,
    n_workers: int = 2,
    description: str = "tasks",
    quiet: bool = False,
) -> None:
    """Run ``fn(task)`` for every task; call ``on_done(task, record)`` in this process as each one finishes.

    ``on_done`` is where results are written, so what finished is on disk even if the run is interrupted.
    A failing task does not stop the others: every task that succeeds is saved, then the first error is
    raised. On an interrupt (Ctrl-C) the tasks already finished on the cluster are saved before stopping.
    """
    if not tasks:
        return
    errors: list[BaseException] = []
    with progress_bar(len(tasks), description, quiet=quiet) as advance:
        if not use_dask:
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
                         n_workers=n_workers)
    if errors:
        raise errors[0]


def _run_on_dask(tasks, fn, on_done, errors, advance, *, scheduler, client, n_workers) -> None:
    from distributed import as_completed

    ctx = contextlib.nullcontext(client) if client is not None else dask_client(scheduler, n_workers)
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


# ----------------------------------------------------------------------------- solving one point
def run_resumable(
    folder: Path,
    jobs: list[tuple[str, Any, float | None]],
    task_fn: Callable[[dict], dict],
    *,
    description: str,
    **run_options: Any,
) -> tuple[dict[str, dict], tuple[str, ...], tuple[str, ...]]:
    """Run the jobs ``(name, prepared scenario, budget)`` whose record in ``folder`` is missing or stale.

    Each finished record is written atomically to ``folder/<name>.json`` the moment it arrives, so an
    interrupted run resumes from what is on disk. Returns every record by name, the names reused and
    the names run now.
    ``description`` may hold ``{n}``, the number of jobs left to run; ``run_options`` go to :func:`run_tasks`.
    """
    records: dict[str, dict] = {}
    todo: list[dict] = []
    for name, prep, budget in jobs:
        rec = read_record(folder / f"{name}.json", prep.fingerprint)
        if rec is not None:
            records[name] = rec
        else:
            todo.append({"name": name, "scenario": str(prep.scenario_path), "budget": budget, "travel": prep.travel,
                         "fingerprint": prep.fingerprint, "overrides": prep.overrides})
    reused = tuple(records)

    def done(task: dict, rec: dict) -> None:
        rec = dict(rec, finished=True)
        write_json(folder / f"{task['name']}.json", rec)
        records[task["name"]] = rec

    run_tasks(todo, task_fn, done, description=description.format(n=len(todo)), **run_options)
    return records, reused, tuple(t["name"] for t in todo)


def solve_task(task: dict) -> dict:
    """Worker side: load the scenario, override the budget, solve, return a JSON-ready record."""
    from .workflow import solve_record

    return solve_record(task["scenario"], budget=task.get("budget"), travel=task.get("travel"),
                        overrides=task.get("overrides") or {}) | {
        "name": task["name"], "fingerprint": task["fingerprint"], "budget_requested": task.get("budget"),
    }


# ----------------------------------------------------------------------------- the sweep
@dataclass(frozen=True)
class SweepResult:
    table: pd.DataFrame          # one row per budget (see frontier_table)
    records: dict[str, dict]     # budget key -> record
    csv: Path
    png: Path | None
    computed: tuple[str, ...]    # budget keys solved in this run
    reused: tuple[str, ...]      # budget keys read back from disk


def frontier_table(records: Iterable[dict]) -> pd.DataFrame:
    """One row per budget: cost, covered population and share, sites, status, pareto flag, per-service shares."""
    rows = []
    for r in records:
        row = {
            "budget": float(r.get("budget_requested") or r.get("budget") or np.nan),
            "status": r.get("status"),
            "has_solution": bool(r.get("has_solution")),
            "total_cost": float(r.get("total_cost") or 0.0),
            "covered_population": float(r.get("covered_population") or 0.0),
            "total_population": float(r.get("total_population") or 0.0),
            "n_selected": len(r.get("selected") or []),
            "seconds": float(r.get("seconds") or 0.0),
        }
        tp = row["total_population"]
        row["coverage_share"] = row["covered_population"] / tp if tp else 0.0
        for k, v in sorted((r.get("per_service") or {}).items()):
            if isinstance(v, dict) and v.get("share") is not None:
                row[f"share_{k}"] = float(v["share"])
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df = df.sort_values("budget", kind="stable").reset_index(drop=True)
    ok = df["has_solution"].to_numpy()
    mask = np.zeros(len(df), dtype=bool)
    if ok.any():
        mask[ok] = pareto_mask(df.loc[ok, "total_cost"], df.loc[ok, "covered_population"])
    df["pareto"] = mask
    return df


def plot_frontier(table: pd.DataFrame, path: Path | None = None, *, title: str = "Coverage vs budget") -> bytes:
    """The coverage-vs-budget curve as PNG bytes (also written to ``path`` if given)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 4.5), dpi=110)
    ok = table[table["has_solution"]] if not table.empty else table
    if not ok.empty:
        x = ok["budget"] / 1e6
        ax.step(x, 100 * ok["coverage_share"], where="post", color="#1f77b4", lw=2, label="covered share (all services)")
        ax.plot(x, 100 * ok["coverage_share"], "o", color="#1f77b4")
        p = ok[ok["pareto"]]
        ax.plot(p["total_cost"] / 1e6, 100 * p["coverage_share"], "D", mfc="none", color="#d62728", ms=9,
                label="Pareto frontier (spent, covered)")
        for c in [c for c in ok.columns if c.startswith("share_")]:
            ax.plot(x, 100 * ok[c], lw=1, alpha=0.7, label=c[6:])
    ax.set_xlabel("budget (million yuan)")
    ax.set_ylabel("covered (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.set_ylim(0, 100)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    data = buf.getvalue()
    if path is not None:
        write_bytes(Path(path), data)
    return data


def sweep(
    scenario: str | Path,
    budgets: Iterable[Any] | None = None,
    *,
    out_dir: str | Path | None = None,
    scheduler: str | None = None,
    use_dask: bool = True,
    client: Any = None,
    n_workers: int = 2,
    quiet: bool = False,
    plot: bool = True,
    task_fn: Callable[[dict], dict] = solve_task,
) -> SweepResult:
    """Solve ``scenario`` at every budget (resuming from ``<out_dir>/sweep``), write ``sweep.csv`` and ``sweep.png``.

    ``budgets`` default to the scenario's ``[sweep] budgets``. ``out_dir`` defaults to the scenario's
    ``[output] dir`` (or ``out/<scenario name>``).
    """
    from .workflow import prepare_scenario

    prep = prepare_scenario(scenario, out_dir=out_dir, quiet=quiet)
    if budgets is None:
        budgets = prep.sweep_budgets
        if not budgets:
            raise ScenarioError("no budgets: pass --budgets or add [sweep] budgets = [...]",
                                file=str(scenario), key="sweep.budgets")
        where, key = str(scenario), "sweep.budgets"
    else:
        where, key = None, "--budgets"
    values = parse_budgets(budgets, file=where, key=key)
    folder = prep.out_dir / "sweep"
    folder.mkdir(parents=True, exist_ok=True)
    records, reused, computed = run_resumable(
        folder, [(budget_key(b), prep, b) for b in values], task_fn, scheduler=scheduler, use_dask=use_dask,
        client=client, n_workers=n_workers, description="sweep {n} budgets", quiet=quiet)
    table = frontier_table(records[budget_key(b)] for b in values)
    csv = prep.out_dir / "sweep.csv"
    write_text(csv, table.to_csv(index=False, lineterminator="\n"))
    png = None
    if plot:
        png = prep.out_dir / "sweep.png"
        plot_frontier(table, png, title=f"{prep.name}: coverage vs budget")
    return SweepResult(table=table, records={budget_key(b): records[budget_key(b)] for b in values}, csv=csv,
                       png=png, computed=computed, reused=reused)
