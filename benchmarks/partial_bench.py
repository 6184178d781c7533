"""Partial covering at city size: siting against plain HiGHS on the textbook model, same instance, same limit.

Cases: generated cities (:mod:`generate`), 15-minute threshold, ``--target`` of the total weight (default 0.9).
Rows: siting ``auto`` (the LP bound and the budget search through the MCLP, ``models/partial.md``) and plain
HiGHS on the textbook program of the whole problem (no presolve of ours, no warm start). The ratio column is
plain HiGHS's gap over siting's (no bound or no plan: none). Each plan is re-valued from the coverage matrix.

Usage::

    .venv/bin/python benchmarks/partial_bench.py --cases 20k:20,20k:60,60k:60 [--target 0.9] [--seed 1]
    .venv/bin/python benchmarks/partial_bench.py --cases 60k:60 --skip-plain

Figures depend on the machine's load (printed beside each table).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import city_problem  # noqa: E402

from siting.options import SolveOptions  # noqa: E402
from siting.problem import ModelType  # noqa: E402
from siting.strategy import solve_coverage  # noqa: E402

SIZES = {"5k": (5_000, 500), "20k": (20_000, 2_000), "60k": (60_000, 5_000)}


def _load() -> str:
    return "load avg " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _gap(obj: float | None, bound: float | None) -> float | None:
    return None if obj is None or bound is None or obj <= 0 else (obj - bound) / obj


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _checked(problem, plan) -> float | None:
    """The plan's cost, after checking from the matrix that it covers the target (None: no plan)."""
    if plan is None:
        return None
    hit = np.asarray(problem.coverage[:, np.flatnonzero(plan)].sum(axis=1)).ravel() > 0
    covered = float(problem.demand_weight[hit].sum())
    if covered < problem.target_coverage * problem.total_weight - 1e-6:
        raise AssertionError(f"plan covers {covered:,.0f} < target {problem.target_weight:,.0f}")
    return float(problem.site_cost[plan].sum())


def plain_highs(problem, time_limit_s: float):
    """HiGHS on the textbook partial-covering program (no siting presolve / heuristics)."""
    from siting.backends import get_backend
    from siting.formulations.coverage import build_program, decode_sites

    t0 = time.perf_counter()
    program = build_program(problem)
    raw = get_backend("highs").solve(program, SolveOptions(time_limit_s=time_limit_s))
    plan = None if raw.x is None else decode_sites(program, raw.x)
    return _checked(problem, plan), raw.bound, time.perf_counter() - t0, str(raw.termination)


def run_case(size: str, time_limit_s: float, target: float, seed: int, skip_plain: bool) -> None:
    n, m = SIZES[size]
    t0 = time.perf_counter()
    p = city_problem(n, m, seed=seed, model=ModelType.PARTIAL, target_coverage=target)
    print(f"\n### {n:,} x {m:,} (seed {seed}), {p.coverage.nnz:,} pairs <= 15 min, target {target:g}, "
          f"limit {time_limit_s:g} s, generated in {time.perf_counter() - t0:.1f} s  ({_load()})\n")
    print("| method | cost | bound | gap | seconds | sites | note |")
    print("|---|---|---|---|---|---|---|", flush=True)
    out = solve_coverage(p, options=SolveOptions(time_limit_s=time_limit_s, seed=seed))
    cost = _checked(p, out.open_sites)
    st = out.stats
    steps = st.get("budget_search") or []
    gave = "".join("p" if "plan" in s.get("gave", "") else ("b" if s.get("gave") else ".") for s in steps)
    note = (f"{st['strategy']}, {out.termination}; LS {_fmt(st.get('local_search_value'), ',.0f')}; "
            f"{st.get('bound_method', '?')} bound {_fmt(st.get('lagrangian_bound'), ',.0f')} in "
            f"{st.get('lagrangian_seconds', 0):.1f} s; {len(steps)} MCLP steps [{gave}]")
    if "mip" in st:
        note += f"; MIP {st['mip']['termination']} {st['mip'].get('seconds', 0):.0f} s"
    ours = _gap(cost, out.bound)
    sites = "-" if out.open_sites is None else str(int(out.open_sites.sum()))
    print(f"| siting auto | {_fmt(cost, ',.0f')} | {_fmt(out.bound, ',.0f')} | {_fmt(ours and 100 * ours, '.2f')} % | "
          f"{out.seconds:.1f} | {sites} | {note} |", flush=True)
    if skip_plain:
        return
    obj, bound, secs, term = plain_highs(p, time_limit_s)
    theirs = _gap(obj, bound)
    ratio = "-" if ours is None or theirs is None or ours <= 0 else f"{theirs / ours:.1f}x siting's gap"
    print(f"| plain HiGHS (textbook) | {_fmt(obj, ',.0f')} | {_fmt(bound, ',.0f')} | "
          f"{_fmt(theirs and 100 * theirs, '.2f')} % | {secs:.1f} | - | {term}; {ratio} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="20k:20,20k:60,60k:60", help="SIZE:SECONDS,... (sizes: 5k, 20k, 60k)")
    ap.add_argument("--target", type=float, default=0.9)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-plain", action="store_true", help="do not run plain HiGHS")
    args = ap.parse_args(argv)
    for case in args.cases.split(","):
        size, _, secs = case.partition(":")
        run_case(size, float(secs or 60), args.target, args.seed, args.skip_plain)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
