r"""Set covering (LSCP): column-fixing dives on the Lagrangian, the primal phase of Caprara, Fischetti & Toth.

A dive starts from the multipliers of :func:`siting.heuristics.setcover.cover_dual` and repeats, until every
row is covered: (1) the *residual* problem (rows no fixed site covers, usable sites not yet fixed) gets a short
subgradient run warm-started from the parent's multipliers, which also builds Lagrangian greedy covers of it;
each one, completed with the fixed sites and cleared of redundant sites, is a cover of the whole problem;
(2) when the fixed cost plus the residual bound already reaches the incumbent the dive stops (nothing better
lies below it); (3) otherwise the sites of the residual's best cover with the least reduced cost are fixed
open until a share ``pi`` of the residual rows is covered (at least one site). Later dives perturb the
multipliers and change ``pi`` so they explore other covers (CFT 1999, section 3; Beasley 1990 for the step).

This is a heuristic: it only ever returns covers (checked against the budget and the site limit). The bound of
the whole problem stays the one of the full dual; the residual bounds are used only to stop a dive early.

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.problem import CoverageProblem, ModelType
>>> from siting.heuristics.setcover import cover_dual
>>> a = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [1, 0, 0, 1]], dtype=bool))
>>> p = CoverageProblem(ModelType.LSCP, a, np.ones(4), np.ones(4), np.zeros(4, bool), np.zeros(4, bool),
...                     np.ones(4, bool))
>>> out = column_fixing(p, cover_dual(p, iterations=50), max_dives=2)
>>> out.value, int(out.plan.sum())
(2.0, 2)
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..interrupt import expired
from ..problem import CoverageProblem, ModelType
from .arrays import CoverArrays
from .setcover import CoverDual, _within_limits, cover_dual, remove_redundant

__all__ = ["DiveResult", "column_fixing"]

#: share of the residual rows the sites fixed in one step of a dive cover (CFT use 0.3, raised on no progress)
FIX_SHARE = 0.3
#: subgradient steps on each residual problem (its multipliers start near the optimum: a short run suffices)
RESIDUAL_STEPS = 120
#: first step factor on a residual problem (warm multipliers: a full step of 2 would throw them away)
RESIDUAL_STEP = 0.1


@dataclass(frozen=True)
class DiveResult:
    """plan, value : best cover found (``incumbent`` when no dive beat it); dives, seconds : work done."""

    plan: np.ndarray | None
    value: float | None
    dives: int
    seconds: float


def _residual(problem: CoverageProblem, arrays: CoverArrays, fixed: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, CoverageProblem | None]:
    """Rows no fixed site covers, the usable unfixed sites covering one of them, and that sub-problem."""
    rows = np.flatnonzero(arrays.counts(fixed) == 0)
    usable = ~problem.fixed_closed & ~fixed
    if rows.size == 0:
        return rows, np.zeros(0, np.int64), None
    sub_rows = problem.coverage[rows]
    touched = np.zeros(problem.n_sites, bool)
    touched[sub_rows.indices] = True
    cols = np.flatnonzero(touched & usable)
    sub = sub_rows[:, cols].tocsr()
    n = cols.size
    residual = CoverageProblem(ModelType.LSCP, sub, np.ones(rows.size), problem.site_cost[cols],
                               np.zeros(n, bool), np.zeros(n, bool), problem.counts_toward_limit[cols],
                               total_weight=float(rows.size))
    return rows, cols, residual


def _dive(problem: CoverageProblem, arrays: CoverArrays, u: np.ndarray, share: float, upper: float | None,
          deadline: float | None) -> tuple[np.ndarray | None, float | None]:
    """One column-fixing dive from multipliers ``u``; the best whole cover it built (None: none found)."""
    cost = problem.site_cost
    fixed = problem.fixed_open & ~problem.fixed_closed
    best_plan: np.ndarray | None = None
    best_value = upper
    while True:
        rows, cols, sub = _residual(problem, arrays, fixed)
        if sub is None:   # the fixed sites cover everything
            plan = remove_redundant(problem, fixed, arrays)
            value = problem.cost_of(plan)
            if _within_limits(problem, plan) and (best_value is None or value < best_value - 1e-9):
                best_plan, best_value = plan, value
            break
        if cols.size == 0 or (np.diff(sub.coverage.indptr) == 0).any():
            break   # a row no unfixed site covers: this branch has no cover
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            break
        dual: CoverDual = cover_dual(sub, iterations=RESIDUAL_STEPS, time_limit_s=left, multipliers=u[rows],
                                     step=RESIDUAL_STEP, heuristic_every=RESIDUAL_STEPS // 2)
        if dual.plan is not None:
            whole = fixed.copy()
            whole[cols[dual.plan]] = True
            plan = remove_redundant(problem, whole, arrays)
            value = problem.cost_of(plan)
            if _within_limits(problem, plan) and (best_value is None or value < best_value - 1e-9):
                best_plan, best_value = plan, value
        fixed_cost = float(cost[fixed].sum())
        if best_value is not None and fixed_cost + dual.bound >= best_value - 1e-9 * max(1.0, abs(best_value)):
            break   # every cover extending the fixed sites costs at least the incumbent
        if dual.plan is None:
            break
        chosen = np.flatnonzero(dual.plan)
        chosen = chosen[np.argsort(dual.reduced_cost[chosen], kind="stable")]
        # fix sites, least reduced cost first, until `share` of the residual rows is covered (at least one site)
        degree = np.diff(sub.coverage.tocsc().indptr)[chosen]
        take = max(1, int(np.searchsorted(np.cumsum(degree), share * rows.size) + 1))
        fixed = fixed.copy()
        fixed[cols[chosen[:take]]] = True
    return best_plan, best_value


def column_fixing(problem: CoverageProblem, dual: CoverDual, *, arrays: CoverArrays | None = None,
                  incumbent: np.ndarray | None = None, time_limit_s: float | None = None, max_dives: int = 3,
                  patience: int = 2, seed: int = 0) -> DiveResult:
    r"""Column-fixing dives (module text) from the multipliers of ``dual``; the best cover found.

    Parameters
    ----------
    problem : CoverageProblem with ``model == "lscp"``
    dual : the full problem's :class:`~siting.heuristics.setcover.CoverDual` (its multipliers start each dive)
    arrays : prebuilt :class:`CoverArrays` of ``problem``
    incumbent : best known cover (default ``dual.plan``); it is returned when no dive beats it
    time_limit_s : wall-clock limit for all dives (a dive stops where it is when it runs out)
    max_dives : at most this many dives
    patience : stop after this many dives in a row that found no better cover
    seed : the perturbation of the multipliers for dives after the first

    Notes
    -----
    Dive ``k`` fixes a share :math:`\pi_k = 0.3 (1 + 0.5 k) \bmod 0.9` per step and starts from
    :math:`u \cdot (1 + \epsilon)`, :math:`\epsilon \sim U(-0.1 k, 0.1 k)` clipped at 0.3. A step costs
    one residual extraction ``O(nnz)`` plus :data:`RESIDUAL_STEPS` subgradient steps on the residual problem;
    each step covers at least one more row, and in practice a share :math:`\pi` of them.
    """
    if problem.model != ModelType.LSCP:
        raise ValueError("column_fixing solves set covering (LSCP) only")
    t0 = time.perf_counter()
    arr = arrays if arrays is not None else CoverArrays.of(problem)
    deadline = None if time_limit_s is None else t0 + time_limit_s
    plan = dual.plan if incumbent is None else np.asarray(incumbent, dtype=bool)
    value = None if plan is None else problem.cost_of(plan)
    rng = np.random.default_rng(seed)
    dives = stale = 0
    for k in range(max(0, max_dives)):
        if stale >= patience:
            break
        if expired(deadline):
            break
        if value is not None and value - dual.bound <= 1e-9 * max(1.0, abs(value)):
            break   # the incumbent meets the bound: proven
        noise = min(0.1 * k, 0.3)
        u = dual.multipliers * (1.0 + rng.uniform(-noise, noise, dual.multipliers.size))
        share = FIX_SHARE * (1 + 0.5 * k)
        share = share if share <= 0.9 else share - 0.8
        found, found_value = _dive(problem, arr, u, share, value, deadline)
        dives += 1
        if found is not None and found_value is not None and (value is None or found_value < value - 1e-9):
            plan, value, stale = found, found_value, 0
        else:
            stale += 1
    return DiveResult(plan, value, dives, time.perf_counter() - t0)
