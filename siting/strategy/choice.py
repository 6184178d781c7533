"""The strategies of :func:`siting.strategy.solve_coverage` and the size thresholds ``auto`` picks one by."""
from __future__ import annotations

from enum import StrEnum

from ..problem import CoverageProblem

#: auto thresholds on the presolved problem (see models/presolve-and-heuristics.md for the measurements)
EXACT_MAX_NNZ = 100_000
EXACT_MAX_SITES = 1_500
HYBRID_MAX_NNZ = 400_000
#: MIP time limit of the hybrid strategy when the options set none
HYBRID_DEFAULT_TIME_S = 120.0


class Strategy(StrEnum):
    """How :func:`siting.strategy.solve_coverage` solves a coverage problem (the :mod:`siting.strategy` table)."""

    AUTO = "auto"
    EXACT = "exact"
    HYBRID = "hybrid"
    HEURISTIC = "heuristic"


def choose_strategy(problem: CoverageProblem) -> Strategy:
    """The strategy ``auto`` picks for an (already presolved) problem, from its size."""
    nnz = int(problem.coverage.nnz)
    if nnz <= EXACT_MAX_NNZ and problem.n_sites <= EXACT_MAX_SITES:
        return Strategy.EXACT
    if nnz <= HYBRID_MAX_NNZ:
        return Strategy.HYBRID
    return Strategy.HEURISTIC
