"""How soon a solve returns once its caller asks it to stop (a ``siting serve`` cancel), against its own pace.

    .venv/bin/python benchmarks/cancel_bench.py [--cases mclp60k lscp20k pmed36 mclp1m ms150k] [--at SECONDS]

Each case is solved twice in this process with the same time limit: once to its own end, once under a stop
event (:func:`siting.interrupt.stopping`, what a serve job's cancel sets) set ``--at`` seconds (default: half
the first run's time) after the solve starts (the instance is built before the clock starts). A row prints both
returns, the overshoot past the event and whether the stopped plan was verified. ``pmed36`` needs the shared OR-Library instances; ``ms150k`` is the
multi-service city of ``multiservice_scale_bench.py`` (about 10 minutes for both runs).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from siting.interrupt import stopping  # noqa: E402
from siting.options import SolveOptions  # noqa: E402

PMED = Path(HERE).resolve().parents[1] / "shared" / "instances" / "orlib-pmed"


def _case(name: str):
    """(time limit, a callable that solves and returns (objective, verified))."""
    if name in ("mclp60k", "mclp1m"):
        from generate import city_problem

        from siting.strategy import solve_coverage

        problem = city_problem(60_000, 5_000, seed=0) if name == "mclp60k" else city_problem(1_000_000, 50_000,
                                                                                             seed=0)
        limit = 60.0 if name == "mclp60k" else 120.0

        def run():
            out = solve_coverage(problem, strategy="auto", options=SolveOptions(time_limit_s=limit, seed=0))
            return out.objective, out.open_sites is not None
        return limit, run
    if name == "lscp20k":
        import numpy as np
        import scipy.sparse as sp
        from spopt_compare import SIZES, THRESHOLD_MIN, make_instance

        from siting.problem import CoverageProblem, ModelType
        from siting.strategy import solve_coverage

        n, m, density, _ = SIZES["20k"]
        inst = make_instance(n, m, density, seed=0)
        keep = inst["minutes"] <= THRESHOLD_MIN
        a = sp.csr_matrix((np.ones(int(keep.sum())), (inst["i"][keep], inst["j"][keep])), shape=(n, m))
        problem = CoverageProblem(ModelType.LSCP, a, np.ones(n), np.ones(m), np.zeros(m, bool), np.zeros(m, bool),
                                  np.ones(m, bool), total_weight=float(n))

        def run():
            out = solve_coverage(problem, strategy="auto", options=SolveOptions(time_limit_s=60.0, seed=0))
            return out.objective, out.open_sites is not None
        return 60.0, run
    if name == "pmed36":
        from siting.data.orlib import read_pmed
        from siting.models.pmedian import solve_pmedian

        instance, p = read_pmed(PMED / "pmed36.txt")

        def run():
            r = solve_pmedian(instance, p=p, options=SolveOptions(time_limit_s=60.0))
            return r.objective, r.has_solution
        return 60.0, run
    if name == "ms150k":
        import multiservice_scale_bench as bench

        def run():
            r = bench.run_case("150k", "plain", 300.0, 0)
            return r["objective"], r["status"] in ("optimal", "time_limit", "feasible")
        return 300.0, run
    raise SystemExit(f"unknown case {name!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["mclp60k", "lscp20k", "pmed36", "mclp1m"])
    parser.add_argument("--at", type=float, default=None, help="seconds after the start (default: half the "
                                                                "case's own run)")
    args = parser.parse_args(argv)
    print(f"{'case':8s} {'limit s':>7s} {'own end s':>9s} {'stop at s':>9s} {'returned s':>10s} "
          f"{'overshoot s':>11s}  plan", flush=True)
    for name in args.cases:
        if name == "pmed36" and not PMED.exists():
            print(f"{name:8s} skipped: {PMED} not found")
            continue
        limit, run = _case(name)
        t0 = time.perf_counter()
        run()
        own = time.perf_counter() - t0
        at = args.at if args.at is not None else own / 2
        event = threading.Event()
        timer = threading.Timer(at, event.set)
        t0 = time.perf_counter()
        timer.start()
        with stopping(event):
            objective, verified = run()
        back = time.perf_counter() - t0
        timer.cancel()
        print(f"{name:8s} {limit:7.0f} {own:9.1f} {at:9.1f} {back:10.1f} {back - at:11.1f}  "
              f"{'verified' if verified else 'none'} ({objective})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
