r"""Dominated sites: bounded-work detection of coverage-set inclusion.

Rule (the same for MCLP, LSCP and partial covering): site ``j`` is dominated by site ``k`` when

.. math::

    \operatorname{cover}(j) \subseteq \operatorname{cover}(k),\quad c_k \le c_j,\quad
    \text{both free (neither fixed open nor closed)},\quad \ell_k = \ell_j

with :math:`\ell` = ``counts_toward_limit``, and ties (equal sets and equal cost) broken by the smaller index
(``k < j``). Replacing ``j`` by ``k`` in any plan keeps the budget, the site count and every covered row, so
at least one optimal plan avoids ``j``; the tie-break makes the relation a strict partial order, so removing
every dominated site at once leaves an undominated dominator for each of them.

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.problem import CoverageProblem, ModelType
>>> a = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=bool))
>>> p = CoverageProblem(ModelType.LSCP, a, np.ones(3), np.array([2.0, 1.0, 1.0]), np.zeros(3, bool),
...                     np.zeros(3, bool), np.ones(3, bool))
>>> dominated_sites(p).tolist()
[True, False, False]
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from ..interrupt import expired
from ..problem import CoverageProblem

__all__ = ["dominated_sites", "DEADLINE_CHUNK_PAIRS"]

#: candidate pairs per batch when a deadline is given: a batch of this size takes ~0.06 s on a dense random
#: 20,000 x 200 cover, so a search overruns its deadline by about that much (2,000,000 pairs: ~0.7 s)
DEADLINE_CHUNK_PAIRS = 200_000


def expand_segments(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for each (s, l), vectorised."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offs = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts.astype(np.int64), lengths) + (np.arange(total, dtype=np.int64) - offs)



def contained_pairs(sub: np.ndarray, sup: np.ndarray, ptr: np.ndarray, idx: np.ndarray, keys: np.ndarray,
                    query: Callable[[np.ndarray, np.ndarray], np.ndarray], work: int, max_work: int
                    ) -> tuple[np.ndarray, np.ndarray, int] | None:
    """The candidate pairs ``(sub, sup)`` whose set ``sub`` lies inside set ``sup``, and the work done so far.

    Set ``a`` holds ``idx[ptr[a]:ptr[a + 1]]``; an item ``t`` is in set ``b`` when ``query(t, b)`` is in the sorted
    ``keys``. Each pair is tested on up to 4 evenly sampled items first (most pairs fail there), then on all of
    them. None when the look-ups would pass ``max_work`` (the caller stops: missing a containment is safe).
    """
    deg = np.diff(ptr)
    for stage in (1, 2):
        if sub.size == 0:
            break
        d = deg[sub]
        if stage == 1:
            s = np.minimum(d, 4)
            local = expand_segments(np.zeros(sub.size, np.int64), s)
            pos = np.repeat(ptr[sub], s) + (local * np.repeat(d, s)) // np.repeat(np.maximum(s, 1), s)
        else:
            s = d
            pos = expand_segments(ptr[sub], s)
        work += int(pos.size)
        if work > max_work:
            return None
        q = query(idx[pos].astype(np.int64), np.repeat(sup, s))
        hit = np.searchsorted(keys, q)
        hit = keys[np.minimum(hit, keys.size - 1)] == q
        alive = np.ones(sub.size, bool)
        alive[np.repeat(np.arange(sub.size), s)[~hit]] = False
        sub, sup = sub[alive], sup[alive]
    return sub, sup, work


def dominated_sites(problem: CoverageProblem, *, max_row_degree: int = 2000, max_work: int = 200_000_000,
                    chunk_pairs: int = 2_000_000, deadline: float | None = None) -> np.ndarray:
    r"""(n_sites,) bool mask of sites dominated by another site (see the module rule).

    Parameters
    ----------
    problem : CoverageProblem
    max_row_degree : only rows with at most this many sites are used to generate candidate dominators
    max_work : cap on the membership look-ups (the detection stops, safely, when it is reached)
    chunk_pairs : candidate pairs handled per vectorised batch (bounds memory); at most
        :data:`DEADLINE_CHUNK_PAIRS` when a deadline is given
    deadline : :func:`time.perf_counter` value after which the search stops (checked before every batch, so it
        overruns by at most one batch); None: no deadline, only ``max_work``

    Notes
    -----
    A dominator ``k`` of ``j`` must cover ``j``'s *rarest* row ``r(j)`` (the row of ``j`` with the fewest
    covering sites), so candidate pairs are ``{(j, k): k \in \operatorname{row}(r(j))}``: ``sum_j deg(r(j))``
    pairs instead of the ``n^2`` of ``A^T A``. Pairs are filtered by cost, limit flag and column degree,
    then checked by looking up ``(i, k)`` for 4 sampled rows ``i`` of ``j`` and finally all rows of ``j``, in a
    sorted key array (``searchsorted``). Work is ``O(sum over surviving pairs of deg(j) log nnz)`` capped
    by ``max_work``; missing a domination is always safe.
    """
    n = problem.n_sites
    out = np.zeros(n, bool)
    cov: sp.csr_matrix = problem.coverage
    if n < 2 or cov.nnz == 0 or expired(deadline):
        return out
    if deadline is not None:
        chunk_pairs = min(chunk_pairs, DEADLINE_CHUNK_PAIRS)
    csc = cov.tocsc()
    csc.sort_indices()
    col_deg = np.diff(csc.indptr)
    row_deg = np.diff(cov.indptr)
    free = ~problem.fixed_open & ~problem.fixed_closed
    cost = problem.site_cost
    limit = problem.counts_toward_limit
    # rarest row of each column: sort entries of each column by row degree (column segments stay in place)
    col_of_entry = np.repeat(np.arange(n), col_deg)
    order = np.lexsort((row_deg[csc.indices], col_of_entry))
    cols = np.flatnonzero(free & (col_deg > 0))
    rarest = csc.indices[order[csc.indptr[cols]]]
    ok = row_deg[rarest] <= max_row_degree
    cols, rarest = cols[ok], rarest[ok]
    if cols.size == 0:
        return out
    keys = (np.repeat(np.arange(cov.shape[0], dtype=np.int64), row_deg) * n + cov.indices)  # sorted (CSR)
    work = 0
    n_cand = row_deg[rarest].astype(np.int64)
    cum = np.cumsum(n_cand)
    edges = np.searchsorted(cum, np.arange(1, int(cum[-1]) // chunk_pairs + 2) * chunk_pairs, side="right")
    edges = np.unique(np.concatenate([[0], np.minimum(edges, cols.size), [cols.size]]))
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        if expired(deadline):
            break  # every domination found so far is valid; missing the others is safe
        cj, rj = cols[a:b], rarest[a:b]
        lens = row_deg[rj]
        j = np.repeat(cj, lens)
        k = cov.indices[expand_segments(cov.indptr[rj], lens)]
        keep = (k != j) & free[k] & (limit[k] == limit[j]) & (cost[k] <= cost[j]) & (col_deg[k] >= col_deg[j])
        keep &= (col_deg[k] > col_deg[j]) | (cost[k] < cost[j]) | (k < j)
        j, k = j[keep], k[keep]
        # every row of j must be a row of k: a look-up of (row, k) in the CSR keys
        found = contained_pairs(j, k.astype(np.int64), csc.indptr, csc.indices, keys,
                                lambda rows, ks: rows * n + ks, work, max_work)
        if found is None:
            return out
        j, k, work = found
        out[j] = True
    return out
