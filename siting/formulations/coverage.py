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

Second stage (:func:`cheapest_program`): the same rows plus one row holding the first objective at a value
``v`` (MCLP: ``sum_i w_i y_i + W0 >= v``; LSCP / partial: ``sum_j c_j x_j <= v``), and a new objective:
MCLP minimises cost then the number of new sites (:func:`siting.formulations.lexicographic.cost_then_count`);
LSCP minimises the number of new sites; partial the number of new sites, then (a term below 1) maximises the
covered weight.

The matrix is assembled in bulk with ``scipy.sparse`` stacking; no loop touches ``a_ij``. This module only
builds programs and reads plans back; :func:`siting.strategy.solve_exact` hands them to a backend.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import InfeasibleError
from ..problem import CoverageProblem, ModelType
from ..program import LinearProgram, Sense
from .lexicographic import cost_then_count, keep_best

__all__ = ["build_program", "decode_sites", "warm_vector", "coverable_rows", "prune_redundant", "cheapest_program",
           "new_site_count"]


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
    lo_parts = [np.full(n_d, -np.inf), np.asarray(limit_lo, dtype=float)]
    up_parts = [np.zeros(n_d), np.asarray(limit_up, dtype=float)]
    integrality = np.concatenate([np.ones(n_s, dtype=bool), np.zeros(n_d, dtype=bool)])
    col_lo = np.concatenate([site_lo, np.zeros(n_d)])
    col_up = np.concatenate([site_up, demand_up])

    if problem.model is ModelType.MCLP:
        return LinearProgram(
            sense=Sense.MAXIMIZE,
            objective=np.concatenate([np.zeros(n_s), problem.demand_weight.astype(float)]),
            constraints=sp.vstack(blocks, format="csr"),
            row_lower=np.concatenate(lo_parts),
            row_upper=np.concatenate(up_parts),
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
            row_lower=np.concatenate([*lo_parts, [need]]),
            row_upper=np.concatenate([*up_parts, [np.inf]]),
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


def new_site_count(problem: CoverageProblem, open_sites: np.ndarray) -> int:
    """Open sites that count toward the limit and are not fixed open (the plan's new conversions)."""
    return int((np.asarray(open_sites, bool) & problem.counts_toward_limit & ~problem.fixed_open).sum())


def cheapest_program(problem: CoverageProblem, value: float) -> LinearProgram:
    """The second-stage program of ``problem``, its objective held at ``value`` (model units).

    It minimises the cost, then the new sites (MCLP), or the new sites (LSCP), or the new sites and then
    the uncovered weight (partial).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from siting.problem import CoverageProblem, ModelType
    >>> a = sp.csr_matrix(np.array([[1, 1], [0, 1]], dtype=bool))
    >>> p = CoverageProblem(ModelType.MCLP, a, np.array([5., 3.]), np.array([4., 9.]),
    ...                     np.zeros(2, bool), np.zeros(2, bool), np.ones(2, bool), budget=20.0, total_weight=8.0)
    >>> q = cheapest_program(p, 8.0)
    >>> q.sense.value, q.n_rows == build_program(p).n_rows + 1, q.objective[:2].tolist()
    ('minimize', True, [4.333333333333333, 9.333333333333334])
    """
    program = build_program(problem)
    n_s = problem.n_sites
    count = (problem.counts_toward_limit & ~problem.fixed_open).astype(float)
    objective = np.zeros(program.n_cols)
    if problem.model is ModelType.MCLP:
        objective[:n_s] = cost_then_count(problem.site_cost, count)[0]
    else:
        objective[:n_s] = count
        if problem.model is ModelType.PARTIAL:
            total = float(problem.demand_weight.sum())
            if total > 0:       # below 1 in all: the count decides first
                objective[n_s:] = -0.5 * problem.demand_weight / total
    return keep_best(program, value, objective, name=f"{program.name}_secondary")
