"""What the cheapest-plan stage (``SolveOptions.secondary``) costs in time and saves in money.

Instances: the seeded ones of ``benchmarks/spopt_compare.py`` (1k: 1,000 x 100, 5k: 5,000 x 500; 10 min at
60 m/min), with seeded conversion costs of 0.8-2.5 M yuan in steps of 10,000; and the issue-17 instance of
``tests/models/test_cheapest.py`` (400 x 120, 60 M). Each row solves the same model twice on HiGHS,
``secondary="none"`` (pruning only) and ``"min_cost"``, and prints wall seconds, cost and new sites.

Usage::

    .venv/bin/python benchmarks/cheapest_overhead.py              # 1k, 5k and the issue instance
    .venv/bin/python benchmarks/cheapest_overhead.py --sizes 1k
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from spopt_compare import SIZES, THRESHOLD_MIN, make_instance  # noqa: E402

import siting  # noqa: E402
from siting.data.orlib import instance_from_pairs  # noqa: E402
from siting.options import SolveOptions  # noqa: E402


def spopt_sized(size: str) -> tuple[siting.Instance, int]:
    n, m, density, _ = SIZES[size]
    raw = make_instance(n, m, density)
    cost = (np.random.default_rng([7, n, m]).integers(80, 250, size=m) * 10_000).astype(float)
    inst = instance_from_pairs(raw["i"], raw["j"], raw["minutes"], population=raw["pop"].astype(float), cost=cost,
                               name=f"spopt_{size}")
    return inst, int(raw["p"])


def issue17() -> siting.Instance:
    sys.path.insert(0, str(HERE.parent / "tests" / "models"))
    from test_cheapest import issue_instance
    return issue_instance()


def run(label: str, inst: siting.Instance, model: str, params: dict) -> None:
    rows = []
    for goal in ("none", "min_cost"):
        t0 = time.perf_counter()
        res = siting.solve(inst, model=model, backend="highs", options=SolveOptions(secondary=goal, time_limit_s=600),
                           **params)
        wall = time.perf_counter() - t0
        rows.append((goal, wall, res))
    (_, w0, r0), (_, w1, r1) = rows
    same = r0.objective == r1.objective
    print(f"| {label} | {model} | {r0.objective:,.6g} | {'yes' if same else 'NO'} | {w0:.2f} | {w1:.2f} | "
          f"{r0.total_cost / 1e6:,.2f} | {r1.total_cost / 1e6:,.2f} | "
          f"{(r0.total_cost - r1.total_cost) / max(r0.total_cost, 1) :.1%} | {len(r0.selected)} | {len(r1.selected)} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=["issue17", "1k", "5k"])
    args = ap.parse_args()
    print("| instance | model | objective | same objective | wall none (s) | wall min_cost (s) | cost none (M) | "
          "cost min_cost (M) | saved | sites none | sites min_cost |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        if size == "issue17":
            inst = issue17()
            run(size, inst, "mclp", {"threshold_min": 10, "budget": 60e6})
            run(size, inst, "backup", {"threshold_min": 10, "budget": 60e6})
            run(size, inst, "gradual", {"threshold_min": 10, "outer_threshold_min": 15, "budget": 60e6})
            continue
        inst, p = spopt_sized(size)
        run(size, inst, "mclp", {"threshold_min": THRESHOLD_MIN, "max_sites": p})
        run(size, inst, "mclp", {"threshold_min": THRESHOLD_MIN, "budget": 1.6e6 * p})
        run(size, inst, "lscp", {"threshold_min": THRESHOLD_MIN})


if __name__ == "__main__":
    main()
