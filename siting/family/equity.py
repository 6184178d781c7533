"""Equity coverage: maximise the smallest coverage share over districts or population groups, then (second,
lexicographic goal) the total covered population.

Example
-------
>>> from siting.family.testing import random_instance
>>> inst = random_instance(8, 5, seed=4, groups=True)
>>> r = solve_equity(inst, threshold_min=10, budget=10, equity_column="district")  # doctest: +SKIP
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from ..data.instance import Instance
from ..errors import InputError
from ..options import SolveOptions
from ..program import Sense
from ..result import Result
from . import _common as c

__all__ = ["solve_equity", "group_matrix"]


def group_matrix(instance: Instance, *, weight: np.ndarray, equity_column: str | None = None,
                 labels=None, equity_groups=None) -> tuple[sp.csr_matrix, list[str]]:
    """(G, n_demand) CSR ``M`` with ``M_gi = w^g_i / W^g`` so that ``M v`` are the coverage shares.

    Exactly one of: ``labels`` (per-demand labels, e.g. district names), ``equity_column`` (a demand group
    column whose values are used as labels, e.g. numeric district codes) or ``equity_groups`` (names of
    demand weight columns such as ``["elderly", "children"]``; each is one group). Groups with zero total
    weight are dropped.
    """
    given = sum(x is not None for x in (equity_column, labels, equity_groups))
    if given != 1:
        raise InputError("equity: give exactly one of equity_column, labels, equity_groups")
    n = instance.n_demand
    if equity_groups is not None:
        names = [str(g) for g in equity_groups]
        cols = [c.demand_weight(instance, g) for g in names]
        mat = sp.csr_matrix(np.vstack(cols)) if cols else sp.csr_matrix((0, n))
    else:
        if labels is None:
            if equity_column not in instance.demand.groups:
                raise InputError(f"equity: demand has no column {equity_column!r}", file=instance.demand.source,
                                 column=equity_column)
            labels = instance.demand.groups[equity_column]
        labels = np.asarray(labels)
        if labels.shape != (n,):
            raise InputError(f"equity: labels must have one entry per demand point ({n}), got {labels.shape}")
        uniq, code = np.unique(labels.astype(str), return_inverse=True)
        names = list(uniq)
        mat = sp.csr_matrix((weight, (code, np.arange(n))), shape=(len(names), n))
    totals = np.asarray(mat.sum(axis=1)).ravel()
    keep = np.flatnonzero(totals > 0)
    mat = (sp.diags(1.0 / totals[keep]) @ mat[keep]).tocsr()
    return mat, [names[k] for k in keep]


def solve_equity(instance: Instance, *, threshold_min: float, budget: float | None = None,
                 max_sites: int | None = None, equity_column: str | None = None, labels=None,
                 equity_groups=None, backend: str = "highs", options: SolveOptions = SolveOptions(),
                 weight_column: str = "population") -> Result:
    """Maximise the minimum coverage share across groups, then total coverage at that minimum.

    Parameters
    ----------
    threshold_min : float
    budget, max_sites : limits on new conversions
    equity_column, labels, equity_groups :
        How to form the groups (see :func:`group_matrix`). With ``labels``/``equity_column`` the shares use
        ``weight_column``; with ``equity_groups`` each group uses its own column.

    Returns
    -------
    Result
        ``objective`` = recomputed minimum share (stage 1); ``best_bound`` its bound;
        ``covered_population`` = total covered (stage 2 goal); ``stats``: ``shares`` per group,
        ``min_share``, ``stage2_bound``.

    Notes
    -----
    Stage 1, with ``a_ij = [t_ij <= r]`` and ``v_i`` covered:

    .. math::

        \\eta^* = \\max \\eta \\quad\\text{s.t.}\\quad \\eta \\le \\sum_i M_{gi} v_i \\;\\forall g,\\quad
        v_i \\le \\sum_j a_{ij} y_j,\\quad \\sum_j c_j y_j \\le B,\\; \\sum_{j\\in C} y_j \\le p

    Stage 2: :math:`\\max \\sum_i w_i v_i` s.t. the same rows and :math:`\\sum_i M_{gi} v_i \\ge \\eta^*`
    (``eta*`` recomputed from the stage-1 plan, minus 1e-9). ``y`` binary, ``v`` in [0, 1].
    """
    t0 = time.perf_counter()
    rules = c.site_rules(instance)
    c.check_limits(instance, rules, budget, max_sites, "equity")
    weight = c.demand_weight(instance, weight_column)
    m, names = group_matrix(instance, weight=weight, equity_column=equity_column, labels=labels,
                            equity_groups=equity_groups)
    a = c.within_usable(instance, threshold_min, rules)
    in_any_group = np.asarray(abs(m).sum(axis=0)).ravel() > 0
    active = np.flatnonzero(((weight > 0) | in_any_group) & (np.diff(a.indptr) > 0))
    n, k, g = instance.n_sites, active.shape[0], len(names)
    eta = n + k
    rows = c.Rows(n + k + 1)
    c.cover_rows(rows, a, active, n, n)
    mg = m[:, active].tocoo()
    rows.add(np.concatenate([mg.row, np.arange(g)]), np.concatenate([n + mg.col, np.full(g, eta)]),
             np.concatenate([-mg.data, np.ones(g)]), g, -np.inf, 0.0)
    rows.add_limits(slice(0, n), rules, budget, max_sites)
    lower = np.concatenate([rules.lower, np.zeros(k + 1)])
    upper = np.concatenate([rules.upper, np.ones(k + 1)])
    integer = np.concatenate([np.ones(n, bool), np.zeros(k + 1, bool)])
    blocks = {"site": (0, n), "covered": (n, n + k), "eta": (eta, eta + 1)}
    obj1 = np.zeros(n + k + 1)
    obj1[eta] = 1.0
    stage1 = c.lp(Sense.MAXIMIZE, obj1, rows, lower, upper, integer, "equity_stage1", blocks)
    sol1 = c.solve_program(stage1, backend, options)
    total = float(weight.sum())
    if not sol1.has_solution:
        return c.no_solution_result("equity", sol1, total, t0)

    def shares_of(open_mask):
        covered = (a @ open_mask.astype(float)) > 0
        return np.asarray(m @ covered.astype(float)).ravel(), covered

    sh1, _ = shares_of(c.open_sites(stage1, sol1.x))
    eta_star = float(sh1.min(initial=1.0))
    c.agree("equity", "minimum share", sol1.objective, eta_star, direction="ge")
    # stage 2: total coverage with the minimum share held
    obj2 = np.zeros(n + k + 1)
    obj2[n:n + k] = weight[active]
    lower2 = lower.copy()
    lower2[eta] = max(eta_star - 1e-9, 0.0)
    stage2 = replace(stage1, objective=obj2, col_lower=lower2, name="equity_stage2")
    sol2 = c.solve_program(stage2, backend, options)
    sol, program = (sol2, stage2) if sol2.has_solution else (sol1, stage1)
    open_mask = c.open_sites(program, sol.x)
    cost = c.check_plan(instance, rules, open_mask, budget=budget, max_sites=max_sites, model="equity")
    shares, covered = shares_of(open_mask)
    min_share = float(shares.min(initial=1.0))
    if min_share < eta_star - 1e-7:
        raise c.VerificationError(f"equity: stage 2 lowered the minimum share {eta_star} -> {min_share}")
    covered_pop = float(weight[covered].sum())
    if sol2.has_solution:
        c.agree("equity", "covered population", sol2.objective, covered_pop, direction="ge")
    site, minutes = c.nearest_open(instance.travel, open_mask)
    term = sol1.termination if sol2.has_solution and sol1.termination is not c.Termination.OPTIMAL else sol.termination
    return c.make_result(
        "equity", instance, sol, open_mask, objective=min_share, bound=sol1.bound, total_cost=cost,
        covered_population=covered_pop, total_population=total, t0=t0,
        sites=c.sites_frame(instance, open_mask, rules),
        coverage=c.coverage_frame(instance, weight, site, minutes, covered),
        stats={"threshold_min": threshold_min, "groups": names, "shares": dict(zip(names, shares.tolist())),
               "min_share": min_share, "stage2_bound": sol2.bound, "stage2_solved": sol2.has_solution},
        termination=term,
    )
