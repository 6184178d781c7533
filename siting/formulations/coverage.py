"""MCLP, LSCP and partial covering as :class:`~siting.program.LinearProgram` s.

Notation: ``i`` demand row, ``j`` site column, ``a_ij`` = 1 if site ``j`` covers demand ``i``,
``w_i`` demand weight, ``c_j`` site cost, ``x_j`` site open (binary), ``y_i`` demand covered
(continuous in [0, 1]: at an optimum it equals ``min(1, sum_j a_ij x_j)`` whenever that helps).

MCLP with budget (Church & ReVelle 1974, plus a knapsack row)::

    max  sum_i w_i y_i + W0
    s.t. y_i - sum_j a_ij x_j <= 0          (i coverable)
         y_i = 0                             (i with no site at all)
         sum_j c_j x_j <= B                  (if a budget is set)
         sum_j e_j x_j <= p                  (if max_sites is set; e_j = counts_toward_limit)
         x_j = 1 (fixed_open), x_j = 0 (fixed_closed), x binary, 0 <= y <= 1

LSCP (Toregas et al. 1971) over coverable rows ``I_c`` (rows with at least one not-closed site)::

    min  sum_j c_j x_j
    s.t. sum_j a_ij x_j >= 1   (i in I_c),  budget / max_sites rows as above

Partial covering::

    min  sum_j c_j x_j
    s.t. y_i - sum_j a_ij x_j <= 0,   sum_i w_i y_i >= t * W - W0,  budget / max_sites rows

The matrix is assembled in bulk with ``scipy.sparse`` stacking; no loop touches ``a_ij``. This module only
builds programs and reads plans back; :func:`siting.strategy.solve_exact` hands them to a backend.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import InfeasibleError
from ..problem import CoverageProblem, ModelType
from ..program import LinearProgram, Sense

__all__ = ["build_program", "decode_sites", "warm_vector", "coverable_rows", "prune_redundant"]


def coverable_rows(problem: CoverageProblem) -> np.ndarray:
    """(n_demand,) bool: rows covered by at least one site that is not closed."""
    usable = (~problem.fixed_closed).astype(np.int64)
    return (problem.coverage @ usable) > 0


def _limit_rows(problem: CoverageProblem, n_extra_cols: int) -> tuple[list[sp.csr_matrix], list[float], list[float]]:
    """Budget and max-sites rows over the site block, padded with zeros for the other columns."""
    rows: list[sp.csr_matrix] = []
    lo: list[float] = []
    up: list[float] = []
    pad = sp.csr_matrix((1, n_extra_cols))
    if problem.budget is not None:
        rows.append(sp.hstack([sp.csr_matrix(problem.site_cost.reshape(1, -1)), pad], format="csr"))
        lo.append(-np.inf)
        up.append(float(problem.budget))
    if problem.max_sites is not None:
        counts = problem.counts_toward_limit.astype(float).reshape(1, -1)
        rows.append(sp.hstack([sp.csr_matrix(counts), pad], format="csr"))
        lo.append(-np.inf)
        up.append(float(problem.max_sites))
    return rows, lo, up


def _site_bounds(problem: CoverageProblem) -> tuple[np.ndarray, np.ndarray]:
    lower = problem.fixed_open.astype(float)
    upper = np.where(problem.fixed_closed, 0.0, 1.0)
    return lower, upper


def build_program(problem: CoverageProblem) -> LinearProgram:
    """Build the MIP of ``problem`` (MCLP, LSCP or partial covering) in matrix form.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from siting.problem import CoverageProblem, ModelType
    >>> a = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 1]], dtype=bool))
    >>> p = CoverageProblem(ModelType.MCLP, a, np.array([5., 3., 4.]), np.array([1., 1.]),
    ...                     np.zeros(2, bool), np.zeros(2, bool), np.ones(2, bool), budget=1.0,
    ...                     total_weight=12.0)
    >>> prog = build_program(p)
    >>> prog.n_cols, prog.n_rows
    (5, 4)
    """
    n_d, n_s = problem.n_demand, problem.n_sites
    a = problem.coverage.astype(np.float64).tocsr()
    site_lo, site_up = _site_bounds(problem)

    if problem.model is ModelType.LSCP:
        keep = coverable_rows(problem)
        cover = a[keep]
        limit_rows, limit_lo, limit_up = _limit_rows(problem, 0)
        matrix = sp.vstack([cover, *limit_rows], format="csr") if limit_rows else cover.tocsr()
        row_lo = np.concatenate([np.ones(cover.shape[0]), limit_lo])
        row_up = np.concatenate([np.full(cover.shape[0], np.inf), limit_up])
        return LinearProgram(
            sense=Sense.MINIMIZE,
            objective=problem.site_cost.astype(float),
            constraints=matrix,
            row_lower=row_lo,
            row_upper=row_up,
            col_lower=site_lo,
            col_upper=site_up,
            integrality=np.ones(n_s, dtype=bool),
            name="lscp",
            blocks={"site": (0, n_s)},
        )

    # MCLP and partial share the linking rows y_i - sum_j a_ij x_j <= 0.
    link = sp.hstack([-a, sp.identity(n_d, format="csr")], format="csr")
    has_site = np.diff(a.indptr) > 0
    demand_up = has_site.astype(float)
    limit_rows, limit_lo, limit_up = _limit_rows(problem, n_d)
    blocks = [link, *limit_rows]
    row_lo = [np.full(n_d, -np.inf), np.asarray(limit_lo, dtype=float)]
    row_up = [np.zeros(n_d), np.asarray(limit_up, dtype=float)]
    integrality = np.concatenate([np.ones(n_s, dtype=bool), np.zeros(n_d, dtype=bool)])
    col_lo = np.concatenate([site_lo, np.zeros(n_d)])
    col_up = np.concatenate([site_up, demand_up])

    if problem.model is ModelType.MCLP:
        return LinearProgram(
            sense=Sense.MAXIMIZE,
            objective=np.concatenate([np.zeros(n_s), problem.demand_weight.astype(float)]),
            constraints=sp.vstack(blocks, format="csr"),
            row_lower=np.concatenate(row_lo),
            row_upper=np.concatenate(row_up),
            col_lower=col_lo,
            col_upper=col_up,
            integrality=integrality,
            objective_offset=float(problem.base_covered_weight),
            name="mclp",
            blocks={"site": (0, n_s), "demand": (n_s, n_s + n_d)},
        )

    if problem.model is ModelType.PARTIAL:
        if problem.target_coverage is None:
            raise InfeasibleError("partial covering needs target_coverage")
        need = problem.target_coverage * problem.total_weight - problem.base_covered_weight
        target_row = sp.hstack(
            [sp.csr_matrix((1, n_s)), sp.csr_matrix(problem.demand_weight.astype(float).reshape(1, -1))],
            format="csr",
        )
        return LinearProgram(
            sense=Sense.MINIMIZE,
            objective=np.concatenate([problem.site_cost.astype(float), np.zeros(n_d)]),
            constraints=sp.vstack([*blocks, target_row], format="csr"),
            row_lower=np.concatenate([*row_lo, [need]]),
            row_upper=np.concatenate([*row_up, [np.inf]]),
            col_lower=col_lo,
            col_upper=col_up,
            integrality=integrality,
            name="partial",
            blocks={"site": (0, n_s), "demand": (n_s, n_s + n_d)},
        )
    raise ValueError(f"not a coverage model: {problem.model}")


def decode_sites(program: LinearProgram, x: np.ndarray) -> np.ndarray:
    """Open-site mask from a primal vector (rounded: solvers return 0.9999999 for 1)."""
    return program.block(x, "site") > 0.5


def prune_redundant(problem: CoverageProblem, open_sites: np.ndarray) -> np.ndarray:
    """Close open, non-fixed sites whose removal loses no covered weight (costliest first).

    MIP optima are often not unique: a solver may keep a site that covers nothing on its own.
    Removing it keeps the objective and every constraint (all constraints are <= in x except
    coverage, which is unchanged) and lowers the cost the planner pays.
    """
    if problem.model is ModelType.LSCP:
        weight = np.ones(problem.n_demand)
        weight[~coverable_rows(problem)] = 0.0
    else:
        weight = problem.demand_weight.astype(float)
    cover_t = problem.coverage.T.tocsr().astype(np.float64)
    mask = open_sites.copy()
    while True:
        multiplicity = problem.coverage @ mask.astype(np.int64)
        unique_weight = cover_t @ (weight * (multiplicity == 1))
        removable = mask & ~problem.fixed_open & (unique_weight <= 0.0)
        if not removable.any():
            return mask
        candidates = np.flatnonzero(removable)
        mask[candidates[np.argmax(problem.site_cost[candidates])]] = False


def warm_vector(problem: CoverageProblem, open_sites: np.ndarray) -> np.ndarray:
    """The full column vector of :func:`build_program` for a plan (``y_i`` = covered, for MCLP / partial)."""
    mask = np.asarray(open_sites, dtype=bool)
    if problem.model is ModelType.LSCP:
        return mask.astype(float)
    return np.concatenate([mask.astype(float), problem.covered_mask(mask).astype(float)])
