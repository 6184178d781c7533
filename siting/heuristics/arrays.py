"""Flat index arrays shared by the heuristics (built once per problem, int32 indices).

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.problem import CoverageProblem, ModelType
>>> a = sp.csr_matrix(np.array([[1, 0], [1, 1]], dtype=bool))
>>> p = CoverageProblem(ModelType.MCLP, a, np.array([1.0, 2.0]), np.ones(2), np.zeros(2, bool),
...                     np.zeros(2, bool), np.ones(2, bool), max_sites=1)
>>> arr = CoverArrays.of(p)
>>> arr.site_rows(1).tolist(), arr.site_weight().tolist()
([1], [3.0, 2.0])
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..problem import CoverageProblem, ModelType

__all__ = ["CoverArrays", "expand_segments"]


def expand_segments(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for every (s, l) pair, vectorised."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offs = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(np.asarray(starts, dtype=np.int64), lengths) + (np.arange(total, dtype=np.int64) - offs)


@dataclass(frozen=True)
class CoverArrays:
    """CSR (rows -> sites) and CSC (sites -> rows) index arrays of ``problem.coverage`` plus site data."""

    problem: CoverageProblem
    row_ptr: np.ndarray
    row_sites: np.ndarray
    col_ptr: np.ndarray
    col_rows: np.ndarray
    csr: sp.csr_matrix   # float32 data, for matvecs A x
    csc: sp.csc_matrix   # float32 data (column slices)
    tcsr: sp.csr_matrix  # A^T with float64 data, for exact matvecs A^T u

    @classmethod
    def of(cls, problem: CoverageProblem) -> CoverArrays:
        """Build the index arrays of ``problem.coverage`` (one CSR copy, one CSC; ``O(nnz)``)."""
        cov = problem.coverage
        m, n = cov.shape
        csr = sp.csr_matrix((np.ones(cov.nnz, np.float32), cov.indices.astype(np.int32),
                             cov.indptr.astype(np.int64 if cov.nnz > 2**31 - 1 else np.int32)), shape=(m, n))
        csc = csr.tocsc()
        csc.sort_indices()
        tcsr = sp.csr_matrix((np.ones(csc.nnz, np.float64), csc.indices, csc.indptr), shape=(n, m))
        return cls(problem, csr.indptr, csr.indices, csc.indptr, csc.indices, csr, csc, tcsr)

    @property
    def n_demand(self) -> int:
        """Number of demand rows of the problem."""
        return self.problem.n_demand

    @property
    def n_sites(self) -> int:
        """Number of sites of the problem."""
        return self.problem.n_sites

    def site_rows(self, j: int | np.integer) -> np.ndarray:
        """Rows site ``j`` covers, ascending (a view into ``col_rows``)."""
        return self.col_rows[self.col_ptr[j]:self.col_ptr[j + 1]]

    def rows_sites(self, rows: np.ndarray) -> np.ndarray:
        """Sites of every entry of the given rows (repeated per row entry)."""
        rows = np.asarray(rows, dtype=np.int64)
        return self.row_sites[expand_segments(self.row_ptr[rows], self.row_ptr[rows + 1] - self.row_ptr[rows])]

    def row_degree(self, rows: np.ndarray) -> np.ndarray:
        """How many sites cover each of the given rows (int64)."""
        rows = np.asarray(rows, dtype=np.int64)
        return (self.row_ptr[rows + 1] - self.row_ptr[rows]).astype(np.int64)

    def site_weight(self, row_weight: np.ndarray | None = None) -> np.ndarray:
        """``A^T w``: the weight each site covers (float64)."""
        w = self.problem.demand_weight if row_weight is None else row_weight
        return np.asarray(self.tcsr @ np.asarray(w, dtype=np.float64), dtype=np.float64)

    def counts(self, open_sites: np.ndarray) -> np.ndarray:
        """``A x``: how many open sites cover each row (int32)."""
        return np.asarray(self.csr @ open_sites.astype(np.float32), dtype=np.float32).astype(np.int32)

    def objective_weight(self) -> np.ndarray:
        """Row weights used by the covering heuristics: 1 per row for LSCP, ``w`` otherwise."""
        if self.problem.model == ModelType.LSCP:
            return np.ones(self.n_demand)
        return np.asarray(self.problem.demand_weight, dtype=np.float64)
