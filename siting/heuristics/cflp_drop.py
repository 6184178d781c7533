r"""CFLP local search: close an open site when the weight it serves fits at other open sites for less than it costs.

Given a plan and an assignment that serves every point (``took``: the weight each pair serves), site ``j`` is
closed when every point it serves can move, nearest-cost first, into the spare capacity of the other open sites
it reaches, and the fixed cost saved beats the assignment cost added:

.. math::

    f_j > \sum_{(i,k)\ \text{moved to}} u_{ik}\, m_{ik} - \sum_{i} u_{ij}\, x_{ij}

(``u`` the pair's cost per unit of weight, ``m`` the weight moved, ``x`` what ``j`` served). Every point must keep an
open site in reach (a point of weight 0 too: its row still needs one). Sites are tried dearest first; passes repeat
while one closes. The plan stays feasible after every move (capacities, reach; the budget and the site limit only
loosen), so a cut-short search still returns a valid plan. Generated city, 19,371 x 2,000 (20-min table, capacity
4x the mean load): the greedy's 763 sites and 580.9 M yuan -> 729 sites, 546.7 M, in 0.2 s (``models/cflp.md``).

Example
-------
>>> import numpy as np
>>> d, s = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
>>> y, took, closed = close_sites(d, s, np.array([1.0, 2.0, 2.0, 1.0]), np.ones(2), np.array([2.0, 2.0]),
...                               np.ones(2, bool), np.ones(2, bool), np.array([10.0, 10.0]),
...                               np.array([1.0, 0.0, 0.0, 1.0]))
>>> y.tolist(), closed, float(took.sum())
([False, True], 1, 2.0)
"""
from __future__ import annotations

import numpy as np

from ..interrupt import expired

__all__ = ["close_sites"]


def close_sites(d: np.ndarray, s: np.ndarray, a: np.ndarray, weight: np.ndarray, cap: np.ndarray,
                open_sites: np.ndarray, closable: np.ndarray, cost: np.ndarray, took: np.ndarray, *,
                deadline: float | None = None, max_passes: int = 4) -> tuple[np.ndarray, np.ndarray, int]:
    """Close sites while it pays (module text); returns the plan, its assignment (``took``) and how many closed.

    Parameters
    ----------
    d, s : each pair's demand point and site, sorted by point
    a : each pair's cost for the whole point (the program's assignment cost)
    weight : each point's weight (its load on a site)
    cap, cost : each site's capacity and fixed cost
    open_sites, closable : the plan, and the sites it may close (free ones)
    took : the weight each pair serves in a feasible assignment of ``open_sites``
    """
    n_demand, n_sites = weight.shape[0], cap.shape[0]
    y = np.asarray(open_sites, dtype=bool).copy()
    took = np.asarray(took, dtype=np.float64).copy()
    w = weight[d]
    unit = np.where(w > 0, a / np.where(w > 0, w, 1.0), 0.0)
    eps = 1e-9 * max(1.0, float(weight.max(initial=0.0)))
    spare = cap - np.bincount(s, weights=took, minlength=n_sites)
    point_ptr = np.searchsorted(d, np.arange(n_demand + 1))
    by_site = np.argsort(s, kind="stable")
    site_ptr = np.searchsorted(s[by_site], np.arange(n_sites + 1))
    reach_open = np.bincount(d, weights=y[s].astype(np.float64), minlength=n_demand)
    closed = 0
    for _ in range(max_passes):
        changed = False
        order = np.flatnonzero(y & closable)
        for j in order[np.argsort(-cost[order], kind="stable")]:
            if expired(deadline):
                return y, took, closed
            mine = by_site[site_ptr[j]:site_ptr[j + 1]]
            if np.any(reach_open[d[mine]] < 2):
                continue
            moved = _move_out(int(j), mine[took[mine] > eps], d, s, unit, y, spare, took, point_ptr, eps)
            if moved is None:
                continue
            extra, undo = moved
            if cost[j] - extra > 1e-9 * max(1.0, float(cost[j])):
                spare[j] += float(took[mine].sum())
                took[mine] = 0.0
                y[j] = False
                reach_open[d[mine]] -= 1.0
                closed += 1
                changed = True
            else:
                for q, amount in undo:
                    spare[s[q]] += amount
                    took[q] -= amount
        if not changed:
            break
    return y, took, closed


def _move_out(j: int, loaded: np.ndarray, d: np.ndarray, s: np.ndarray, unit: np.ndarray, y: np.ndarray,
              spare: np.ndarray, took: np.ndarray, point_ptr: np.ndarray,
              eps: float) -> tuple[float, list[tuple[int, float]]] | None:
    """Move what ``j`` serves on ``loaded`` to other open sites (in place); the cost added and the undo log.

    None (everything undone) when a point does not fit.
    """
    extra = -float((took[loaded] * unit[loaded]).sum())
    undo: list[tuple[int, float]] = []
    for p in loaded:
        i = d[p]
        need = float(took[p])
        alt = np.arange(point_ptr[i], point_ptr[i + 1])
        alt = alt[(s[alt] != j) & y[s[alt]] & (spare[s[alt]] > eps)]
        for q in alt[np.argsort(unit[alt], kind="stable")]:
            amount = min(need, float(spare[s[q]]))
            spare[s[q]] -= amount
            took[q] += amount
            undo.append((int(q), amount))
            extra += amount * float(unit[q])
            need -= amount
            if need <= eps:
                break
        if need > eps:
            for q, amount in undo:
                spare[s[q]] += amount
                took[q] -= amount
            return None
    return extra, undo
