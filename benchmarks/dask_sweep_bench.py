"""Serial vs a fresh local Dask cluster for budget sweeps of a few tasks (where the serial default stops).

    .venv/bin/python benchmarks/dask_sweep_bench.py [--tasks 2 4 8 12] [--demand 3000 --sites 300]

Two scenarios: the bundled example (12 x 6, each solve ~0.1 s) and a generated city MCLP
(``benchmarks/generate.py``, ``--demand`` x ``--sites``, each solve a few seconds). For every task count the same sweep
runs serially (``use_dask=False``) and on a 2-worker ``LocalCluster`` started for the run (the default before
issue 13), each in a fresh output folder; the table prints wall seconds and the ratio. ``siting sweep`` runs
serially up to ``siting.workflow.tasks.SERIAL_MAX_TASKS`` tasks unless a scheduler or client is given.

Measured 2026-11-29 (2 cores shared, load average ~10 from other jobs):

    scenario           tasks  serial s   dask s dask/serial
    example 12x6           2      2.02    37.27       18.49
    example 12x6           4      2.60    35.70       13.75
    example 12x6           8      9.68    54.15        5.59
    example 12x6          12     11.27    38.18        3.39
    city 3000x300          2      6.85    36.33        5.30
    city 3000x300          4     17.22    48.87        2.84
    city 3000x300          8     41.51    85.93        2.07
    city 3000x300         12    106.75   177.58        1.66
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

ROOT = Path(__file__).resolve().parents[1]


def _city_scenario(folder: Path, n_demand: int, n_sites: int) -> Path:
    from generate import city_tables

    demand, sites, travel = city_tables(n_demand, n_sites, max_minutes=15.0, seed=3)
    demand.to_csv(folder / "demand.csv", index=False)
    sites.to_csv(folder / "candidates.csv", index=False)
    travel.to_parquet(folder / "travel.parquet", index=False)
    budget = float(sites["cost"].median()) * 10
    toml = folder / "city.toml"
    toml.write_text('[data]\ndemand = "demand.csv"\ncandidates = "candidates.csv"\ntravel_times = "travel.parquet"\n'
                    f'[model]\ntype = "mclp"\nthreshold_minutes = 10\nbudget = {budget}\n')
    return toml


def _run(scenario: Path, budgets: list[float], *, use_dask: bool) -> float:
    from siting.workflow import sweep

    out = Path(tempfile.mkdtemp(prefix="dask_bench_"))
    started = time.perf_counter()
    if use_dask:   # a cluster started for the run, as before issue 13 (a client forces Dask at any size)
        from siting.workflow.tasks import dask_client

        with dask_client(None, 2, quiet=True) as client:
            sweep(scenario, budgets, out_dir=out, client=client, quiet=True, plot=False)
    else:
        sweep(scenario, budgets, out_dir=out, use_dask=False, quiet=True, plot=False)
    return time.perf_counter() - started


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, nargs="+", default=[2, 4, 8, 12])
    ap.add_argument("--demand", type=int, default=3000)
    ap.add_argument("--sites", type=int, default=300)
    args = ap.parse_args()
    sys.path.insert(0, os.path.dirname(__file__))
    scenarios = {"example 12x6": ROOT / "scenarios" / "example" / "mclp.toml",
                 f"city {args.demand}x{args.sites}": _city_scenario(Path(tempfile.mkdtemp()), args.demand,
                                                                    args.sites)}
    print(f"{'scenario':<18} {'tasks':>5} {'serial s':>9} {'dask s':>8} {'dask/serial':>11}")
    for name, toml in scenarios.items():
        for n in args.tasks:
            budgets = [1e6 * (k + 1) for k in range(n)] if name.startswith("example") else None
            if budgets is None:
                import pandas as pd

                median = float(pd.read_csv(toml.parent / "candidates.csv")["cost"].median())
                budgets = [median * (2 + 2 * k) for k in range(n)]
            serial = _run(toml, budgets, use_dask=False)
            dask = _run(toml, budgets, use_dask=True)
            print(f"{name:<18} {n:>5} {serial:>9.2f} {dask:>8.2f} {dask / serial:>11.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
