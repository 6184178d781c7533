"""Review of the row-weighting search (2026-11-30): the kernel's bookkeeping recomputed from scratch, the target
arithmetic of the LSCP phase, the search through ``solve_coverage`` / ``siting.solve``, its time limit on a cover
whose steps are slow, and the one-worker CP-SAT stage's ``threads`` and ``cp_sat_params``."""
from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp

import siting
from siting.data.instance import SiteStatus
from siting.data.orlib import instance_from_pairs
from siting.errors import InputError
from siting.heuristics import CoverArrays
from siting.heuristics import rwls as rwls_mod
from siting.heuristics.cover_lp import lp_cover_dual
from siting.options import SolveOptions
from siting.problem import CoverageProblem, ModelType
from siting.strategy import cover as cover_mod
from siting.strategy import lscp_stages as lscp_mod
from siting.strategy import solve_coverage

from .helpers import ScriptedOrtools, brute_force, feasible, random_incidence

pytest.importorskip("numba")
from siting.heuristics import _rwls_kernels  # noqa: E402  (numba needed)


def _cover(a, unit=1.0, *, fixed_open=None, fixed_closed=None, max_sites=None, budget=None, cost=None):
    a = np.asarray(a, bool)
    n_d, n_s = a.shape
    return CoverageProblem(ModelType.LSCP, sp.csr_matrix(a), np.ones(n_d),
                           np.full(n_s, unit) if cost is None else np.asarray(cost, float),
                           np.zeros(n_s, bool) if fixed_open is None else fixed_open,
                           np.zeros(n_s, bool) if fixed_closed is None else fixed_closed, np.ones(n_s, bool),
                           budget=budget, max_sites=max_sites, total_weight=float(n_d))


# 1. the kernel's incremental state against a recomputation from the rows and weights -----------------------------

def _check_state(sub: sp.csr_matrix, state: tuple[np.ndarray, ...]) -> None:
    x, count, weight, score, conf, stamp, uncovered, uncovered_pos, n_unc, members, member_pos, best, sc = state
    on = x.astype(bool)
    a = sub.astype(np.int64)
    assert np.array_equal(count, a @ on.astype(np.int64))
    rows_out = np.flatnonzero(count == 0)
    n = int(n_unc[0])
    assert n == rows_out.size and sorted(uncovered[:n].tolist()) == rows_out.tolist()
    assert np.array_equal(uncovered_pos[uncovered[:n]], np.arange(n))
    assert (uncovered_pos[count > 0] == -1).all()
    m = int(members[0])
    assert m == int(on.sum()) and sorted(members[1:1 + m].tolist()) == np.flatnonzero(on).tolist()
    assert np.array_equal(member_pos[members[1:1 + m]], np.arange(m)) and (member_pos[~on] == -1).all()
    gain = a.T @ np.where(count == 0, weight, 0)                  # outsiders: uncovered weight they would cover
    loss = a.T @ np.where(count == 1, weight, 0)                  # members: weight of rows only they cover
    assert np.array_equal(score, np.where(on, -loss, gain))
    assert (weight >= 1).all() and int(best.sum()) == int(sc[2])
    assert (a @ best.astype(np.int64) > 0).all()                  # the best kept is a cover


@pytest.mark.parametrize("seed", range(12))
def test_the_kernels_arrays_match_a_recount_after_random_runs(seed):
    rng = np.random.default_rng(seed)
    n_rows, n_cols = int(rng.integers(5, 120)), int(rng.integers(3, 40))
    dense = rng.random((n_rows, n_cols)) < rng.uniform(0.05, 0.6)   # some columns cover many rows, some none
    dense[~dense.any(axis=1), rng.integers(n_cols)] = True
    sub = sp.csr_matrix(dense)
    by_col = sub.tocsc()
    graph = (by_col.indptr.astype(np.int64), by_col.indices.astype(np.int64), sub.indptr.astype(np.int64),
             sub.indices.astype(np.int64))
    start = np.ones(n_cols, np.uint8)
    count = np.asarray(sub @ start.astype(np.float64)).round().astype(np.int64)
    state = rwls_mod._start_state(sub, start, count, seed)
    _check_state(sub, state)
    target = int(rng.integers(0, 3))
    for _ in range(25):
        _rwls_kernels.run_steps(*graph, *state, int(rng.integers(1, 40)), 10**9, target)
        _check_state(sub, state)
        if state[-1][2] <= target:
            break


# 2. the target the LSCP phase gives the search ----------------------------------------------------------------------

def _fewest_sites(p: CoverageProblem) -> int:
    """The fewest sites (required ones included) of any cover, by enumeration."""
    _, x = brute_force(p.with_(site_cost=np.ones(p.n_sites), budget=None, max_sites=None))
    return int(x.sum())


@pytest.mark.parametrize("seed", range(24))
def test_the_phase_target_never_exceeds_the_fewest_sites_and_the_plan_is_a_cover(seed, monkeypatch):
    rng = np.random.default_rng(100 + seed)
    a = random_incidence(rng, (6, 22), (6, 11))
    n_s = a.shape[1]
    fixed_open = rng.random(n_s) < 0.2
    fixed_closed = (rng.random(n_s) < 0.15) & ~fixed_open
    a = a[a[:, ~fixed_closed].any(axis=1)]
    unit = [2.5, 7 / 3, 1e-3, 0.1, 3.0, 1e6 / 7][seed % 6]
    cost = np.where(fixed_open, rng.choice([0.0, 4.2, unit]), unit)   # required sites may cost anything
    p = _cover(a, fixed_open=fixed_open, fixed_closed=fixed_closed, cost=cost)
    fewest = _fewest_sites(p)
    fixed_cost = float(cost[fixed_open].sum())
    exact = fixed_cost + (fewest - int(fixed_open.sum())) * unit
    lp = lp_cover_dual(p)
    bounds = [lp.bound, lp.raw_bound, exact, float(np.sum([*cost[fixed_open], *[unit] * (fewest - fixed_open.sum())])),
              exact * (1 - 1e-15), np.nextafter(exact, np.inf), exact - 1e-3 * unit, -np.inf]
    seen = []
    real = cover_mod.row_weighting_search
    monkeypatch.setattr(cover_mod, "row_weighting_search",
                        lambda *args, **kw: seen.append(kw["target"]) or real(*args, **kw))
    arr = CoverArrays.of(p)
    start = ~fixed_closed
    for bound in bounds:
        plan, value, _ = cover_mod._row_weighting(p, arr, start, p.value_of(start), bound, SolveOptions(seed=seed),
                                                  None, {}, "x")
        assert seen[-1] <= fewest, (bound, seen[-1], fewest)
        assert feasible(p, plan) and value == pytest.approx(p.value_of(plan))
    # a bound the search can meet is met: the optimum is found and it stops there
    assert p.value_of(plan) == pytest.approx(exact)
    # limits: a cover over the budget or the site limit is never returned
    for limited in (p.with_(max_sites=fewest - 1), p.with_(budget=exact - 0.5 * unit)):
        out = rwls_mod.row_weighting_search(limited, start, CoverArrays.of(limited), target=0)
        assert out.plan is None


@pytest.mark.parametrize("unit", [7 / 3, 1e-3, 0.1])
def test_a_bound_summed_over_many_sites_does_not_push_the_target_above_them(unit, monkeypatch):
    # 20,000 rows, each its own site: the optimum opens all of them. Its cost summed one site at a time is
    # 46,666.666666674 for 7/3 (20,000.0000000033 sites): a margin of 1e-9 sites made the target 20,001
    n = 20_000
    p = CoverageProblem(ModelType.LSCP, sp.identity(n, dtype=bool, format="csr"), np.ones(n), np.full(n, unit),
                        np.zeros(n, bool), np.zeros(n, bool), np.ones(n, bool), total_weight=float(n))
    seen = []
    monkeypatch.setattr(cover_mod, "row_weighting_search",
                        lambda *args, **kw: seen.append(kw["target"]) or rwls_mod.RowWeightingResult(None, None, 0, 0))
    one_by_one = 0.0
    for _ in range(n):
        one_by_one += unit
    start = np.ones(n, bool)
    for bound in (one_by_one, p.value_of(start), n * unit):
        cover_mod._row_weighting(p, CoverArrays.of(p), start, p.value_of(start), bound, SolveOptions(), None, {}, "")
        assert seen[-1] == n, bound


# 3. through solve_coverage and siting.solve ---------------------------------------------------------------------------

def _random_cover(seed: int, unit: float) -> CoverageProblem:
    """Rows of three random sites out of 13 (presolve leaves most of it), one required and one excluded site."""
    rng = np.random.default_rng(300 + seed)
    n_s = 13
    a = np.zeros((40, n_s), bool)
    for row in a:
        row[rng.choice(n_s, 3, replace=False)] = True
    fixed_open = np.zeros(n_s, bool)
    fixed_closed = np.zeros(n_s, bool)
    fixed_open[0] = seed % 2 == 0
    fixed_closed[1] = True
    a = a[a[:, ~fixed_closed].any(axis=1)]
    return _cover(a, unit, fixed_open=fixed_open, fixed_closed=fixed_closed)


@pytest.mark.parametrize("seed", range(6))
def test_solve_coverage_with_the_search_on_every_size_is_verified_and_never_worse(seed, monkeypatch):
    p = _random_cover(seed, [1.0, 2.5, 7 / 3][seed % 3])
    best, _ = brute_force(p)
    runs = [("heuristic", "highs", None), ("hybrid", "highs", 5.0), ("auto", "ortools", 5.0),
            ("heuristic", "ortools", 0.5), ("auto", "highs", None)][seed % 5:][:2]
    for strategy, backend, limit in runs:
        options = SolveOptions(time_limit_s=limit, seed=seed)
        monkeypatch.setattr(cover_mod, "RWLS_MIN_ENTRIES", 10**12)
        before = solve_coverage(p, backend=backend, strategy=strategy, options=options)
        monkeypatch.setattr(cover_mod, "RWLS_MIN_ENTRIES", 0)
        after = solve_coverage(p, backend=backend, strategy=strategy, options=options)
        if strategy == "heuristic":
            assert after.stats["rwls_value"] is not None   # the search ran (from the Lagrangian cover)
        # feasible: a cover, the required site open, the excluded one closed
        assert feasible(p, after.open_sites) and after.objective == pytest.approx(p.value_of(after.open_sites))
        assert best - 1e-9 <= after.objective <= before.objective + 1e-9
        assert after.bound is None or after.bound <= best + 1e-9


def test_siting_solve_lscp_with_the_search_keeps_required_and_excluded_sites(monkeypatch):
    monkeypatch.setattr(cover_mod, "RWLS_MIN_ENTRIES", 0)
    rng = np.random.default_rng(5)
    n_d, n_s = 60, 14
    present = rng.random((n_d, n_s)) < 0.35
    d, s = np.nonzero(present)
    t = rng.integers(0, 16, d.size).astype(float)
    status = np.array([SiteStatus.CANDIDATE] * n_s, dtype=object)
    status[0], status[1], status[2] = SiteStatus.REQUIRED, SiteStatus.EXCLUDED, SiteStatus.EXISTING
    inst = instance_from_pairs(d, s, t, population=np.ones(n_d), cost=np.full(n_s, 3.0), status=status)
    values = {}
    for strategy, backend, limit in (("exact", "highs", None), ("heuristic", "highs", None),
                                     ("hybrid", "ortools", 5.0), ("auto", "highs", 2.0)):
        res = siting.solve(inst, model="lscp", threshold_min=8, backend=backend, strategy=strategy,
                           options=SolveOptions(time_limit_s=limit))
        assert res.has_solution and "s0" in res.selected and "s1" not in res.selected, strategy
        values[strategy] = res.objective
    assert min(values.values()) == pytest.approx(values["exact"])
    assert values["heuristic"] <= values["exact"] + 3.0 + 1e-9   # at most one site above on this small cover


# 4. the time limit on a cover whose steps are slow; without one it ends ----------------------------------------------

def test_a_time_limit_holds_when_a_chunk_of_steps_is_slow():
    rng = np.random.default_rng(0)
    a = sp.random(20_000, 200, density=0.1, format="csr", random_state=rng, data_rvs=lambda k: np.ones(k)) != 0
    a = a[np.diff(a.indptr) > 0]
    p = _cover(sp.csr_matrix(a).toarray())
    arr, start = CoverArrays.of(p), np.ones(p.n_sites, bool)
    rwls_mod.row_weighting_search(p, start, arr, max_steps=1)   # loaded, compiled
    began = time.perf_counter()
    out = rwls_mod.row_weighting_search(p, start, arr, time_limit_s=0.2, stall_steps=10**9)
    wall = time.perf_counter() - began
    # before the fix: 50,000 steps (1.7 s at load 1) before the first look at the clock
    assert out.plan is not None and feasible(p, out.plan)
    assert 0 < out.steps < rwls_mod.CHUNK_STEPS and wall < 0.2 + 0.5, f"{wall:.2f} s for 0.2 s"
    # the clock only sizes the calls: the same steps, the same plan as without a limit
    again = rwls_mod.row_weighting_search(p, start, arr, max_steps=out.steps, stall_steps=10**9)
    assert again.steps == out.steps and np.array_equal(again.plan, out.plan)


def test_a_short_phase_neither_loads_nor_compiles_the_kernels(monkeypatch):
    a = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 1]], bool)
    p = _cover(a)
    arr = CoverArrays.of(p)
    real = _rwls_kernels.run_steps
    # as in a process that has not run the search yet (numba loaded by another part): no compiled signatures
    monkeypatch.setattr(_rwls_kernels, "run_steps", lambda *args: real(*args))
    assert rwls_mod.row_weighting_search(p, np.ones(4, bool), arr, compile_ok=False).plan is None
    short = rwls_mod.KERNEL_LOAD_S / 2
    assert rwls_mod.row_weighting_search(p, np.ones(4, bool), arr, time_limit_s=short, compile_ok=False).plan is None
    # numba loaded and time to load them: used
    assert rwls_mod.row_weighting_search(p, np.ones(4, bool), arr, time_limit_s=rwls_mod.KERNEL_LOAD_S,
                                         compile_ok=False).value == 2.0
    assert rwls_mod.row_weighting_search(p, np.ones(4, bool), arr).value == 2.0
    monkeypatch.undo()    # run (compiled) in this process: a short phase uses it
    assert rwls_mod.row_weighting_search(p, np.ones(4, bool), arr, time_limit_s=short, compile_ok=False).value == 2.0


@pytest.mark.parametrize("seed", [-2, -1, 2**40, 2**63 - 1, 2**70])
def test_any_seed_runs_the_search(seed):
    # 2**40 raised OverflowError building the kernel's RNG state (through siting.solve, before SolveOptions limited
    # seeds to the solvers' 32 bits: a traceback); the search itself takes any integer
    p = _cover(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 1]], bool))
    out = rwls_mod.row_weighting_search(p, np.ones(4, bool), CoverArrays.of(p), seed=seed, max_steps=2_000,
                                        stall_steps=10**6)
    assert out.value == 2.0 and out.steps == 2_000


@pytest.mark.parametrize("seed", [-1, 2**31 - 1, 2**40, 1.5, True])
def test_the_options_refuse_seeds_the_solvers_cannot_take(seed):
    # HiGHS ignored 2**40 with only an error status (the run was not the seed's), CP-SAT refused it
    with pytest.raises(InputError, match="seed must be a whole number from 0 to 2147483646"):
        SolveOptions(seed=seed)
    assert SolveOptions(seed=np.int64(2**31 - 2)).seed == 2**31 - 2


def test_without_a_limit_it_ends_at_the_stall_count_or_the_step_limit():
    rng = np.random.default_rng(2)
    a = rng.random((300, 60)) < 0.08
    a[~a.any(axis=1), 0] = True
    p = _cover(a)
    arr = CoverArrays.of(p)
    out = rwls_mod.row_weighting_search(p, np.ones(60, bool), arr, stall_steps=2_000)
    assert out.steps < rwls_mod.MAX_STEPS and out.plan is not None
    out = rwls_mod.row_weighting_search(p, np.ones(60, bool), arr, stall_steps=10**9, max_steps=60_123)
    assert out.steps == 60_123


# 5. the one-worker CP-SAT stage: threads and the user's cp_sat_params ----------------------------------------------

def _equal_cover() -> CoverageProblem:
    rng = np.random.default_rng(9)
    return _cover(random_incidence(rng, (12, 20), (8, 10)), 2.5)


def test_threads_and_cp_sat_params_reach_cp_sat_as_documented():
    p = _equal_cover()
    own = {"num_workers": 8, "max_sat_reverse_assumption_order": False}
    user = {"solver": "cp_sat", "cp_sat_params": own}
    cases = [  # (problem, threads, the user's table, the cp_sat_params CP-SAT gets, the method)
        (p, None, {"solver": "cp_sat"}, lscp_mod.LSCP_CPSAT_PARAMS, "cp_sat (core)"),
        (p, None, user, {**lscp_mod.LSCP_CPSAT_PARAMS, **own}, "cp_sat (core)"),
        (p, 2, user, {"subsolvers": ["core"], "max_sat_reverse_assumption_order": False}, "cp_sat (core)"),
        (p, None, {"solver": "cp_sat", "cp_sat_params": {"subsolvers": ["max_lp"]}},
         {**lscp_mod.LSCP_CPSAT_PARAMS, "subsolvers": ["max_lp"]}, "cp_sat (max_lp)"),
        (p.with_(site_cost=np.where(np.arange(p.n_sites) % 2 == 0, 2.5, 3.5)), None, user,
         {**lscp_mod.LSCP_CPSAT_PORTFOLIO, **own}, "cp_sat (core + max_lp)"),
    ]
    for problem, threads, table, expected, method in cases:
        backend = ScriptedOrtools([("optimal", 3, 3)])
        options = SolveOptions(time_limit_s=5, threads=threads, backend_options={"ortools": table})
        out = lscp_mod.lscp_stages(problem, backend, options, None, {})
        assert backend.seen[0][0]["cp_sat_params"] == expected and out.method == method
    # the real engine: one worker, or the user's two threads, proves the same optimum
    best, _ = brute_force(p)
    for threads in (None, 2):
        out = solve_coverage(p, backend="ortools", strategy="exact",
                             options=SolveOptions(time_limit_s=10, threads=threads,
                                                  backend_options={"ortools": {"solver": "cp_sat"}}))
        assert str(out.termination) == "optimal" and out.objective == pytest.approx(best)
