"""Small helpers shared by the backend adapters."""
from __future__ import annotations

import time

import numpy as np

from ..program import LinearProgram
from .base import BackendSolution, Termination

__all__ = ["empty_program_solution"]


def empty_program_solution(program: LinearProgram, backend: str, t0: float) -> BackendSolution:
    """The answer for a program with no columns: the empty point if every row admits 0, else infeasible.

    Some solvers (scipy's ``milp``, the CBC executable) refuse an empty model instead of solving it.
    """
    x = np.zeros(0)
    if program.max_violation(x) > 1e-9:
        return BackendSolution(Termination.INFEASIBLE, None, None, None, time.perf_counter() - t0, backend,
                               "no columns, and a row excludes 0")
    value = float(program.objective_offset)
    return BackendSolution(Termination.OPTIMAL, x, value, value, time.perf_counter() - t0, backend,
                           "no columns: the empty point is optimal")
