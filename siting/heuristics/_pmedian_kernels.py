"""Compiled (numba) inner loops of the p-median Lagrangian: one pass over each demand's cheaper pairs.

Optional: imported only when numba is installed; :class:`siting.heuristics.pmedian_lagrangian.PairWindows`
falls back to the vectorised numpy windows otherwise (same results up to summation order). The pairs are
sorted by (demand, cost), so each loop stops at the first pair of a demand that is not cheaper than ``u_i``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["rho_kernel", "served_by_site_kernel", "plan_cost_kernel"]


@njit(cache=True, nogil=True)
def rho_kernel(start: np.ndarray, stop: np.ndarray, site: np.ndarray, cost: np.ndarray, u: np.ndarray,
               n_sites: int) -> np.ndarray:  # pragma: no cover - compiled
    """rho_j = sum over the pairs (i, j) with cost < u_i of (cost - u_i)."""
    rho = np.zeros(n_sites)
    for i in range(start.shape[0]):
        ui = u[i]
        for k in range(start[i], stop[i]):
            c = cost[k]
            if c >= ui:
                break
            rho[site[k]] += c - ui
    return rho


@njit(cache=True, nogil=True)
def plan_cost_kernel(start: np.ndarray, stop: np.ndarray, site: np.ndarray, cost: np.ndarray,
                     open_mask: np.ndarray) -> float:  # pragma: no cover - compiled
    """Sum over demands with pairs of the cheapest open pair (inf when one has none)."""
    total = 0.0
    for i in range(start.shape[0]):
        if start[i] == stop[i]:
            continue
        found = False
        for k in range(start[i], stop[i]):
            if open_mask[site[k]]:
                total += cost[k]
                found = True
                break
        if not found:
            return np.inf
    return total


@njit(cache=True, nogil=True)
def served_by_site_kernel(site_start: np.ndarray, site_stop: np.ndarray, demand: np.ndarray, cost: np.ndarray,
                          u: np.ndarray, open_sites: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Per demand: the open sites among its pairs with cost < u_i, from the pairs grouped by site.

    Touches only the open sites' pairs: with few open sites far fewer than the demands' windows.
    """
    served = np.zeros(u.shape[0])
    for j in open_sites:
        for k in range(site_start[j], site_stop[j]):
            i = demand[k]
            if cost[k] < u[i]:
                served[i] += 1.0
    return served
