"""siting vs PySAL spopt (0.7) on the same random MCLP and LSCP instances: objective and wall time.

Foundation, point 8. Each (size, model, tool) runs in its own subprocess, one after the other, and the
table gives the wall time of *build + solve*, the peak RSS, the objective recomputed here from the chosen
sites, whether the objectives agree, and the ratio spopt / siting.

Instances (seeded, one per size, shared by MCLP and LSCP)
---------------------------------------------------------
* ``n`` demand points and ``m`` candidates uniform in a square of side ``L``; Euclidean metres -> minutes
  at 60 m/min; threshold 10 min (600 m). ``L`` is set from a target coverage density (share of
  demand x candidate pairs within the threshold): 3 % at 1,000 x 100, 1.5 % at 5,000 x 500, 0.35 % at
  20,000 x 2,000, i.e. about 3, 7 and 7 candidates in range per point (a "handful"; the measured density
  is printed). At 1 % the 20k instances (20 per point) were far harder MIPs (siting's hybrid still had a
  gap after 60 s) while spopt's build cost does not depend on the density (it loops over all n x m).
* Demand points with no candidate in range are moved next to a random candidate (inside 0.95 x 600 m), so
  every point is coverable and spopt's LSCP is feasible (mildly clustered demand). Populations are integers
  in [50, 500).
* Unit costs. MCLP: ``p = m // 25`` facilities (4, 20, 80; about 1/3 of the population covered; with
  ``m // 10`` the 5k MCLP took siting/HiGHS ~4 min to prove optimal). spopt's MCLP uses
  ``sum x_j == p``; siting uses ``max_sites=p`` (<= p, no budget). With non-negative populations the
  optimal covered population is the same (opening more sites never uncovers a point). LSCP: both
  minimise the number of open sites covering every point.

What each tool receives (built *outside* the timed region)
----------------------------------------------------------
* spopt: the dense ``n x m`` cost matrix in minutes (``inf`` where a pair is beyond the threshold) and the
  weights; timed: ``MCLP.from_cost_matrix`` / ``LSCP.from_cost_matrix`` (includes spopt's dense ``aij``
  and per-element pulp build) + ``solve(solver, results=False)``. ``results=True`` (spopt's ``fac2cli``,
  ``perc_cov``, ...) is run afterwards, timed separately (``spopt_results_s`` in the CSV) and used only as a
  cross-check of the objective. Solvers: ``pulp.PULP_CBC_CMD(msg=False, gapRel=1e-6)`` and
  ``pulp.HiGHS(msg=False, gapRel=1e-6)`` (gap matched to siting's default ``mip_gap=1e-6``).
* siting: three pandas frames (demand, candidates, long travel table holding only the pairs within the
  threshold, from ``cKDTree.sparse_distance_matrix``); timed: ``instance_from_frames`` + ``siting.solve``
  with ``strategy="auto"`` and ``backend`` = highs and cbc (when available).
* Both read the same minutes (the dense matrix is filled from the same pairs), so coverage is identical.
* spopt builds its model once per (size, model) in one subprocess and then solves it with each pulp solver
  in turn: each row's wall time = the (shared) build time + that solver's solve time; the peak RSS is the
  process's. At 20k only CBC is run by default (``--spopt-solvers``): the build alone takes 10+ minutes.
  siting runs one subprocess per backend. siting gets no time limit (``strategy="auto"`` picks exact or
  hybrid; hybrid caps its MIP at 120 s by default, so a siting row can be ``feasible`` with a gap).

Peer without a modelling layer: ``highs/plain`` is HiGHS (``highspy``, default settings, the same gap) on the
textbook model built from the same pairs inside the timed region (LSCP ``min 1^T x, A x >= 1``; MCLP
``max w^T y, y <= A x, 1^T x <= p``); its ratio column is HiGHS / siting-with-HiGHS.

Objectives are recomputed here from the selected sites and the raw pairs (covered population for MCLP,
number of open sites for LSCP, plus a check that LSCP covers every point). Peak RSS = the larger of the
worker's own ``ru_maxrss`` and the process tree's RSS (worker + the CBC executable, which both pulp and
siting run as a child) sampled every 0.2 s with psutil; ``RUSAGE_CHILDREN`` is not used because a forked
child's high-water mark includes the parent's pages before ``exec``. The table also gives the worker's RSS
just before the timed region (imports + inputs: spopt imports geopandas & co.). A row whose build + solve
exceeds the time cap (or whose process tree exceeds ``--max-rss-gb``) is killed and reported as ``DNF``,
with a lower bound on its ratio; spopt's later solvers in a killed process are reported as not run.

Usage::

    .venv/bin/python benchmarks/spopt_compare.py                       # all three sizes
    .venv/bin/python benchmarks/spopt_compare.py --sizes 1k 5k --timeout 600
    .venv/bin/python benchmarks/spopt_compare.py --sizes 20k --spopt-solvers cbc+highs

Writes ``benchmarks/results/spopt_compare.csv`` (gitignored) and prints a markdown table with ``uptime``
load averages (the machine is shared: the figures depend on its load).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from targets import target_line  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: name -> (n_demand, n_candidates, target density, default time cap in seconds)
SIZES = {
    "1k": (1_000, 100, 0.03, 300.0),
    "5k": (5_000, 500, 0.015, 600.0),
    "20k": (20_000, 2_000, 0.0035, 1200.0),
}
MODELS = ("mclp", "lscp")
SPEED_M_MIN = 60.0
THRESHOLD_MIN = 10.0
GAP = 1e-6
RESULT_TAG = "RESULT "
BUILD_TAG = "BUILD_DONE "
START_TAG = "TIMED_START"
SOLVE_TAG = "SOLVE_START "
SOLVED_TAG = "SOLVE_END"


# --------------------------------------------------------------------------- instances
def make_instance(n: int, m: int, density: float, seed: int = 0) -> dict:
    """Seeded random instance: points, populations, pairs within the threshold (i, j, minutes), p."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng([seed, n, m])
    radius = THRESHOLD_MIN * SPEED_M_MIN
    side = radius * np.sqrt(np.pi / density)
    cand = rng.uniform(0.0, side, size=(m, 2))
    dem = rng.uniform(0.0, side, size=(n, 2))
    tree = cKDTree(cand)
    dist, _ = tree.query(dem, k=1)
    lonely = np.flatnonzero(dist > radius)
    if lonely.size:  # move uncoverable points next to a random candidate
        host = rng.integers(0, m, size=lonely.size)
        angle = rng.uniform(0.0, 2 * np.pi, size=lonely.size)
        r = 0.95 * radius * np.sqrt(rng.uniform(0.0, 1.0, size=lonely.size))
        dem[lonely] = cand[host] + np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    pairs = cKDTree(dem).sparse_distance_matrix(tree, radius, output_type="ndarray")
    order = np.lexsort((pairs["j"], pairs["i"]))
    pairs = pairs[order]
    return {
        "dem": dem,
        "cand": cand,
        "pop": rng.integers(50, 500, size=n).astype(np.int64),
        "i": pairs["i"].astype(np.int64),
        "j": pairs["j"].astype(np.int64),
        "minutes": pairs["v"] / SPEED_M_MIN,
        "p": max(1, m // 25),
        "moved": int(lonely.size),
        "side_m": float(side),
    }


def covered_mask(inst: dict, open_sites: np.ndarray) -> np.ndarray:
    """Demand points with an open site within the threshold (recomputed from the raw pairs)."""
    n = len(inst["pop"])
    ok = (inst["minutes"] <= THRESHOLD_MIN) & open_sites[inst["j"]]
    return np.bincount(inst["i"][ok], minlength=n) > 0


# --------------------------------------------------------------------------- workers (one per subprocess)
def _rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def _cpu_s() -> float:
    """CPU seconds of this worker and its waited-for children (CBC runs as a child): steadier than wall time on a
    shared machine."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _emit(tag: str, payload="") -> None:
    print(tag + (payload if isinstance(payload, str) else json.dumps(payload)), flush=True)


def _score(inst: dict, model: str, open_idx) -> dict:
    """Objective recomputed from the chosen sites and the raw pairs."""
    m = len(inst["cand"])
    opened = np.zeros(m, dtype=bool)
    opened[np.asarray(open_idx, dtype=np.int64)] = True
    cov = covered_mask(inst, opened)
    covered = float(inst["pop"][cov].sum())
    return {"n_open": int(opened.sum()), "covered_pop": covered, "all_covered": bool(cov.all()),
            "covered_share_count_pct": 100.0 * float(cov.mean()),
            "objective": covered if model == "mclp" else float(opened.sum())}


def worker_spopt(inst: dict, model: str, solver_names: list[str]) -> None:
    """One spopt build, then each pulp solver in turn; one RESULT line per solver (wall = build + solve)."""
    import warnings

    import pulp
    from spopt.locate import LSCP, MCLP

    n, m = len(inst["pop"]), len(inst["cand"])
    cost = np.full((n, m), np.inf)  # input, not timed (what a spopt user passes)
    cost[inst["i"], inst["j"]] = inst["minutes"]
    weights = inst["pop"].astype(float)
    rss_before = _rss_mb()[0]
    warnings.simplefilter("ignore")
    _emit(START_TAG)
    t0, c0 = time.perf_counter(), _cpu_s()
    if model == "mclp":
        problem = MCLP.from_cost_matrix(cost, weights, service_radius=THRESHOLD_MIN,
                                        p_facilities=inst["p"], name="mclp")
    else:
        problem = LSCP.from_cost_matrix(cost, service_radius=THRESHOLD_MIN, name="lscp")
    build_s = time.perf_counter() - t0
    build_cpu_s = _cpu_s() - c0
    _emit(BUILD_TAG, f"{build_s:.3f}")
    for name in solver_names:
        solver = pulp.PULP_CBC_CMD(msg=False, gapRel=GAP) if name == "cbc" else pulp.HiGHS(msg=False, gapRel=GAP)
        _emit(SOLVE_TAG, name)
        t1, c1 = time.perf_counter(), _cpu_s()
        try:
            problem.solve(solver, results=False)
            status = pulp.LpStatus[problem.problem.status]
            sol_status = pulp.LpSolution.get(problem.problem.sol_status, str(problem.problem.sol_status))
        except RuntimeError as exc:  # spopt raises RuntimeError when pulp's status is not 1
            status, sol_status = f"error: {exc}", ""
        solve_s = time.perf_counter() - t1
        solve_cpu_s = _cpu_s() - c1
        _emit(SOLVED_TAG)
        open_idx = [j for j, v in enumerate(problem.fac_vars) if (v.value() or 0.0) > 0.5]
        # spopt's own result attributes (solve(results=True) makes exactly these calls), timed separately
        t2 = time.perf_counter()
        try:
            problem.facility_client_array()
            problem.client_facility_array()
            if model == "mclp":
                problem.uncovered_clients()
                problem.get_percentage()
                attr_cov = float(problem.perc_cov)
            else:
                attr_cov = 100.0 * sum(1 for c in problem.cli2fac if len(c)) / n
        except Exception as exc:  # noqa: BLE001 - a cross-check only
            attr_cov = f"error: {exc}"
        row = {"tool": f"spopt/{name}", "wall_s": build_s + solve_s, "build_s": build_s, "solve_s": solve_s,
               "cpu_s": build_cpu_s + solve_cpu_s,
               "status": status, "sol_status": sol_status, "spopt_results_s": time.perf_counter() - t2,
               "spopt_attr_perc_cov": attr_cov, "rss_before_mb": rss_before}
        row.update(_score(inst, model, open_idx))
        row["rss_self_mb"], row["rss_children_mb"] = _rss_mb()
        _emit(RESULT_TAG, row)


def worker_siting(inst: dict, model: str, backend: str, secondary: str = "none",
                  time_limit_s: float | None = None) -> None:
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    import siting
    from siting.data import instance_from_frames

    n, m = len(inst["pop"]), len(inst["cand"])
    dem_ids = np.array([f"d{i}" for i in range(n)], dtype=object)
    cand_ids = np.array([f"c{j}" for j in range(m)], dtype=object)
    demand_df = pd.DataFrame({"id": dem_ids, "population": inst["pop"],
                              "x": inst["dem"][:, 0], "y": inst["dem"][:, 1]})
    cand_df = pd.DataFrame({"id": cand_ids, "cost": np.ones(m), "x": inst["cand"][:, 0],
                            "y": inst["cand"][:, 1]})
    travel_df = pd.DataFrame({"demand_id": dem_ids[inst["i"]], "candidate_id": cand_ids[inst["j"]],
                              "minutes": inst["minutes"]})
    rss_before = _rss_mb()[0]
    _emit(START_TAG)
    t0, c0 = time.perf_counter(), _cpu_s()
    instance = instance_from_frames(demand_df, cand_df, travel_df)
    build_s = time.perf_counter() - t0
    _emit(BUILD_TAG, f"{build_s:.3f}")
    _emit(SOLVE_TAG, backend)
    kwargs = {"max_sites": inst["p"]} if model == "mclp" else {}
    res = siting.solve(instance, model=model, threshold_min=THRESHOLD_MIN, backend=backend,
                       strategy="auto", options=siting.SolveOptions(secondary=secondary, time_limit_s=time_limit_s),
                       **kwargs)
    wall = time.perf_counter() - t0
    index = {s: k for k, s in enumerate(cand_ids)}
    row = {"tool": f"siting/{backend}", "wall_s": wall, "build_s": build_s, "solve_s": wall - build_s,
           "cpu_s": _cpu_s() - c0,
           "status": str(res.status), "sol_status": str(res.stats.get("strategy", "")),
           "siting_objective": res.objective, "siting_bound": res.best_bound, "siting_gap": res.gap,
           "rss_before_mb": rss_before}
    row.update(_score(inst, model, [index[s] for s in res.selected]))
    row["rss_self_mb"], row["rss_children_mb"] = _rss_mb()
    _emit(RESULT_TAG, row)


def worker_highs(inst: dict, model: str) -> None:
    """Plain HiGHS (highspy, default settings) on the textbook model built from the same pairs; timed: the
    matrix build from the pairs + the solve (no presolve of siting's, no heuristics, no verification)."""
    import highspy
    import scipy.sparse as sp

    n, m = len(inst["pop"]), len(inst["cand"])
    rss_before = _rss_mb()[0]
    _emit(START_TAG)
    t0, c0 = time.perf_counter(), _cpu_s()
    a = sp.csr_matrix((np.ones(len(inst["i"])), (inst["i"], inst["j"])), shape=(n, m))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", GAP)
    if model == "lscp":   # min sum x  s.t.  A x >= 1
        csc = a.tocsc()
        csc.sort_indices()
        h.passModel(m, n, int(csc.nnz), 1, 1, 0.0, np.ones(m), np.zeros(m), np.ones(m), np.ones(n),
                    np.full(n, np.inf), csc.indptr.astype(np.int32), csc.indices.astype(np.int32), csc.data,
                    np.ones(m, np.int32))
    else:   # max w^T y  s.t.  y_i - sum_j a_ij x_j <= 0, sum x <= p; columns x (m) then y (n)
        rows = sp.vstack([sp.hstack([-a, sp.identity(n)]),
                          sp.hstack([sp.csr_matrix(np.ones((1, m))), sp.csr_matrix((1, n))])]).tocsc()
        rows.sort_indices()
        cost = np.concatenate([np.zeros(m), inst["pop"].astype(float)])
        upper = np.concatenate([np.full(n, 0.0), [float(inst["p"])]])
        h.passModel(m + n, n + 1, int(rows.nnz), 1, -1, 0.0, cost, np.zeros(m + n), np.ones(m + n),
                    np.full(n + 1, -np.inf), upper, rows.indptr.astype(np.int32), rows.indices.astype(np.int32),
                    rows.data.astype(float), np.concatenate([np.ones(m, np.int32), np.zeros(n, np.int32)]))
    build_s = time.perf_counter() - t0
    _emit(BUILD_TAG, f"{build_s:.3f}")
    _emit(SOLVE_TAG, "plain")
    h.run()
    wall = time.perf_counter() - t0
    x = np.asarray(h.getSolution().col_value[:m]) > 0.5
    row = {"tool": "highs/plain", "wall_s": wall, "build_s": build_s, "solve_s": wall - build_s,
           "cpu_s": _cpu_s() - c0, "status": str(h.getModelStatus()).split(".")[-1], "sol_status": "",
           "rss_before_mb": rss_before}
    row.update(_score(inst, model, np.flatnonzero(x)))
    row["rss_self_mb"], row["rss_children_mb"] = _rss_mb()
    _emit(RESULT_TAG, row)


def run_worker(args) -> int:
    n, m, density, _ = SIZES[args.size]
    inst = make_instance(n, m, density, seed=args.seed)
    tool, solvers = args.tool.split("/")
    if tool == "spopt":
        worker_spopt(inst, args.model, solvers.split("+"))
    elif tool == "highs":
        worker_highs(inst, args.model)
    else:
        worker_siting(inst, args.model, solvers, args.secondary, args.siting_time_limit)
    return 0


# --------------------------------------------------------------------------- driver
def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _tree_rss_mb(proc) -> float:
    import psutil

    try:
        p = psutil.Process(proc.pid)
        procs = [p] + p.children(recursive=True)
    except psutil.Error:
        return 0.0
    total = 0
    for q in procs:
        try:
            total += q.memory_info().rss
        except psutil.Error:
            pass
    return total / 1024 ** 2


def _kill_tree(proc) -> None:
    import psutil

    try:
        kids = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        kids = []
    for q in kids:
        try:
            q.kill()
        except psutil.Error:
            pass
    proc.kill()
    proc.wait()


def launch(size: str, model: str, tool: str, seed: int, cap_s: float, max_rss_mb: float,
           secondary: str = "none", siting_time_limit: float | None = None) -> list[dict]:
    """Run one worker subprocess under the time cap (per row: build + that solver's solve); poll the
    process-tree RSS; return one row per solver (``tool`` = ``spopt/cbc+highs`` gives two rows)."""
    import threading

    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--size", size, "--model", model,
           "--tool", tool, "--seed", str(seed), "--secondary", secondary]
    if siting_time_limit is not None:
        cmd += ["--siting-time-limit", str(siting_time_limit)]
    base = {"size": size, "model": model, "load_before": _load(), "secondary": secondary}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    events: list[tuple[float, str]] = []
    err_lines: list[str] = []

    def read_out():
        for ln in proc.stdout:
            events.append((time.perf_counter(), ln.rstrip("\n")))

    threads = [threading.Thread(target=read_out, daemon=True),
               threading.Thread(target=lambda: err_lines.extend(proc.stderr), daemon=True)]
    for th in threads:
        th.start()
    polled, reason, killed_at = 0.0, None, None
    while proc.poll() is None:
        polled = max(polled, _tree_rss_mb(proc))
        now = time.perf_counter()
        snapshot = list(events)
        t_start = next((t for t, ln in snapshot if ln.startswith(START_TAG)), None)
        build = next((float(ln[len(BUILD_TAG):]) for _, ln in snapshot if ln.startswith(BUILD_TAG)), None)
        solves = [t for t, ln in snapshot if ln.startswith(SOLVE_TAG)]
        solved = [t for t, ln in snapshot if ln.startswith(SOLVED_TAG)]
        if t_start is None:
            over = now - started > cap_s + 600
            why = "DNF (input generation too slow)"
        elif build is None or not solves:
            over, why = now - t_start > cap_s, f"DNF > {cap_s:g} s"
        elif solved and solved[-1] >= solves[-1]:  # spopt's results step (untimed) after a finished solve
            over, why = False, ""
        else:  # each row: build + its own solve <= cap
            over, why = build + (now - solves[-1]) > cap_s, f"DNF > {cap_s:g} s"
        if over:
            reason = why
        elif polled > max_rss_mb:
            reason = f"DNF RSS > {max_rss_mb / 1024:g} GB"
        if reason:
            killed_at = now
            _kill_tree(proc)
            break
        time.sleep(0.2)
    for th in threads:
        th.join(timeout=5)
    base["load_after"] = _load()
    base["process_s"] = time.perf_counter() - started
    lines = [ln for _, ln in events]
    build = next((float(ln[len(BUILD_TAG):]) for ln in lines if ln.startswith(BUILD_TAG)), None)
    solvers = tool.split("/")[1].split("+")
    prefix = tool.split("/")[0]
    done = {}
    for ln in lines:
        if ln.startswith(RESULT_TAG):
            r = json.loads(ln[len(RESULT_TAG):])
            done[r["tool"]] = r
    rows = []
    running = None
    solve_events = [(t, ln[len(SOLVE_TAG):]) for t, ln in events if ln.startswith(SOLVE_TAG)]
    if solve_events and f"{prefix}/{solve_events[-1][1]}" not in done:
        running = solve_events[-1]
    for name in solvers:
        key = f"{prefix}/{name}"
        row = {**base, "tool": key, "polled_rss_mb": polled}
        if build is not None:
            row["build_s"] = build
        if key in done:
            row.update(done[key])
            row["peak_rss_mb"] = max(row["rss_self_mb"], polled)
        elif reason and running is not None and running[1] == name:
            row["dnf"] = reason
            row["timed_s_at_kill"] = build + (killed_at - running[0])
        elif reason and build is None:
            row["dnf"] = reason + " (build not finished)"
            t_start = next((t for t, ln in events if ln.startswith(START_TAG)), None)
            if t_start is not None:
                row["timed_s_at_kill"] = killed_at - t_start
        elif reason:
            row["dnf"] = "not run (the process was stopped on the previous solver's cap)"
        else:
            tail = " | ".join(ln.strip() for ln in err_lines[-3:])
            row["dnf"] = f"crash rc={proc.returncode}: {tail[-300:]}"
        rows.append(row)
    return rows


def _fmt_obj(row) -> str:
    if "objective" not in row:
        return "-"
    bound = row.get("siting_bound")
    if bound is not None and row.get("siting_gap"):   # stopped with a gap: the certified bound beside the plan
        return f"{row['objective']:,.0f} (bound {bound:,.0f}, gap {100 * row['siting_gap']:.2f} %)"
    return f"{row['objective']:,.0f}"


def finish_rows(rows: list[dict]) -> None:
    """Same-objective flags and wall-time ratios, per (size, model)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["size"], r["model"]), []).append(r)
    for (_, model), rs in groups.items():
        done = [r for r in rs if "objective" in r]
        ref = next((r for r in done if r["tool"] == "siting/highs"), done[0] if done else None)
        siting_by_solver = {r["tool"].split("/")[1]: r for r in done if r["tool"].startswith("siting/")}
        for r in rs:
            if "objective" not in r or ref is None:
                r["same"] = "-"
            else:
                same = abs(r["objective"] - ref["objective"]) <= 1e-6 * max(1.0, abs(ref["objective"]))
                if model == "lscp" and not r["all_covered"]:
                    same = False
                r["same"] = "yes" if same else f"no (vs {ref['objective']:,.0f})"
            if r["tool"] == "highs/plain" and "wall_s" in r and "highs" in siting_by_solver:
                r["ratio_same_solver"] = r["wall_s"] / siting_by_solver["highs"]["wall_s"]
                r["cpu_ratio_same_solver"] = r["cpu_s"] / max(siting_by_solver["highs"]["cpu_s"], 1e-9)
            if r["tool"].startswith("spopt/"):
                twin = siting_by_solver.get(r["tool"].split("/")[1])
                base = siting_by_solver.get("highs")
                if "wall_s" in r:
                    r["ratio_same_solver"] = r["wall_s"] / twin["wall_s"] if twin else None
                    if twin and r.get("cpu_s") and twin.get("cpu_s"):
                        r["cpu_ratio_same_solver"] = r["cpu_s"] / twin["cpu_s"]
                    r["ratio_vs_siting_highs"] = r["wall_s"] / base["wall_s"] if base else None
                elif twin is not None:  # DNF: a lower bound on the ratio
                    r["ratio_lower_bound"] = r.get("timed_s_at_kill", 0.0) / twin["wall_s"]


def print_table(rows: list[dict]) -> None:
    print("\n| size | model | tool/solver | wall s | CPU s | peak RSS MB (before build) | objective | same objective? "
          "| ratio peer/siting (same solver) | CPU ratio | status | build s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        n, m = SIZES[r["size"]][:2]
        if "dnf" in r:
            wall = r["dnf"]
            rss = f"{r['polled_rss_mb']:,.0f} (polled)"
            ratio = f"> {r['ratio_lower_bound']:.1f}" if r.get("ratio_lower_bound") else "-"
            status = "killed" if r["dnf"].startswith("DNF") else r["dnf"].split(" ")[0]
        else:
            wall = f"{r['wall_s']:.2f}"
            rss = f"{r['peak_rss_mb']:,.0f} ({r['rss_before_mb']:,.0f})"
            ratio = f"{r['ratio_same_solver']:.1f}x" if r.get("ratio_same_solver") else "-"
            status = r["status"] + (f" ({r['sol_status']})" if r.get("sol_status") else "")
        build = f"{r['build_s']:.2f}" if "build_s" in r else "-"
        cpu = f"{r['cpu_s']:.2f}" if r.get("cpu_s") else "-"
        cpu_ratio = f"{r['cpu_ratio_same_solver']:.1f}x" if r.get("cpu_ratio_same_solver") else "-"
        print(f"| {n:,} x {m:,} | {r['model']} | {r['tool']} | {wall} | {cpu} | {rss} | {_fmt_obj(r)} | "
              f"{r.get('same', '-')} | {ratio} | {cpu_ratio} | {status} | {build} |", flush=True)


def print_targets(rows: list[dict]) -> None:
    """Issue 14's LSCP targets beside what this run measured (siting with HiGHS against spopt's fastest)."""
    for r in rows:
        if r["model"] != "lscp" or r["tool"] != "siting/highs" or "wall_s" not in r:
            continue
        if r["size"] == "5k":
            peers = [p["wall_s"] for p in rows if p["size"] == "5k" and p["model"] == "lscp"
                     and p["tool"].startswith("spopt/") and "wall_s" in p]
            if peers:
                print(target_line("lscp_5k", seconds=r["wall_s"], ratio=min(peers) / r["wall_s"]))
        elif r["size"] == "20k":
            gap = r.get("siting_gap")
            print(target_line("lscp_20k", seconds=r["wall_s"], gap=0.0 if r["status"] == "optimal" else gap))


CSV_FIELDS = ["size", "n_demand", "n_candidates", "model", "tool", "wall_s", "cpu_s", "cpu_ratio_same_solver",
              "build_s", "solve_s",
              "peak_rss_mb", "rss_self_mb", "rss_children_mb", "polled_rss_mb", "rss_before_mb", "objective",
              "covered_pop", "n_open", "all_covered", "same", "ratio_same_solver", "ratio_vs_siting_highs",
              "ratio_lower_bound", "status", "sol_status", "dnf", "spopt_results_s", "spopt_attr_perc_cov",
              "covered_share_count_pct", "siting_objective", "siting_bound", "siting_gap", "process_s",
              "timed_s_at_kill", "load_before", "load_after"]


def write_csv(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            n, m = SIZES[r["size"]][:2]
            w.writerow({**r, "n_demand": n, "n_candidates": m})
    os.replace(tmp, path)


def tools_to_run(size: str, spopt_solvers: str) -> list[str]:
    """siting/highs, siting/cbc (if available), one spopt process per model (one build, then its solvers) and
    plain HiGHS on the textbook model (``highs/plain``: its ratio column is HiGHS / siting-with-HiGHS).

    ``spopt_solvers="auto"``: CBC then HiGHS (when pulp has it), but CBC only at 20k, where spopt's build
    alone takes ~10+ minutes on 2 busy cores (a second solver would add up to another cap).
    """
    sys.path.insert(0, str(ROOT))
    tools = ["siting/highs"]
    try:
        from siting.backends import available_backends

        if "cbc" in available_backends():
            tools.append("siting/cbc")
    except ImportError:
        pass
    import pulp

    has_highs = "HiGHS" in pulp.listSolvers(onlyAvailable=True)
    if spopt_solvers == "auto":
        spopt_solvers = "cbc+highs" if has_highs and size != "20k" else "cbc"
    tools.append(f"spopt/{spopt_solvers}")
    tools.append("highs/plain")
    return tools


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--timeout", type=float, default=None,
                    help="time cap per run in seconds (default: 300 / 600 / 1200 s for 1k / 5k / 20k)")
    ap.add_argument("--max-rss-gb", type=float, default=12.0, help="kill a run whose process tree exceeds this")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tools", nargs="+", default=None, help="subset, e.g. siting/highs spopt/cbc+highs")
    ap.add_argument("--spopt-solvers", choices=["auto", "cbc", "highs", "cbc+highs"], default="auto",
                    help="pulp solvers for spopt (auto: cbc+highs, cbc only at 20k)")
    ap.add_argument("--csv", type=Path, default=HERE / "results" / "spopt_compare.csv")
    # spopt stops at an optimum; like for like, siting does too ("none"). "min_cost" adds siting's cheapest-plan
    # stage (fewest sites for LSCP) on top, to measure what it costs
    ap.add_argument("--secondary", choices=["none", "min_cost"], default="none",
                    help="siting's [solver] secondary (default none: the same question spopt answers)")
    ap.add_argument("--siting-time-limit", type=float, default=None,
                    help="siting's time limit in seconds (default none: hybrid caps its MIP at 120 s); e.g. the "
                         "issue-14 target '20k LSCP within 60 s': --sizes 20k --models lscp --tools siting/highs "
                         "--siting-time-limit 60")
    # worker mode (internal)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--size", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--tool", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return run_worker(args)

    print(f"# siting vs spopt  (start {time.strftime('%H:%M:%S', time.gmtime())} UTC, load avg {_load()})")
    per_size = {z: args.tools or tools_to_run(z, args.spopt_solvers) for z in args.sizes}
    print(f"tools per size: {per_size}; threshold {THRESHOLD_MIN:g} min at {SPEED_M_MIN:g} m/min; "
          f"MIP gap {GAP:g}; seed {args.seed}")
    for size in args.sizes:
        n, m, density, _ = SIZES[size]
        inst = make_instance(n, m, density, seed=args.seed)
        real = len(inst["i"]) / (n * m)
        print(f"{size}: {n:,} x {m:,}, side {inst['side_m']:,.0f} m, {len(inst['i']):,} pairs in range "
              f"(density {100 * real:.2f} %, {len(inst['i']) / n:.1f} per point), {inst['moved']:,} points moved "
              f"next to a candidate, MCLP p = {inst['p']}", flush=True)
    rows: list[dict] = []
    for size in args.sizes:
        cap = args.timeout if args.timeout is not None else SIZES[size][3]
        for model in args.models:
            for tool in args.tools or tools_to_run(size, args.spopt_solvers):
                for row in launch(size, model, tool, args.seed, cap, args.max_rss_gb * 1024, args.secondary,
                                  args.siting_time_limit):
                    rows.append(row)
                    brief = row.get("dnf") or f"{row['wall_s']:.2f} s, objective {row['objective']:,.0f}"
                    print(f"  {size} {model} {row['tool']}: {brief}  "
                          f"(load {row['load_before']} -> {row['load_after']})", flush=True)
                finish_rows(rows)
                write_csv(rows, args.csv)
    finish_rows(rows)
    print_table(rows)
    print_targets(rows)
    write_csv(rows, args.csv)
    print(f"\nend {time.strftime('%H:%M:%S', time.gmtime())} UTC, load avg {_load()}; CSV: {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
