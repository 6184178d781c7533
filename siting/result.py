"""Verified results.

A :class:`Result` is only built from a plan whose figures the model's ``evaluate`` recomputed from the
raw inputs (:func:`siting.models.driver.solve_model`); its figures are the recomputed ones, not the
solver's. Build one with :meth:`Result.from_plan` or :meth:`Result.no_plan`, never field by field.

Examples
--------
>>> from siting.status import Termination
>>> r = Result.no_plan("mclp", Termination.INFEASIBLE, "budget below the required sites", solver="highs",
...                    seconds=0.1, total_weight=10.0)
>>> r.status.value, r.has_solution, r.gap is None
('infeasible', False, True)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .errors import NoSolutionError
from .status import Status, Termination, relative_gap, status_from

__all__ = ["Status", "Result", "status_from"]


@dataclass(frozen=True)
class Result:
    """The outcome of one solve.

    ``termination`` says why the solver stopped; ``has_solution`` whether a verified plan exists.
    ``objective`` / ``best_bound`` are in the model's own units (covered weight for MCLP, cost for LSCP /
    partial, weighted minutes for p-median, minutes for p-center, ...). ``gap`` is
    :func:`siting.status.relative_gap` of the two.

    ``covered_weight`` / ``total_weight``: the demand weight (``weight_column``: people, or a group such as
    ``elderly``) the model counts as served, and the weight that could be. What "served" means differs by
    model and is stated in ``covered_definition`` (e.g. "covered at least once within the threshold",
    "assigned within capacity", multi-service: person-services summed over services).
    ``covered_population`` / ``total_population`` are the same numbers under their 0.1 names.
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
    covered_weight: float
    total_weight: float
    solver: str
    seconds: float
    sites: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    coverage: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    weight_column: str = "population"
    covered_definition: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_plan(cls, model: str, *, termination: Termination, objective: float, bound: float | None,
                  selected: tuple[str, ...], total_cost: float, covered_weight: float, total_weight: float,
                  solver: str, seconds: float, sites: pd.DataFrame, coverage: pd.DataFrame,
                  stats: dict[str, Any], message: str = "", weight_column: str = "population",
                  covered_definition: str = "", params: dict[str, Any] | None = None) -> Result:
        """A result with a verified plan; the status follows from ``termination`` (a plan exists)."""
        return cls(model=model, status=status_from(termination, True), termination=termination, has_solution=True,
                   objective=float(objective), best_bound=bound, gap=relative_gap(objective, bound),
                   selected=selected, total_cost=float(total_cost), covered_weight=float(covered_weight),
                   total_weight=float(total_weight), solver=solver, seconds=seconds, sites=sites, coverage=coverage,
                   stats=stats, message=message, weight_column=weight_column,
                   covered_definition=covered_definition, params=dict(params or {}))

    @classmethod
    def no_plan(cls, model: str, termination: Termination, message: str, *, solver: str, seconds: float,
                total_weight: float, bound: float | None = None, stats: dict[str, Any] | None = None,
                weight_column: str = "population", covered_definition: str = "",
                params: dict[str, Any] | None = None) -> Result:
        """A result without a plan (infeasible, stopped before any plan, or a solver failure)."""
        return cls(model=model, status=status_from(termination, False), termination=termination,
                   has_solution=False, objective=None, best_bound=bound, gap=None, selected=(), total_cost=0.0,
                   covered_weight=0.0, total_weight=float(total_weight), solver=solver, seconds=seconds,
                   stats=dict(stats or {}), message=message, weight_column=weight_column,
                   covered_definition=covered_definition, params=dict(params or {}))

    @property
    def covered_population(self) -> float:
        """``covered_weight`` under its 0.1 name."""
        return self.covered_weight

    @property
    def total_population(self) -> float:
        """``total_weight`` under its 0.1 name."""
        return self.total_weight

    def require_solution(self) -> Result:
        """Return the result itself; raise :class:`NoSolutionError` when the solve found no feasible plan."""
        if not self.has_solution:
            raise NoSolutionError(f"{self.model}: no feasible plan ({self.status}: {self.message})")
        return self

    @property
    def coverage_share(self) -> float:
        """``covered_weight / total_weight`` (0 when there is no weight); needs a solution."""
        self.require_solution()
        return self.covered_weight / self.total_weight if self.total_weight else 0.0

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
            # what a committee asks first: money left, and what each converted building alone adds
            "budget_unspent": self.stats.get("budget_unspent"),
            "marginal_weight": self.stats.get("marginal_weight"),
            "covered_weight": self.covered_weight,
            "total_weight": self.total_weight,
            "weight_column": self.weight_column,
            "covered_definition": self.covered_definition,
            # the 0.1 names, kept for scripts: the same numbers as covered_weight / total_weight
            "covered_population": self.covered_weight,
            "total_population": self.total_weight,
            "solver": self.solver,
            "seconds": self.seconds,
            "message": self.message,
            "params": self.params,
            "stats": self.stats,
        }
