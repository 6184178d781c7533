r"""Row-weighting local search for set covers whose free sites all cost the same (Gao, Weise & Li 2015).

Equal costs make the cover's size the objective, the case where the LP bound and Lagrangian covers are weakest
and plans from MIP solvers stay a few sites above the optimum for minutes. The search keeps a set :math:`S` of
sites and a weight :math:`w_i \ge 1` per row. A site's score is, outside :math:`S`, the weight of the uncovered
rows it would cover, and inside it, minus the weight of the rows only it covers. Whenever :math:`S` covers every
row it is kept if smaller than the best so far and its member of highest score is dropped; otherwise one *swap*
step drops the member of highest score (not the site added last) and adds, for a random uncovered row, its site of
highest score among those whose neighbourhood changed since they left :math:`S` (configuration checking); ties go
to the site that moved longest ago. Then every uncovered row's weight rises by one, so rows that keep escaping
pull the search towards them. The moves update only the rows of the moved site and the sites of those rows
(compiled: :mod:`._rwls_kernels`).

It is a heuristic: it returns a cover (checked here from the rows), never a bound, and stops at a step limit,
after ``stall_steps`` steps without a smaller cover, at a target size (e.g. a lower bound) or at its time limit.
Given the seed, the steps it takes do not depend on the clock; only where a time limit stops them does.

Measured (presolved spopt_compare covers, three search seeds each; optima proven by CP-SAT): 20,000 x 2,000 seed
0, 1,996 x 1,379 rows x sites: 440 in 0.1 s, the optimum 439 after ~0.6 s; seed 2 (optimum 440): 440 in 0.1-0.2 s;
seed 1 (optimum 435): 437 in 0.05 s, 436 after 0.8-2.3 s. HiGHS's and CP-SAT's plans after 60 s were 441-445.

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.problem import CoverageProblem, ModelType
>>> from siting.heuristics import CoverArrays
>>> a = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 1]], dtype=bool))
>>> p = CoverageProblem(ModelType.LSCP, a, np.ones(4), np.ones(4), np.zeros(4, bool), np.zeros(4, bool),
...                     np.ones(4, bool))
>>> out = row_weighting_search(p, np.ones(4, bool), CoverArrays.of(p), max_steps=100)
>>> int(out.plan.sum()), out.value
(2, 2.0)
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..interrupt import expired
from ..problem import CoverageProblem
from .arrays import CoverArrays
from .setcover import _within_limits

__all__ = ["RowWeightingResult", "row_weighting_search"]

#: steps per call of the compiled loop between two looks at the clock (20k cover: ~0.07 s) ...
CHUNK_STEPS = 50_000
#: ... under a time limit at most this many seconds' worth of steps at the rate the previous call measured, the
#: first call this many steps: a step costs the moved sites' rows times those rows' sites, so 50,000 steps took
#: 10 s on a random 50,000 x 400 cover at 20 % density (a 0.2 s limit ended after 10.4 s)
CHUNK_S = 0.05
FIRST_CHUNK_STEPS = 100
#: without a smaller cover for this many steps per row to cover, the search stops (20k seed 0 found its optimum
#: 346,000 steps after the cover before it: 1,996 rows)
STALL_STEPS_PER_ROW = 250
#: ... and at least / at most this many steps in all
MIN_STALL_STEPS = 20_000
MAX_STEPS = 5_000_000
#: a search that may not compile (``compile_ok`` False) loads the kernels with numba loaded only when its time limit
#: is at least this long (loading them from numba's cache: 0.37 s, see :func:`_kernels`)
KERNEL_LOAD_S = 1.0


@dataclass(frozen=True)
class RowWeightingResult:
    """The smallest cover found (``plan`` over the problem's sites, ``value`` its cost), or None, and the effort."""

    plan: np.ndarray | None
    value: float | None
    steps: int
    seconds: float


def _kernels(compile_ok: bool, time_limit_s: float | None = None) -> Any:
    """The compiled moves, or None without numba.

    With ``compile_ok`` False they are used once this process has run them, or when numba is loaded (by another
    compiled part of siting) and ``time_limit_s`` leaves :data:`KERNEL_LOAD_S` for loading them: importing numba and
    the kernels takes ~0.7 s in a fresh process; with numba loaded, loading them from numba's cache took 0.37 s (a
    0.1 s limit ended after 0.37 s), compiling them (no cache yet) 3.5 s.
    """
    if not compile_ok:
        loaded = sys.modules.get(f"{__package__}._rwls_kernels")
        if loaded is not None and getattr(loaded.run_steps, "signatures", None):
            return loaded
        if "numba" not in sys.modules or time_limit_s is None or time_limit_s < KERNEL_LOAD_S:
            return None
    try:
        from . import _rwls_kernels
    except ImportError:   # numba missing or broken: no search
        return None
    return _rwls_kernels


def _start_state(sub: Any, x: np.ndarray, count: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """The kernel's state arrays (see :mod:`._rwls_kernels`) at the cover ``x`` of ``sub``, all weights 1."""
    n_rows, n_cols = sub.shape
    alone = np.asarray(sub.T @ (count == 1).astype(np.float64)).round().astype(np.int64)
    score = np.where(x == 1, -alone, 0)                  # no row is uncovered: outsiders gain nothing yet
    on = np.flatnonzero(x)
    members = np.zeros(n_cols + 1, np.int64)
    members[0], members[1:1 + on.size] = on.size, on
    member_pos = np.full(n_cols, -1, np.int64)
    member_pos[on] = np.arange(on.size)
    # any Python int seed (the search is also called directly): mixed, then cut to the 63 bits the xorshift keeps
    rng_state = (((seed + 1) * 2654435761 + 12345) & 0x7FFFFFFFFFFFFFFF) | 1
    scalars = np.array([0, 0, on.size, -1, rng_state], np.int64)
    return (x.copy(), count.copy(), np.ones(n_rows, np.int64), score.astype(np.int64), np.ones(n_cols, np.uint8),
            np.zeros(n_cols, np.int64), np.zeros(n_rows, np.int64), np.full(n_rows, -1, np.int64),
            np.zeros(1, np.int64), members, member_pos, x.copy(), scalars)


def row_weighting_search(problem: CoverageProblem, start: np.ndarray | None, arrays: CoverArrays, *,
                         time_limit_s: float | None = None, target: int = 0, seed: int | None = 0,
                         max_steps: int = MAX_STEPS, stall_steps: int | None = None,
                         compile_ok: bool = True) -> RowWeightingResult:
    """The smallest cover the row-weighting search finds from ``start`` (see the module notes).

    Parameters
    ----------
    problem : CoverageProblem
        A cover problem (every row must be covered) whose free sites all cost the same.
    start : (n_sites,) bool or None
        The cover the search starts from (none, or not a cover: no search).
    target : int
        Stop once the cover has at most this many sites in all (e.g. a lower bound rounded up).
    stall_steps : int, optional
        Steps without a smaller cover before it stops; default :data:`STALL_STEPS_PER_ROW` per row to cover.

    Returns
    -------
    RowWeightingResult
        ``plan`` None when there is no start cover, the kernels are unavailable, or the cover breaks the budget
        or the site limit; otherwise the smallest cover seen (the start when nothing beat it).
    """
    began = time.perf_counter()
    kernels = _kernels(compile_ok, time_limit_s)
    free = ~problem.fixed_open & ~problem.fixed_closed
    none = RowWeightingResult(None, None, 0, 0.0)
    if kernels is None or start is None:
        return none
    sub = arrays.csr[arrays.counts(problem.fixed_open) == 0][:, free].tocsr()
    first = start[free].astype(np.uint8)
    count = np.asarray(sub @ first.astype(np.float64)).round().astype(np.int64)
    if sub.shape[0] == 0 or count.min() == 0:
        return none   # nothing to search, or the start is not a cover
    by_col = sub.tocsc()
    graph = (by_col.indptr.astype(np.int64), by_col.indices.astype(np.int64), sub.indptr.astype(np.int64),
             sub.indices.astype(np.int64))
    state = _start_state(sub, first, count, int(seed or 0))
    best, scalars = state[-2], state[-1]
    stall = stall_steps if stall_steps is not None else max(MIN_STALL_STEPS, STALL_STEPS_PER_ROW * sub.shape[0])
    goal = max(0, int(target) - int(problem.fixed_open.sum()))
    deadline = None if time_limit_s is None else began + time_limit_s
    chunk = CHUNK_STEPS if deadline is None else FIRST_CHUNK_STEPS
    while scalars[0] < max_steps and scalars[1] < stall and scalars[2] > goal:
        called, done = time.perf_counter(), int(scalars[0])
        if expired(deadline):
            break
        kernels.run_steps(*graph, *state, min(chunk, max_steps - done), stall, goal)
        if deadline is not None:   # the steps are the same however they are cut: only the clock sizes the calls
            now = time.perf_counter()
            per_step_s = (now - called) / max(1, int(scalars[0]) - done)
            chunk = int(min(CHUNK_STEPS, max(1.0, min(CHUNK_S, deadline - now) / max(per_step_s, 1e-9))))
    plan = problem.fixed_open.copy()
    plan[np.flatnonzero(free)[best.astype(bool)]] = True
    # checked from the rows, not the kernel's counts
    if arrays.counts(plan).min() == 0 or not _within_limits(problem, plan):
        return RowWeightingResult(None, None, int(scalars[0]), time.perf_counter() - began)
    return RowWeightingResult(plan, problem.value_of(plan), int(scalars[0]), time.perf_counter() - began)
