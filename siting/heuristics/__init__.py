"""Heuristics with bounds for large coverage problems: lazy greedy, local search, Lagrangian relaxation."""
from __future__ import annotations

from .arrays import CoverArrays
from .greedy import greedy, greedy_cover, greedy_mclp
from .lagrangian import LagrangianResult, knapsack_upper_bound, lagrangian
from .local_search import improve_cover, local_search, swap_mclp

__all__ = ["CoverArrays", "greedy", "greedy_cover", "greedy_mclp", "LagrangianResult", "knapsack_upper_bound",
           "lagrangian", "improve_cover", "local_search", "swap_mclp"]
