r"""Lagrangian branch and bound for the p-median, for what reduced-cost fixing leaves open.

When the Lagrangian (:mod:`siting.heuristics.pmedian_lagrangian`) has fixed most sites but a gap remains (the
LP gap of small ``p``), a general MIP solver spends seconds per truncated program. Here each node fixes some
free sites open or closed, runs a short subgradient from its parent's multipliers (the bound of the node's
subproblem, valid for every plan inside the node), fixes by reduced costs, and branches on the open site of
the subproblem whose closing would raise the bound most: the "closed" child is usually pruned at once and the
"open" child goes deeper (depth first, open child first). With integral data a node is pruned when its bound
exceeds ``incumbent - 1``.

A finished search proves the incumbent optimal among the plans inside the root's fixings; a search stopped
by its deadline proves nothing beyond the root bound.

Example
-------
>>> import numpy as np
>>> from siting.heuristics.pmedian_lagrangian import PairWindows
>>> d = np.repeat(np.arange(4), 4); s = np.tile(np.arange(4), 4)
>>> t = np.abs(d - s).astype(float); pairs = PairWindows(d, s, t, 4, 4)
>>> r = lagrangian_branch_and_bound(pairs, np.zeros(4, bool), np.ones(4, bool), 2, incumbent=None,
...                                 incumbent_value=np.inf, multipliers=np.zeros(4), integral=True)
>>> r.finished, r.best_value
(True, 2.0)
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..interrupt import expired
from .pmedian_lagrangian import PairWindows, lagrangian_fixing, subgradient

__all__ = ["BranchResult", "lagrangian_branch_and_bound"]


@dataclass(frozen=True)
class BranchResult:
    """best_plan / best_value : the incumbent at the end; finished : every node was searched or pruned."""

    best_plan: np.ndarray | None
    best_value: float
    finished: bool
    nodes: int
    seconds: float


def lagrangian_branch_and_bound(pairs: PairWindows, fixed_open: np.ndarray, free: np.ndarray, m: int, *,
                                incumbent: np.ndarray | None, incumbent_value: float, multipliers: np.ndarray,
                                integral: bool, deadline: float | None = None, node_iterations: int = 200,
                                max_nodes: int = 100_000, node_factor: float = 2.0,
                                node_patience: int = 15, node_min_factor: float = 1e-2) -> BranchResult:
    """Search every plan with ``fixed_open`` open and exactly ``m`` of ``free`` open for one better than the incumbent.

    Parameters
    ----------
    pairs : PairWindows
        The reachable pairs with their costs ``w_i t_ij``.
    fixed_open, free : (n_sites,) bool
        Sites open in every plan; sites the plan chooses from (the rest are closed).
    m : int
        Free sites to open.
    incumbent, incumbent_value : the best plan known (None / inf: none)
    multipliers : (n_demand,) starting multipliers (the root Lagrangian's)
    integral : bool
        Every plan's objective is an integer (prune at ``incumbent - 1``).
    deadline : float, optional
        ``time.perf_counter()`` value to stop at (the result is then not ``finished``).
    node_iterations, max_nodes : int
        Subgradient steps per node; nodes before giving up.
    node_factor, node_patience, node_min_factor : float, int, float
        A node's first step factor (its multipliers start near the parent's optimum), the steps without a
        better bound before the factor halves, and the factor at which the node stops.
    """
    started = time.perf_counter()
    best_plan = None if incumbent is None else incumbent.copy()
    best_value = float(incumbent_value)
    # a node: (sites forced open, sites forced closed, multipliers to start from)
    stack = [(np.zeros_like(free), np.zeros_like(free), multipliers)]
    nodes = 0

    def prune_level() -> float:
        return best_value - 1.0 + 1e-6 if integral else best_value * (1.0 - 1e-12)

    while stack:
        if nodes >= max_nodes or expired(deadline):
            return BranchResult(best_plan, best_value, False, nodes, time.perf_counter() - started)
        forced, banned, u = stack.pop()
        nodes += 1
        node_free = free & ~forced & ~banned
        node_m = m - int(forced.sum())
        if node_m < 0 or node_m > int(node_free.sum()):
            continue
        node_open = fixed_open | forced
        if node_m == 0 or node_m == int(node_free.sum()):
            plan = node_open | (node_free if node_m else np.zeros_like(free))
            value = pairs.plan_cost(plan)
            if value < best_value:
                best_plan, best_value = plan, value
            continue
        result = subgradient(pairs, node_open, node_free, node_m, upper_bound=best_value, multipliers=u,
                             integral=integral, max_iterations=node_iterations, patience=node_patience,
                             min_factor=node_min_factor, initial_factor=node_factor, heuristic_every=20)
        if result.best_plan is not None and result.best_value < best_value:
            best_plan, best_value = result.best_plan, result.best_value
        if result.bound >= prune_level():
            continue
        closed, opened = lagrangian_fixing(result, node_free, best_value, integral)
        forced, banned = forced | opened, banned | closed
        node_free = free & ~forced & ~banned
        node_m = m - int(forced.sum())
        if node_m < 0 or node_m > int(node_free.sum()):
            continue
        if node_m == 0 or node_m == int(node_free.sum()):
            stack.append((forced, banned | (node_free if node_m == 0 else np.zeros_like(free)), result.multipliers))
            continue
        # branch on the chosen site whose closing raises the bound most (its "closed" child is pruned soonest)
        idx = np.flatnonzero(node_free)
        order = idx[np.argsort(result.rho[idx], kind="stable")]
        chosen = order[:node_m]
        site = int(chosen[np.argmin(result.rho[chosen])])
        closed_child = banned.copy()
        closed_child[site] = True
        open_child = forced.copy()
        open_child[site] = True
        stack.append((forced, closed_child, result.multipliers))
        stack.append((open_child, banned, result.multipliers))
    return BranchResult(best_plan, best_value, True, nodes, time.perf_counter() - started)
