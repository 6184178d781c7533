"""Verified results.

A :class:`Result` is only built from a plan that :mod:`siting.verify` has recomputed
from the raw inputs; its figures are the recomputed ones, not the solver's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd

from .backends.base import Termination
from .errors import NoSolutionError

__all__ = ["Status", "Result", "status_from"]


class Status(StrEnum):
    """The one-word answer written to ``solution.json``."""

    OPTIMAL = "optimal"        # proven optimal (within mip_gap)
    FEASIBLE = "feasible"      # a verified plan without an optimality proof
    INFEASIBLE = "infeasible"  # proven: no plan satisfies the constraints
    TIME_LIMIT = "time_limit"  # stopped by a time (or node/iteration) limit before any plan was found
    ERROR = "error"            # the solver failed (see message); says nothing about the instance


def status_from(termination: Termination, has_solution: bool) -> Status:
    """The one-word status from why the solver stopped and whether a verified plan exists.

    A plan stopped by a limit is ``time_limit`` (the gap says how good it is); a plan from a
    heuristic is ``feasible``; no plan after a limit is ``time_limit``; a failure is ``error``.
    """
    if termination is Termination.OPTIMAL:
        return Status.OPTIMAL
    if termination is Termination.INFEASIBLE:
        return Status.INFEASIBLE
    if termination is Termination.TIME_LIMIT:
        return Status.TIME_LIMIT
    if has_solution:
        return Status.FEASIBLE
    if termination is Termination.ITERATION_LIMIT:
        return Status.TIME_LIMIT
    return Status.ERROR


@dataclass(frozen=True)
class Result:
    """The outcome of one solve.

    ``termination`` says why the solver stopped; ``has_solution`` whether a verified plan exists.
    ``objective``/``best_bound`` are in the model's own units (covered population for MCLP,
    cost for LSCP / partial). ``gap`` = |bound - objective| / max(|objective|, 1e-9).
    """

    model: str
    status: Status
    termination: Termination
    has_solution: bool
    objective: float | None
    best_bound: float | None
    gap: float | None
    selected: tuple[str, ...]
    total_cost: float
    covered_population: float
    total_population: float
    solver: str
    seconds: float
    sites: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    coverage: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def require_solution(self) -> "Result":
        if not self.has_solution:
            raise NoSolutionError(f"{self.model}: no feasible plan ({self.status}: {self.message})")
        return self

    @property
    def coverage_share(self) -> float:
        self.require_solution()
        return self.covered_population / self.total_population if self.total_population else 0.0

    def summary(self) -> dict[str, Any]:
        """The JSON-ready fields of ``solution.json``."""
        return {
            "status": str(self.status),
            "termination": str(self.termination),
            "has_solution": self.has_solution,
            "model": self.model,
            "objective": self.objective,
            "best_bound": self.best_bound,
            "gap": self.gap,
            "selected": list(self.selected),
            "total_cost": self.total_cost,
            "covered_population": self.covered_population,
            "weight_column": self.stats.get("weight_column", "population"),
            "total_population": self.total_population,
            "solver": self.solver,
            "seconds": self.seconds,
            "message": self.message,
            "stats": self.stats,
        }
