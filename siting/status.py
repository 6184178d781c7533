"""Why a solve stopped, and the one-word answer derived from it.

Neutral ground for every layer: problems, results, models and backends import from here, so the core
types never depend on the solver adapters (linopy keeps the same split in ``linopy.constants``).
"Why the solver stopped" (:class:`Termination`) is kept apart from "is there a plan" (``has_solution``),
as in OR-Tools MathOpt and MathOptInterface; :func:`status_from` combines the two.

Examples
--------
>>> status_from(Termination.TIME_LIMIT, True).value
'time_limit'
>>> status_from(Termination.HEURISTIC, True).value
'feasible'
"""
from __future__ import annotations

from enum import StrEnum

__all__ = ["Termination", "Status", "status_from", "relative_gap"]


class Termination(StrEnum):
    """Why a solver (or heuristic) stopped."""

    OPTIMAL = "optimal"            # proven optimal within the requested gap
    INFEASIBLE = "infeasible"      # proven infeasible
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"
    ITERATION_LIMIT = "iteration_limit"  # node / iteration / heuristic round limit
    HEURISTIC = "heuristic"        # a heuristic finished its work (no optimality proof)
    ERROR = "error"


class Status(StrEnum):
    """The one-word answer written to ``solution.json``."""

    OPTIMAL = "optimal"        # proven optimal (within mip_gap)
    FEASIBLE = "feasible"      # a verified plan without an optimality proof
    INFEASIBLE = "infeasible"  # proven: no plan satisfies the constraints
    TIME_LIMIT = "time_limit"  # stopped by a time (or node/iteration) limit; the gap says how good a plan is
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


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """The one relative gap of the project: ``|bound - objective| / max(|objective|, 1e-9)``.

    The denominator is the plan's own value (the conservative choice: it never flatters a plan whose
    bound is far away). None when either side is missing or the bound is not finite.

    Examples
    --------
    >>> relative_gap(90.0, 100.0)
    0.1111111111111111
    >>> relative_gap(5.0, None) is None
    True
    """
    if objective is None or bound is None or bound != bound or abs(bound) == float("inf"):
        return None
    return abs(bound - objective) / max(abs(objective), 1e-9)
