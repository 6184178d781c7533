"""Scale benchmark: siting's strategies vs plain HiGHS on the naive MCLP model, on generated cities.

Cases
-----
* ``60k``: 60,000 demand points x 5,000 candidates (~2.5 M pairs within 25 min, threshold 15 min), budget
  for ~125 average conversions. Rows: plain HiGHS on the textbook model (no presolve of ours, no warm start)
  with the same time limit; siting ``hybrid`` (and ``heuristic``) via :func:`siting.strategy.solve_coverage`.
* ``1m``: 1,000,000 x 50,000, strategy ``heuristic`` (``auto`` picks it), time limit 600 s; peak RSS from
  ``resource.getrusage``.

Usage::

    .venv/bin/python benchmarks/scale_bench.py --case 60k --time-limit 120
    .venv/bin/python benchmarks/scale_bench.py --case 1m --time-limit 600

Each case prints a markdown table with ``uptime`` load averages (the figures depend on the machine's load).
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import city_pairs, city_points, city_problem  # noqa: E402
from targets import target_line  # noqa: E402

from siting.options import SolveOptions  # noqa: E402
from siting.strategy import solve_coverage  # noqa: E402


def _cpu_s() -> float:
    return time.process_time()


def _core_note(st) -> str:
    core = st.get("core")
    if not core:
        return ""
    return (f"; core MIP {core['rows']}x{core['sites']} {core.get('termination')} "
            f"{core.get('seconds', 0):.1f}s -> {core.get('value', 0):,.0f}")


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def _load() -> str:
    return "load avg " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _row(name, obj, bound, total, seconds, note=""):
    gap = None if obj is None or bound is None else (bound - obj) / bound
    cov = "-" if obj is None else f"{100 * obj / total:.2f}%"
    print(f"| {name} | {cov} | {'-' if obj is None else f'{obj:,.0f}'} | "
          f"{'-' if bound is None else f'{bound:,.0f}'} | {'-' if gap is None else f'{100 * gap:.2f}%'} | "
          f"{seconds:.1f} | {note} |", flush=True)


def _header(title):
    print(f"\n### {title}  ({_load()})\n")
    print("| method | covered share | covered weight | bound | gap | seconds | note |")
    print("|---|---|---|---|---|---|---|", flush=True)


def plain_highs(problem, time_limit_s: float):
    """HiGHS on the textbook MCLP-with-budget model of the full problem (no siting presolve / heuristics)."""
    from siting.backends import get_backend
    from siting.formulations.coverage import build_program, decode_sites

    t0 = time.perf_counter()
    program = build_program(problem)
    raw = get_backend("highs").solve(program, SolveOptions(time_limit_s=time_limit_s, mip_gap=1e-4))
    obj = None
    if raw.x is not None:
        obj = problem.covered_weight(decode_sites(program, raw.x))
    return obj, raw.bound, time.perf_counter() - t0, str(raw.termination)


def case_60k(time_limit_s: float, seed: int, skip_plain: bool) -> None:
    t0 = time.perf_counter()
    pts = city_points(60_000, 5_000, seed=seed)
    n25 = city_pairs(pts, 25.0)[0].size
    p = city_problem(60_000, 5_000, seed=seed, points=pts)
    gen_s = time.perf_counter() - t0
    total = p.total_weight
    _header(f"60,000 x 5,000 (seed {seed}): {n25:,} pairs <= 25 min, {p.coverage.nnz:,} <= 15 min, "
            f"budget {p.budget:,.0f}, time limit {time_limit_s:g} s, generated in {gen_s:.1f} s")
    for strategy in ("heuristic", "hybrid"):
        cpu = _cpu_s()
        out = solve_coverage(p, strategy=strategy, options=SolveOptions(time_limit_s=time_limit_s, mip_gap=1e-4,
                                                                          seed=seed))
        st = out.stats
        red = st["reduced_size"]
        note = (f"{out.termination}; presolve {st['presolve_seconds']:.1f}s -> {red['n_demand']}x{red['n_sites']} "
                f"nnz {red['nnz']:,}; greedy {st.get('greedy_value', 0):,.0f}, LS {st.get('local_search_value', 0):,.0f}"
                f", {st.get('bound_method', 'lagrangian')} {st.get('lagrangian_iterations')} it "
                f"{st.get('lagrangian_seconds', 0):.1f}s{_core_note(st)}; CPU {_cpu_s() - cpu:.1f}s")
        if "mip" in st:
            note += f"; MIP {st['mip']['termination']} {st['mip']['seconds']:.0f}s obj {st['mip']['objective']}"
        _row(f"siting {strategy}", out.objective, out.bound, total, out.seconds, note)
        if strategy == "heuristic":
            heuristic_s, heuristic_gap = out.seconds, out.stats["gap"]
    if not skip_plain:
        obj, bound, secs, term = plain_highs(p, time_limit_s)
        _row("plain HiGHS (naive model)", obj, bound, total, secs, term)
    print("\n" + target_line("mclp_60k", seconds=heuristic_s, gap=heuristic_gap) + f" ({_load()})", flush=True)


def case_1m(time_limit_s: float, seed: int) -> None:
    t0 = time.perf_counter()
    p = city_problem(1_000_000, 50_000, seed=seed)
    gen_s = time.perf_counter() - t0
    _header(f"1,000,000 x 50,000 (seed {seed}): {p.coverage.nnz:,} pairs <= 15 min, budget {p.budget:,.0f}, "
            f"time limit {time_limit_s:g} s, generated in {gen_s:.1f} s, RSS after generation {_rss_gb():.2f} GB")
    cpu = _cpu_s()
    out = solve_coverage(p, strategy="auto", options=SolveOptions(time_limit_s=time_limit_s, seed=seed))
    cpu = _cpu_s() - cpu
    st = out.stats
    red = st["reduced_size"]
    note = (f"{st['strategy']}, {out.termination}; presolve {st['presolve_seconds']:.1f}s -> "
            f"{red['n_demand']}x{red['n_sites']} nnz {red['nnz']:,}; greedy {st.get('greedy_seconds', 0):.1f}s, "
            f"LS {st.get('local_search_seconds', 0):.1f}s, {st.get('bound_method', 'lagrangian')} "
            f"{st.get('lagrangian_iterations')} it {st.get('lagrangian_seconds', 0):.1f}s{_core_note(st)}; "
            f"CPU {cpu:.1f}s; peak RSS {_rss_gb():.2f} GB")
    _row("siting auto", out.objective, out.bound, p.total_weight, out.seconds, note)
    print("\n" + target_line("mclp_1m", seconds=out.seconds, gap=st["gap"], rss_gb=_rss_gb())
          + f" ({cpu:.1f} s CPU; {_load()})", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="siting scale benchmark")
    ap.add_argument("--case", choices=["60k", "1m", "both"], default="60k")
    ap.add_argument("--time-limit", type=float, default=None, help="seconds (default 120 for 60k, 600 for 1m)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-plain", action="store_true", help="do not run plain HiGHS")
    args = ap.parse_args(argv)
    if args.case in ("60k", "both"):
        case_60k(args.time_limit or 120.0, args.seed, args.skip_plain)
    if args.case in ("1m", "both"):
        case_1m(args.time_limit or 600.0, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
