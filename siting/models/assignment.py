"""The best assignment of a plan's open sites: capacitated figures come from the plan, not the solver.

A capacitated model's coverage (or assignment cost) depends on how demand is assigned to the open sites.
A solver returns *an* assignment, and when part of the objective does not depend on it (a service of
weight 0, ties) different backends return different ones for the same plan. Verification therefore
solves the assignment of the chosen plan itself, from the raw travel pairs, so every backend reports the
same figures for the same plan.

Examples
--------
>>> import numpy as np
>>> pairs = (np.array([0, 0, 1]), np.array([0, 1, 0]), np.array([2.0, 5.0, 3.0]))
>>> a = best_assignment(pairs, np.array([10.0, 10.0]), np.array([10.0, np.inf]), np.array([True, True]))
>>> a.share.tolist(), a.site.tolist(), a.assigned_weight
([0.0, 1.0, 1.0], [1, 0], 20.0)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import scipy.sparse as sp

from ..errors import VerificationError

__all__ = ["Assignment", "best_assignment", "SHARE_EPS"]

#: a pair's assigned share below this is dropped (0): covered and the serving site agree by construction
SHARE_EPS = 1e-9
#: a reduced cost or dual above this (relative to the largest weight) is "non-zero" (stage 2's optimal face)
_FACE_TOL = 1e-9


@dataclass(frozen=True)
class Assignment:
    """An assignment of demand to open sites, in the order of the pairs it was solved for.

    share : (n_pairs,) assigned fraction of the pair's demand point (0 for pairs to closed sites)
    covered : (n_demand,) assigned fraction of each demand point (sum of its pairs' shares, <= 1)
    load : (n_sites,) weight each site serves
    site : (n_demand,) main site: the pair of largest share, then fewer minutes, then lower site index
        (-1 when the point is not assigned; ``covered > 0`` exactly when ``site >= 0``)
    minutes : (n_demand,) minutes of the main site's pair (inf when not assigned)
    assigned_weight : ``sum_i w_i covered_i``
    cost : ``sum pair_cost * share`` (weighted minutes ``w_i t_ij`` when no ``pair_cost`` was given)
    method : ``nearest`` (no capacity binds: every point at its best open pair) or ``lp``
    """

    share: np.ndarray
    covered: np.ndarray
    load: np.ndarray
    site: np.ndarray
    minutes: np.ndarray
    assigned_weight: float
    cost: float
    method: str


def _best_pair(demand: np.ndarray, key: np.ndarray, site: np.ndarray, n_demand: int) -> np.ndarray:
    """Per demand point, the index of its pair of smallest ``key`` (ties: lower site index); -1 if none."""
    best = np.full(n_demand, -1, dtype=np.int64)
    if demand.size:
        order = np.lexsort((site, key, demand))
        first = np.ones(order.shape[0], bool)
        first[1:] = demand[order][1:] != demand[order][:-1]
        best[demand[order[first]]] = order[first]
    return best


def _rows(d: np.ndarray, s: np.ndarray, w: np.ndarray, cap: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix,
                                                                                   np.ndarray]:
    """Demand rows (one per demand point, over its pairs) and capacity rows (sites of finite capacity)."""
    k = d.shape[0]
    cols = np.arange(k)
    _, demand_row = np.unique(d, return_inverse=True)
    one = sp.csr_matrix((np.ones(k), (demand_row, cols)), shape=(int(demand_row.max(initial=-1)) + 1, k))
    finite = np.isfinite(cap[s])
    cap_sites, cap_row = np.unique(s[finite], return_inverse=True)
    load = sp.csr_matrix((w[finite], (cap_row, cols[finite])), shape=(cap_sites.shape[0], k))
    return one, load, cap[cap_sites]


def _lp(cost: np.ndarray, a_ub: sp.csr_matrix, b_ub: np.ndarray, a_eq: sp.csr_matrix, b_eq: np.ndarray,
        bounds: np.ndarray) -> Any:
    """HiGHS dual simplex (a vertex, deterministic); empty row blocks are left out."""
    # imported here: scipy.optimize takes ~0.3 s to import, which every `siting` command would pay
    from scipy.optimize import linprog

    # scipy-stubs do not list sparse matrices, which linprog's HiGHS methods take
    solve = cast(Any, linprog)
    return solve(cost, A_ub=a_ub if a_ub.shape[0] else None, b_ub=b_ub if a_ub.shape[0] else None,
                 A_eq=a_eq if a_eq.shape[0] else None, b_eq=b_eq if a_eq.shape[0] else None,
                 bounds=bounds, method="highs-ds")


def _solved(res: Any) -> bool:
    return bool(res.status == 0 and res.x is not None)


def _assign_lp(cost: np.ndarray, d: np.ndarray, s: np.ndarray, w: np.ndarray, cap: np.ndarray,
               serve_all: bool) -> np.ndarray | None:
    """The LP part of :func:`best_assignment`; None when it has no solution.

    ``serve_all``: one stage. Else stage 1 maximises the assigned weight; stage 2 minimises ``cost`` on
    stage 1's optimal face: a variable with a non-zero reduced cost stays at its bound and a row with a
    non-zero dual stays tight, so every stage-2 solution meets complementary slackness with stage 1's
    dual and keeps its optimum exactly (no slack on a floor row).
    """
    k = d.shape[0]
    if k == 0:
        return np.zeros(0)
    one, load, cap_of_row = _rows(d, s, w, cap)
    box = np.tile([0.0, 1.0], (k, 1))
    empty = sp.csr_matrix((0, k))
    if serve_all:
        res = _lp(cost, load, cap_of_row, one, np.ones(one.shape[0]), box)
        return np.asarray(res.x, float) if _solved(res) else None
    a_ub = sp.vstack([one, load], format="csr")
    b_ub = np.concatenate([np.ones(one.shape[0]), cap_of_row])
    first = _lp(-w, a_ub, b_ub, empty, np.zeros(0), box)
    if not _solved(first):                 # cannot happen (x = 0 is feasible)
        return None
    x1 = np.asarray(first.x, float)
    tol = _FACE_TOL * max(1.0, float(w.max()))
    at_zero = np.abs(first.lower.marginals) > tol
    at_one = np.abs(first.upper.marginals) > tol
    face = np.column_stack([np.where(at_one, 1.0, 0.0), np.where(at_zero, 0.0, 1.0)])
    tight = np.abs(first.ineqlin.marginals) > tol
    second = _lp(cost, a_ub[~tight], b_ub[~tight], a_ub[tight], b_ub[tight], face)
    if not _solved(second):
        return x1
    x2 = np.asarray(second.x, float)
    # a safety net on the tolerances: never report less than stage 1 found
    return x2 if float(w @ x2) >= float(w @ x1) * (1.0 - 1e-9) else x1


def best_assignment(pairs: tuple[np.ndarray, ...], weight: np.ndarray, capacity: np.ndarray,
                    open_sites: np.ndarray, *, serve_all: bool = False, pair_cost: np.ndarray | None = None,
                    model: str = "assignment", demand_ids: np.ndarray | None = None) -> Assignment:
    r"""The best assignment of demand to the open sites of a plan (split assignment allowed).

    Parameters
    ----------
    pairs : (demand, site, minutes)
        The raw travel pairs a demand point may be assigned over (already within the threshold).
    weight : (n_demand,) demand weights
    capacity : (n_sites,) capacities, ``inf`` = unlimited
    open_sites : (n_sites,) bool, the plan
    serve_all : False: maximise the assigned weight (capacitated coverage); True: every demand point with
        a pair must be fully assigned, at least ``pair_cost`` (CFLP)
    pair_cost : (n_pairs,) cost of assigning all of the pair's demand point (``serve_all``; default
        ``w_i t_ij``)
    model : the name used in error messages
    demand_ids : (n_demand,) ids that name demand points in error messages (default: their index)

    Returns
    -------
    Assignment
        Deterministic: the same plan gives the same assignment whichever solver chose the plan.

    Raises
    ------
    VerificationError
        ``serve_all`` and the open sites cannot serve every demand point.

    Notes
    -----
    Maximise coverage, lexicographically: (1) ``max sum w_i x_ij`` s.t. ``sum_j x_ij <= 1``,
    ``sum_i w_i x_ij <= cap_j`` over the pairs with an open site; (2) among those assignments,
    ``min sum w_i t_ij x_ij``: each point goes to the nearest sites the capacities allow. Stage 2 runs on
    stage 1's optimal face (reduced costs and duals), so it keeps stage 1's optimum exactly, with no
    slack. ``serve_all``: ``min sum a_ij x_ij`` s.t. ``sum_j x_ij = 1`` and the capacities, one stage
    (``a_ij`` is already the tie-break). Ties left after that are broken by HiGHS's dual simplex on a
    fixed LP, which is deterministic. The main site of a split point is its pair of largest share.

    Shortcuts (exact): a site whose reachable weight fits its capacity never binds, so a demand point
    whose best open pair (fewest minutes, or cheapest; ties to the lower site index) leads to such a site
    is assigned there in full; only the other points go to the LP, with capacity rows only for the sites
    that may bind. When every point's best pair fits, no LP is solved (``method="nearest"``).
    """
    demand, site, minutes = (np.asarray(a) for a in pairs[:3])
    n_demand, n_sites = weight.shape[0], capacity.shape[0]
    on = np.asarray(open_sites, bool)[site]
    if not serve_all:
        on &= weight[demand] > 0
    idx = np.flatnonzero(on)
    d, s, t = demand[idx], site[idx], minutes[idx]
    w = weight[d]
    cost = w * t if pair_cost is None else np.asarray(pair_cost, float)[idx]
    key = t if not serve_all else cost
    best = _best_pair(d, key, s, n_demand)
    if serve_all:
        must = np.zeros(n_demand, bool)
        must[demand] = True
        lost = np.flatnonzero(must & (best < 0))
        if lost.size:
            names = lost if demand_ids is None else np.asarray(demand_ids)[lost]
            more = f" and {lost.size - 5} more" if lost.size > 5 else ""
            raise VerificationError(f"{model}: the plan's open sites cannot serve every demand point: "
                                    f"{', '.join(map(str, names[:5]))}{more} reach no open site")
    x = np.zeros(idx.shape[0])
    has = best[best >= 0]
    reach = np.bincount(s, weights=w, minlength=n_sites)
    free = reach <= capacity          # never binds (inf capacity included)
    near_load = np.bincount(s[has], weights=w[has], minlength=n_sites)
    method = "nearest"
    if np.all(near_load <= capacity):
        x[has] = 1.0
    else:
        method = "lp"
        fixed = has[free[s[has]]]
        x[fixed] = 1.0
        settled = np.zeros(n_demand, bool)
        settled[d[fixed]] = True
        rest = np.flatnonzero(~settled[d])
        # a free site never binds: no capacity row for it
        cap_rest = np.where(free, np.inf, capacity)
        sub = _assign_lp(cost[rest], d[rest], s[rest], w[rest], cap_rest, serve_all)
        if sub is None:
            raise VerificationError(f"{model}: the plan's open sites cannot serve every demand point within "
                                    "their capacities")
        x[rest] = sub
    x = np.where(x < SHARE_EPS, 0.0, np.minimum(x, 1.0))
    return _assignment(x, idx, (d, s, t), weight, cost, n_sites, demand.shape[0], method)


def _assignment(x: np.ndarray, idx: np.ndarray, open_pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
                weight: np.ndarray, cost: np.ndarray, n_sites: int, n_pairs: int, method: str) -> Assignment:
    """Shares on all pairs, per-point totals, loads and the main site of each point."""
    d, s, t = open_pairs
    n_demand = weight.shape[0]
    share = np.zeros(n_pairs)
    share[idx] = x
    covered = np.minimum(np.bincount(d, weights=x, minlength=n_demand), 1.0)
    load = np.bincount(s, weights=weight[d] * x, minlength=n_sites)
    site = np.full(n_demand, -1, dtype=np.int64)
    minutes = np.full(n_demand, np.inf)
    pos = np.flatnonzero(x > 0)
    if pos.size:
        order = pos[np.lexsort((s[pos], t[pos], -x[pos], d[pos]))]
        first = np.ones(order.shape[0], bool)
        first[1:] = d[order][1:] != d[order][:-1]
        site[d[order[first]]] = s[order[first]]
        minutes[d[order[first]]] = t[order[first]]
    return Assignment(share=share, covered=covered, load=load, site=site, minutes=minutes,
                      assigned_weight=float(weight @ covered), cost=float(cost @ x), method=method)
