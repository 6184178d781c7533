"""Row and column reductions for coverage problems; each is one small function ``problem -> (problem, inverse)``.

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.problem import CoverageProblem, ModelType
>>> a = sp.csr_matrix(np.array([[1, 1], [1, 1], [0, 1]], dtype=bool))
>>> p = CoverageProblem(ModelType.MCLP, a, np.array([1.0, 2.0, 4.0]), np.ones(2), np.zeros(2, bool),
...                     np.zeros(2, bool), np.ones(2, bool), max_sites=1, total_weight=7.0)
>>> q, inv = merge_identical_rows(p)
>>> q.n_demand, q.demand_weight.tolist()
(2, [3.0, 4.0])
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..problem import CoverageProblem, ModelType
from .base import Inverse, Reduction, RowMap, take_rows, take_sites
from .covering import covering_reductions
from .dominance import dominated_sites

__all__ = [
    "drop_closed_sites",
    "drop_uncoverable_demand",
    "absorb_fixed_open",
    "drop_zero_weight_demand",
    "fix_forced_sites",
    "merge_identical_rows",
    "drop_useless_sites",
    "drop_dominated_sites",
    "default_reductions",
]


def _row_map(keep: np.ndarray) -> RowMap:
    group = np.full(keep.shape[0], -1, dtype=np.int64)
    group[keep] = np.arange(int(keep.sum()))
    return RowMap(int(keep.shape[0]), group)


def _row_degree(problem: CoverageProblem) -> np.ndarray:
    return np.diff(problem.coverage.indptr)


def drop_closed_sites(problem: CoverageProblem) -> tuple[CoverageProblem, Inverse]:
    """Remove excluded sites (``fixed_closed``): they are 0 in every plan."""
    return take_sites(problem, ~problem.fixed_closed)


def drop_uncoverable_demand(problem: CoverageProblem) -> tuple[CoverageProblem, Inverse]:
    """Remove demand rows no site covers.

    Their weight stays in ``total_weight`` (MCLP/partial: it can never be covered); for LSCP these are
    exactly the rows the model drops and reports.
    """
    keep = _row_degree(problem) > 0
    return take_rows(problem, keep), _row_map(keep)


def absorb_fixed_open(problem: CoverageProblem) -> tuple[CoverageProblem, Inverse]:
    """Move rows covered by a fixed-open site into ``base_covered_weight``, then remove those sites.

    The removed sites' cost leaves the budget and their limit count leaves ``max_sites``.
    Raises InfeasibleError when the fixed sites alone break the budget or the site limit.
    """
    if not problem.fixed_open.any():
        return problem, _row_map(np.ones(problem.n_demand, bool))
    covered = problem.covered_mask(problem.fixed_open)
    base = problem.base_covered_weight
    if problem.model != ModelType.LSCP:
        base += float(problem.demand_weight[covered].sum())
    kept_rows = take_rows(problem, ~covered).with_(base_covered_weight=base)
    return take_sites(kept_rows, ~problem.fixed_open, opened=problem.fixed_open.copy())


def drop_zero_weight_demand(problem: CoverageProblem) -> tuple[CoverageProblem, Inverse]:
    """MCLP/partial: rows of weight 0 never change the objective or the coverage target."""
    if problem.model == ModelType.LSCP:
        return problem, _row_map(np.ones(problem.n_demand, bool))
    keep = problem.demand_weight > 0
    return take_rows(problem, keep), _row_map(keep)


def fix_forced_sites(problem: CoverageProblem) -> tuple[CoverageProblem, Inverse]:
    """LSCP only: a row covered by exactly one site forces that site open (marks it ``fixed_open``).

    :func:`absorb_fixed_open`, next in the chain, then removes the site and the rows it covers.
    """
    if problem.model != ModelType.LSCP or problem.n_demand == 0:
        return problem, _row_map(np.ones(problem.n_demand, bool))
    cov = problem.coverage
    single = np.flatnonzero(np.diff(cov.indptr) == 1)
    forced = np.zeros(problem.n_sites, bool)
    forced[cov.indices[cov.indptr[single]]] = True
    forced &= ~problem.fixed_open
    if not forced.any():
        return problem, _row_map(np.ones(problem.n_demand, bool))
    return problem.with_(fixed_open=problem.fixed_open | forced), _row_map(np.ones(problem.n_demand, bool))


def _row_hashes(cov: sp.csr_matrix, seed: int = 12345) -> tuple[np.ndarray, np.ndarray]:
    """Two 64-bit set hashes per row: sum and xor of random per-column keys (order independent)."""
    rng = np.random.default_rng(seed)
    k1 = rng.integers(1, np.iinfo(np.int64).max, size=cov.shape[1], dtype=np.int64).astype(np.uint64)
    k2 = rng.integers(1, np.iinfo(np.int64).max, size=cov.shape[1], dtype=np.int64).astype(np.uint64)
    deg = np.diff(cov.indptr)
    h1 = np.zeros(cov.shape[0], np.uint64)
    h2 = np.zeros(cov.shape[0], np.uint64)
    nz = np.flatnonzero(deg > 0)
    if nz.size:
        starts = cov.indptr[nz]
        v1 = k1[cov.indices]
        v2 = k2[cov.indices] * np.uint64(0x9E3779B97F4A7C15)
        h1[nz] = np.add.reduceat(v1, starts)
        h2[nz] = np.bitwise_xor.reduceat(v2, starts)
    return h1, h2


def merge_identical_rows(problem: CoverageProblem) -> tuple[CoverageProblem, Inverse]:
    """Merge demand rows with identical coverage sets into one row whose weight is the sum.

    Notes
    -----
    Rows are grouped by (degree, two 64-bit set hashes) with one ``lexsort``; every grouped row is then
    compared entry by entry with its group's representative, so a hash collision can only leave two
    equal rows unmerged, never merge different ones. ``O(nnz + m log m)``.
    """
    cov = problem.coverage
    m = cov.shape[0]
    if m <= 1:
        return problem, _row_map(np.ones(m, bool))
    deg = np.diff(cov.indptr)
    h1, h2 = _row_hashes(cov)
    order = np.lexsort((h2, h1, deg))
    key_change = np.ones(m, bool)
    key_change[1:] = (deg[order][1:] != deg[order][:-1]) | (h1[order][1:] != h1[order][:-1]) | (
        h2[order][1:] != h2[order][:-1])
    group_start = np.maximum.accumulate(np.where(key_change, np.arange(m), 0))
    rep = np.empty(m, np.int64)
    rep[order] = order[group_start]           # representative row of each row
    # verify: every row in a group of size > 1 equals its representative
    cand = np.flatnonzero(rep != np.arange(m))
    if cand.size:
        d = deg[cand]
        total = int(d.sum())
        offs = np.repeat(np.cumsum(d) - d, d)
        local = np.arange(total) - offs
        pos_row = np.repeat(cov.indptr[cand], d) + local
        pos_rep = np.repeat(cov.indptr[rep[cand]], d) + local
        bad = cov.indices[pos_row] != cov.indices[pos_rep]
        if bad.any():
            bad_rows = np.unique(np.repeat(cand, d)[bad])
            rep[bad_rows] = bad_rows
    keep = rep == np.arange(m)
    new_index = np.cumsum(keep) - 1
    group = new_index[rep]
    weight = np.bincount(group, weights=problem.demand_weight, minlength=int(keep.sum()))
    reduced = take_rows(problem, keep, weight=weight)
    return reduced, RowMap(m, group)


def drop_useless_sites(problem: CoverageProblem) -> tuple[CoverageProblem, Inverse]:
    """Remove free sites that cover no row, and (MCLP/partial) free sites that cost more than the budget.

    A site covering nothing never improves coverage and costs ``>= 0``; an over-budget site can never be
    opened. For LSCP over-budget sites are kept (rows they alone cover make the model infeasible, which the
    exact solver must report rather than presolve silently dropping rows).
    """
    free = ~problem.fixed_open & ~problem.fixed_closed
    col_deg = np.bincount(problem.coverage.indices, minlength=problem.n_sites)
    useless = free & (col_deg == 0) & (problem.site_cost >= 0)
    if problem.model != ModelType.LSCP and problem.budget is not None:
        useless |= free & (problem.site_cost > problem.budget * (1 + 1e-12) + 1e-12)
    if problem.max_sites is not None and problem.max_sites == 0:
        useless |= free & problem.counts_toward_limit & (problem.model != ModelType.LSCP)
    return take_sites(problem, ~useless)


def drop_dominated_sites(problem: CoverageProblem, *, deadline: float | None = None
                         ) -> tuple[CoverageProblem, Inverse]:
    """Remove sites whose coverage set is contained in a cheaper-or-equal site's (see :mod:`.dominance`).

    ``deadline`` (:func:`time.perf_counter` seconds, None: none) stops the search early, which is safe.
    """
    dominated = dominated_sites(problem, deadline=deadline)
    return take_sites(problem, ~dominated)


def default_reductions(model: ModelType) -> list[Reduction]:
    """The default chain for ``model`` (order matters: closed sites first, dominance last).

    LSCP adds the set-covering rules of :mod:`.covering` (dominated rows, sites costlier than their rows'
    other covers); the chain then runs to a fixed point, as each rule can enable the others.
    """
    chain: list[Reduction] = [drop_closed_sites, drop_uncoverable_demand]
    if model == ModelType.LSCP:
        chain += [fix_forced_sites]
    chain += [absorb_fixed_open, drop_zero_weight_demand, merge_identical_rows, drop_useless_sites]
    if model == ModelType.LSCP:
        cost_rule, row_rule = covering_reductions()
        return [*chain, cost_rule, drop_dominated_sites, row_rule]
    return [*chain, drop_dominated_sites]
