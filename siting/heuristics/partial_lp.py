r"""Partial covering: the Lagrangian bound at the LP relaxation's row duals.

Partial covering is :math:`\min\{c^T x : \sum_i w_i z_i \ge t,\ z_i \le (A x)_i,\ z \in [0,1],\ x \in \{0,1\}\}`.
Relaxing the rows :math:`z_i \le (A x)_i` with :math:`u \ge 0` and reduced costs :math:`r_j = c_j - (A^T u)_j`:

.. math::

    L(u) = \sum_j \min(0, r_j) + \min\{u^T z : w^T z \ge t,\ 0 \le z \le 1\} \le \mathrm{OPT}

for every ``u >= 0`` (the second term is a fractional knapsack: rows by :math:`u_i / w_i`, the last one
fractional). The inner problem has the integrality property in ``x``, so :math:`\max_u L(u)` is the LP
relaxation, reached at the LP's row duals. The dual simplex finds them in seconds where the subgradient
creeps: 60,000 x 5,000 city (34,631 x 4,803 after presolve, 728,000 entries): LP 436.44 M in 7.4 s, 3,517
subgradient steps 431.38 M in 31 s. The bound is recomputed here as :math:`L(u)` from the returned duals,
so it holds whatever the solver's tolerances; with integer costs it is rounded up. Budget and site-limit rows
are left out of the LP: a relaxation, so the bound stays valid.

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.problem import CoverageProblem, ModelType
>>> a = sp.csr_matrix(np.array([[1, 0], [0, 1], [1, 1]], dtype=bool))
>>> p = CoverageProblem(ModelType.PARTIAL, a, np.array([4.0, 4.0, 2.0]), np.array([3.0, 5.0]),
...                     np.zeros(2, bool), np.zeros(2, bool), np.ones(2, bool), target_coverage=0.6,
...                     total_weight=10.0)
>>> d = lp_partial_dual(p)
>>> d.bound
3.0
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..problem import CoverageProblem, ModelType
from .arrays import CoverArrays
from .knapsack import rounding_margin
from .lagrangian import _fractional_cover

__all__ = ["PartialDual", "lp_partial_dual", "partial_lagrangian_value"]

#: above this many nonzeros the LP is not tried (the subgradient bound is used instead)
LP_MAX_NNZ = 2_000_000


@dataclass(frozen=True)
class PartialDual:
    """The bound :math:`L(u)` at the LP's row duals ``multipliers`` (rounded up with integer costs: ``bound``)."""

    bound: float
    raw_bound: float
    multipliers: np.ndarray
    iterations: int
    seconds: float


def partial_lagrangian_value(problem: CoverageProblem, u: np.ndarray, arrays: CoverArrays) -> float:
    """``L(u)`` of the module text; fixed-open sites count at their reduced cost, closed ones not (inf: no plan)."""
    u = np.maximum(np.asarray(u, dtype=np.float64), 0.0)
    r = np.asarray(problem.site_cost, dtype=np.float64) - arrays.tcsr @ u
    usable = ~problem.fixed_closed
    fixed = problem.fixed_open & usable
    free = usable & ~fixed
    target = problem.target_weight - problem.base_covered_weight
    _, rows = _fractional_cover(u, np.asarray(problem.demand_weight, dtype=np.float64), target)
    return float(r[free & (r < 0)].sum() + r[fixed].sum() + rows)


def lp_partial_dual(problem: CoverageProblem, *, arrays: CoverArrays | None = None,
                    time_limit_s: float | None = None) -> PartialDual | None:
    """The LP relaxation's bound as :math:`L(u)` at its row duals (module text).

    Parameters
    ----------
    problem : CoverageProblem with ``model == "partial"``
    arrays : prebuilt :class:`CoverArrays`
    time_limit_s : limit for the LP (None: none)

    Returns
    -------
    PartialDual or None
        None when the LP did not finish (time limit, size above :data:`LP_MAX_NNZ`, infeasible target, solver
        failure): the caller falls back to the subgradient. ``iterations`` is the simplex iteration count.
    """
    if problem.model != ModelType.PARTIAL:
        raise ValueError("lp_partial_dual solves partial covering only")
    if problem.coverage.nnz > LP_MAX_NNZ:
        return None
    t0 = time.perf_counter()
    p = problem
    arr = arrays if arrays is not None else CoverArrays.of(p)
    n_rows, n_sites = p.n_demand, p.n_sites
    w = np.asarray(p.demand_weight, dtype=np.float64)
    usable = ~p.fixed_closed
    a = sp.csr_matrix(p.coverage, dtype=np.float64)
    # rows z_i - (A x)_i <= 0, then -w^T z <= -t; columns x then z
    lhs = sp.vstack([sp.hstack([-a, sp.identity(n_rows, format="csr")]),
                     sp.hstack([sp.csr_matrix((1, n_sites)), sp.csr_matrix(-w[None, :])])], format="csr")
    rhs = np.concatenate([np.zeros(n_rows), [-(p.target_weight - p.base_covered_weight)]])
    cost = np.concatenate([np.asarray(p.site_cost, dtype=np.float64), np.zeros(n_rows)])
    lower = np.concatenate([(p.fixed_open & usable).astype(np.float64), np.zeros(n_rows)])
    upper = np.concatenate([usable.astype(np.float64), np.ones(n_rows)])
    limit = None if time_limit_s is None else max(float(time_limit_s), 1e-3)
    # imported here: scipy.optimize takes ~0.3 s to import, which every `siting` command would pay
    from scipy.optimize import linprog

    # scipy's stubs accept neither a sparse A_ub nor an (n, 2) bounds array, both documented and supported
    out = linprog(cost, A_ub=lhs, b_ub=rhs, bounds=np.column_stack([lower, upper]),  # type: ignore[call-overload]
                  method="highs-ds", options={"presolve": True, **({} if limit is None else {"time_limit": limit})})
    if out.status != 0 or out.ineqlin is None:
        return None
    u = np.maximum(-np.asarray(out.ineqlin.marginals, dtype=np.float64)[:n_rows], 0.0)
    raw = partial_lagrangian_value(p, u, arr)
    if not np.isfinite(raw):
        return None
    integral = bool(np.all(p.site_cost == np.round(p.site_cost)))
    bound = float(np.ceil(raw - rounding_margin(raw))) if integral else raw
    return PartialDual(bound, raw, u, int(getattr(out, "nit", 0)), time.perf_counter() - t0)
