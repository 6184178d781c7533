r"""The radius (covering) formulation of the p-median problem, truncated per demand point.

García, Labbé & Marín (2011), "Solving large p-median problems with a radius formulation", INFORMS J.
Computing 23(4). For demand ``i`` with distinct reachable times :math:`D_{i,0} < D_{i,1} < \dots < D_{i,K_i-1}`
and :math:`S_{ik} = \{j : t_{ij} = D_{ik}\}`, ``z_ik`` = 1 when no open site lies within :math:`D_{ik}`:

.. math::

    \min \sum_i w_i \Big(D_{i,0} + \sum_{k < r_i} (D_{i,k+1} - D_{i,k})\, z_{ik}\Big)
    \quad\text{s.t.}\quad
    z_{ik} - z_{i,k-1} + \sum_{j \in S_{ik}} y_j \ge [k = 0] \;(k < r_i),\quad
    \sum_{j \in C} y_j = p

The rows are chained (Elloumi 2010): telescoping gives
:math:`z_{ik} + \sum_{j: t_{ij} \le D_{ik}} y_j \ge 1`, so every pair appears in one row only.

**Truncation.** Only the first ``r_i`` levels of demand ``i`` are kept. Its last kept variable
:math:`z_{i,r_i-1}` ("farther than :math:`D_{i,r_i-1}`") is charged the single step to :math:`D_{i,r_i}`: a
plan whose nearest open site is farther costs at least that much, so the truncated optimum is a **lower
bound** on the p-median optimum for any ``r``, and it grows with ``r``. When ``r_i = K_i`` the last level
has no ``z`` (some site must be open within the table). A truncated optimum whose plan puts no demand
"beyond" its kept levels has the true objective equal to the bound: it is optimal.

:func:`truncated_program` builds this program vectorised from the sorted pairs (no dense matrix, no loop
over demand points); :func:`levels_of` sorts the pairs into levels once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..program import LinearProgram, Sense
from ..rules import Limits, SiteRules

__all__ = ["Levels", "levels_of", "truncated_program", "plan_vector", "beyond", "levels_needed", "levels_within", "lp_reduced_costs",
           "reduced_cost_fixing"]


@dataclass(frozen=True)
class Levels:
    """The reachable pairs sorted by (demand, minutes, site) and grouped into distance levels.

    demand, site, minutes : (n_pairs,) the sorted pairs
    pair_level : (n_pairs,) global level of each pair
    level_demand, level_minutes : (n_levels,) demand and time of each level
    level_local : (n_levels,) position of the level within its demand (0 = nearest)
    first_level, n_levels_of : (n_demand,) first global level and level count of each demand (0: no pairs)
    weight : (n_demand,) demand weight
    """

    demand: np.ndarray
    site: np.ndarray
    minutes: np.ndarray
    pair_level: np.ndarray
    level_demand: np.ndarray
    level_minutes: np.ndarray
    level_local: np.ndarray
    first_level: np.ndarray
    n_levels_of: np.ndarray
    weight: np.ndarray

    @property
    def n_levels(self) -> int:
        """Number of (demand, distinct time) levels."""
        return int(self.level_demand.shape[0])


def levels_of(demand: np.ndarray, site: np.ndarray, minutes: np.ndarray, weight: np.ndarray) -> Levels:
    """Sort the pairs ``(demand, site, minutes)`` into distance levels (one sort, no Python loop)."""
    order = np.lexsort((site, minutes, demand))
    d, s, t = demand[order], site[order], minutes[order]
    new_level = np.ones(d.shape[0], bool)
    new_level[1:] = (d[1:] != d[:-1]) | (t[1:] != t[:-1])
    pair_level = np.cumsum(new_level) - 1
    level_demand, level_minutes = d[new_level], t[new_level]
    n_demand = weight.shape[0]
    n_levels_of = np.bincount(level_demand, minlength=n_demand)
    first_level = np.concatenate([[0], np.cumsum(n_levels_of)[:-1]])
    level_local = np.arange(level_demand.shape[0]) - first_level[level_demand]
    return Levels(d, s, t, pair_level, level_demand, level_minutes, level_local, first_level, n_levels_of,
                  np.asarray(weight, dtype=float))


def truncated_program(lv: Levels, keep: np.ndarray, rules: SiteRules, limits: Limits,
                      fixed_closed: np.ndarray | None = None,
                      fixed_open: np.ndarray | None = None) -> tuple[LinearProgram, np.ndarray]:
    """The radius program with the first ``keep[i]`` levels of each demand ``i``.

    Parameters
    ----------
    lv : Levels
    keep : (n_demand,) int, 1 <= keep <= n_levels_of where the demand has pairs (ignored elsewhere)
    rules : SiteRules
        Fixed-open (existing, required) and excluded sites, costs and which sites count toward ``p``.
    limits : Limits
        ``max_sites`` (= p, exact) and the optional budget.
    fixed_closed, fixed_open : (n_sites,) bool, optional
        Sites proven closed / open in every plan better than the incumbent (reduced-cost fixing).

    Returns
    -------
    program : LinearProgram
        Columns: block ``"site"`` (``y_j`` binary) then block ``"level"`` (``z`` in [0, 1]).
    z_level : (n_z,) global level index of each ``z`` column.
    """
    n = rules.cost.shape[0]
    kept_level = lv.level_local < keep[lv.level_demand]
    last_of_demand = lv.level_local == lv.n_levels_of[lv.level_demand] - 1
    has_z = kept_level & ~last_of_demand
    z_level = np.flatnonzero(has_z)
    n_z = z_level.shape[0]
    z_col = np.full(lv.n_levels, -1, dtype=np.int64)
    z_col[z_level] = n + np.arange(n_z)
    row_of_level = np.full(lv.n_levels, -1, dtype=np.int64)
    kept_idx = np.flatnonzero(kept_level)
    row_of_level[kept_idx] = np.arange(kept_idx.shape[0])
    n_rows = kept_idx.shape[0]
    # row k of demand i: z_ik (when it exists) - z_i,k-1 (k > 0) + sum_{j in S_ik} y_j >= [k == 0]
    has_prev = kept_level & (lv.level_local > 0)
    prev_idx = np.flatnonzero(has_prev)
    pair_kept = kept_level[lv.pair_level]
    rows_idx = np.concatenate([row_of_level[z_level], row_of_level[prev_idx], row_of_level[lv.pair_level[pair_kept]]])
    cols_idx = np.concatenate([z_col[z_level], z_col[prev_idx - 1], lv.site[pair_kept]])
    vals = np.concatenate([np.ones(n_z), -np.ones(prev_idx.shape[0]), np.ones(int(pair_kept.sum()))])
    n_cols = n + n_z
    level_rows = sp.csr_matrix((vals, (rows_idx, cols_idx)), shape=(n_rows, n_cols))
    blocks = [level_rows]
    row_lo = [np.where(lv.level_local[kept_idx] == 0, 1.0, 0.0)]
    row_up = [np.full(n_rows, np.inf)]
    if limits.budget is not None:
        blocks.append(sp.csr_matrix((rules.cost, (np.zeros(n, np.int64), np.arange(n))), shape=(1, n_cols)))
        row_lo.append(np.array([-np.inf]))
        row_up.append(np.array([float(limits.budget)]))
    if limits.max_sites is not None:
        counted = np.flatnonzero(rules.counts)
        blocks.append(sp.csr_matrix((np.ones(counted.shape[0]), (np.zeros(counted.shape[0], np.int64), counted)),
                                    shape=(1, n_cols)))
        row_lo.append(np.array([float(limits.max_sites) if limits.exact_sites else -np.inf]))
        row_up.append(np.array([float(limits.max_sites)]))
    step = np.zeros(lv.n_levels)
    step[:-1] = lv.level_minutes[1:] - lv.level_minutes[:-1]   # never read at a demand's last level (no z)
    cost = np.concatenate([np.zeros(n), lv.weight[lv.level_demand[z_level]] * step[z_level]])
    first = lv.level_local == 0
    offset = float(np.sum(lv.weight[lv.level_demand[first]] * lv.level_minutes[first]))
    upper_sites, lower_sites = rules.upper.copy(), rules.lower.copy()
    if fixed_closed is not None:
        upper_sites[fixed_closed & (rules.lower < 0.5)] = 0.0
    if fixed_open is not None:
        lower_sites[fixed_open & (upper_sites > 0.5)] = 1.0
    lower = np.concatenate([lower_sites, np.zeros(n_z)])
    upper = np.concatenate([upper_sites, np.ones(n_z)])
    integer = np.concatenate([np.ones(n, bool), np.zeros(n_z, bool)])
    program = LinearProgram(Sense.MINIMIZE, cost, sp.vstack(blocks, format="csr"), np.concatenate(row_lo),
                            np.concatenate(row_up), lower, upper, integer, offset, "pmedian_radius_truncated",
                            {"site": (0, n), "level": (n, n_cols)})
    return program, z_level


def nearest_open_time(lv: Levels, open_mask: np.ndarray) -> np.ndarray:
    """(n_demand,) minutes from each demand to its nearest open site (inf: none reachable)."""
    near = np.full(lv.weight.shape[0], np.inf)
    on = open_mask[lv.site]
    np.minimum.at(near, lv.demand[on], lv.minutes[on])
    return near


def plan_vector(program: LinearProgram, z_level: np.ndarray, lv: Levels, open_mask: np.ndarray) -> np.ndarray:
    """The column vector of a plan in a truncated program (``z`` = 1 where the nearest open site is farther)."""
    n = open_mask.shape[0]
    x = np.zeros(program.n_cols)
    x[:n] = open_mask
    near = nearest_open_time(lv, open_mask)
    x[n:] = lv.level_minutes[z_level] < near[lv.level_demand[z_level]]
    return x


def beyond(x: np.ndarray, z_level: np.ndarray, lv: Levels, keep: np.ndarray, n_sites: int) -> np.ndarray:
    """(n_demand,) bool: demands whose last kept ``z`` is 1 in ``x`` (their true time lies past the truncation)."""
    last_kept = lv.level_local[z_level] == keep[lv.level_demand[z_level]] - 1
    out = np.zeros(lv.weight.shape[0], bool)
    hit = last_kept & (x[n_sites:] > 0.5)
    out[lv.level_demand[z_level[hit]]] = True
    return out


def levels_within(lv: Levels, limit_min: np.ndarray) -> np.ndarray:
    """(n_demand,) number of each demand's levels at most ``limit_min[i]`` minutes away, at least 1."""
    inside = lv.level_minutes <= limit_min[lv.level_demand]
    return np.maximum(np.bincount(lv.level_demand, weights=inside, minlength=lv.weight.shape[0]).astype(np.int64), 1)


def levels_needed(lv: Levels, open_mask: np.ndarray) -> np.ndarray:
    """(n_demand,) levels a demand needs so that a plan's true time is inside its truncation (0: unreachable)."""
    near = nearest_open_time(lv, open_mask)
    # level position of the nearest open time = number of this demand's levels strictly below it, plus 1
    below = lv.level_minutes < near[lv.level_demand]
    return np.bincount(lv.level_demand, weights=below, minlength=lv.weight.shape[0]).astype(np.int64) + 1


def lp_reduced_costs(program: LinearProgram,
                     time_limit_s: float | None = None) -> tuple[float, np.ndarray, np.ndarray] | None:
    """The LP relaxation's optimum, its solution and every column's reduced cost (HiGHS through scipy), or None.

    None when the LP did not finish (time limit, numerical trouble): the caller then fixes nothing.
    """
    from scipy.optimize import linprog

    A, lo, up = program.constraints, program.row_lower, program.row_upper
    eq = np.isfinite(lo) & np.isfinite(up) & (lo == up)
    has_up = np.isfinite(up) & ~eq
    has_lo = np.isfinite(lo) & ~eq
    a_ub = sp.vstack([A[has_up], -A[has_lo]], format="csr")
    b_ub = np.concatenate([up[has_up], -lo[has_lo]])
    options = {} if time_limit_s is None else {"time_limit": max(0.05, float(time_limit_s))}
    res = linprog(program.objective,  # type: ignore[call-overload]  # scipy-stubs reject a sparse A_ub
                  A_ub=a_ub if a_ub.shape[0] else None, b_ub=b_ub if a_ub.shape[0] else None,
                  A_eq=A[eq] if eq.any() else None, b_eq=lo[eq] if eq.any() else None,
                  bounds=np.column_stack([program.col_lower, program.col_upper]), method="highs", options=options)
    if res.status != 0 or res.x is None:
        return None
    reduced = np.asarray(res.lower.marginals, float) + np.asarray(res.upper.marginals, float)
    return float(res.fun) + program.objective_offset, np.asarray(res.x, float), reduced


def reduced_cost_fixing(lp_value: float, reduced: np.ndarray, lp_sites: np.ndarray, incumbent: float,
                        free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sites that cannot change state in a plan better than ``incumbent`` (minimisation).

    A free site at 0 in the LP with ``lp_value + reduced > incumbent`` is closed in every better plan; a free
    site at 1 with ``lp_value - reduced > incumbent`` is open in every better plan. Valid for the truncated
    programs because a plan's truncated cost never exceeds its true cost and only grows as levels are added.

    Returns (closed, open) masks over the sites.
    """
    margin = incumbent - lp_value + 1e-6 * max(1.0, abs(incumbent))
    closed = free & (lp_sites < 1e-6) & (reduced > margin)
    opened = free & (lp_sites > 1 - 1e-6) & (-reduced > margin)
    return closed, opened
