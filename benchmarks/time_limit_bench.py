"""Wall-clock seconds of every backend under a time limit, on p-median and gradual programs up to ~1M pairs.

    .venv/bin/python benchmarks/time_limit_bench.py [--pairs 200000 1000000] [--limits 1 5]
        [--models pmedian gradual] [--backends highs scipy cbc ortools ortools-highs ortools-cbc]

The programs and greedy warm starts are those of ``tests/conformance/test_time_limits.py`` (demand points linked
to their 50 nearest sites, p = sites / 20). ``wall s`` is measured around ``backend.solve(...)``; the promise is
``wall <= 1.2 * limit + 2 s``. ``vs start`` is the relative improvement of the returned point over the warm start
(0 when the warm start itself came back).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, ROOT)

from siting.backends import available_backends, get_backend  # noqa: E402
from siting.options import SolveOptions  # noqa: E402
from siting.program import Sense  # noqa: E402
from tests.conformance.test_time_limits import CASES  # noqa: E402

CONFIGS = {
    "highs": ("highs", {}),
    "scipy": ("scipy", {}),
    "cbc": ("cbc", {}),
    "ortools": ("ortools", {}),
    "ortools-highs": ("ortools", {"ortools": {"solver": "highs"}}),
    "ortools-cbc": ("ortools", {"ortools": {"solver": "cbc"}}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--limits", type=float, nargs="+", default=[1.0, 5.0])
    parser.add_argument("--models", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--backends", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    args = parser.parse_args()
    have = set(available_backends())
    header = (f"{'backend':14s} {'model':8s} {'pairs':>9s} {'limit s':>7s} {'wall s':>7s} {'ratio':>6s} "
              f"{'promise':>7s} {'termination':12s} {'vs start':>9s}  note")
    print(header)
    print("-" * len(header))
    for n_pairs in args.pairs:
        for model in args.models:
            program, start = CASES[model](n_pairs)
            start_value = program.objective_value(start)
            for limit in args.limits:
                for label in args.backends:
                    name, backend_options = CONFIGS[label]
                    if name not in have:
                        continue
                    options = SolveOptions(time_limit_s=limit, backend_options=backend_options)
                    t0 = time.perf_counter()
                    sol = get_backend(name).solve(program, options, warm_start=start)
                    wall = time.perf_counter() - t0
                    ok = "ok" if wall <= 1.2 * limit + 2.0 else "BROKEN"
                    gain = "-"
                    if sol.objective is not None:
                        sign = 1.0 if program.sense == Sense.MAXIMIZE else -1.0
                        gain = f"{sign * (sol.objective - start_value) / max(abs(start_value), 1e-9):+.2%}"
                    note = "warm start" if sol.stats.get("warm_start_returned") else sol.message[:40]
                    print(f"{label:14s} {model:8s} {n_pairs:9d} {limit:7.1f} {wall:7.2f} {wall / limit:6.2f} "
                          f"{ok:>7s} {sol.termination:12s} {gain:>9s}  {note}", flush=True)


if __name__ == "__main__":
    main()
