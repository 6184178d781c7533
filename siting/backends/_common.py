"""Small helpers shared by the backend adapters: empty programs, the wall-clock budget, warm-start fallback.

Time-limit contract (every backend): the wall clock measured around ``backend.solve(...)`` stays within
``1.2 * time_limit_s + 2 s``. Time spent building or writing the model counts, so a backend hands its solver
only :func:`remaining_s`, and when the solver stops at a limit without a point at least as good as a feasible
warm start, the warm start itself is returned (:func:`prefer_warm_start`).
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import overload

import numpy as np

from ..errors import SolverError
from ..program import LinearProgram, Sense
from .base import BackendSolution, Termination

__all__ = ["empty_program_solution", "remaining_s", "solver_limit_s", "deadline_s", "checked_warm_start", "prefer_warm_start",
           "no_time_solution", "unstarted_solution", "WARM_START_TOL"]

#: a warm start is used as a plan only if ``program.max_violation(x, relative=True)`` is at most this
WARM_START_TOL = 1e-6
#: seconds the hard deadline leaves past ``1.1 * time_limit_s`` for stopping, reading and checking the answer
_DEADLINE_SLACK_S = 0.6


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


@overload
def remaining_s(time_limit_s: float, t0: float) -> float: ...
@overload
def remaining_s(time_limit_s: None, t0: float) -> None: ...
@overload
def remaining_s(time_limit_s: float | None, t0: float) -> float | None: ...
def remaining_s(time_limit_s: float | None, t0: float) -> float | None:
    """Seconds of ``time_limit_s`` left since ``t0`` (``perf_counter``), at least 0; None without a limit."""
    if time_limit_s is None:
        return None
    return max(float(time_limit_s) - (time.perf_counter() - t0), 0.0)


@overload
def solver_limit_s(time_limit_s: float, t0: float, overhead_s: float) -> float: ...
@overload
def solver_limit_s(time_limit_s: None, t0: float, overhead_s: float) -> None: ...
@overload
def solver_limit_s(time_limit_s: float | None, t0: float, overhead_s: float) -> float | None: ...
def solver_limit_s(time_limit_s: float | None, t0: float, overhead_s: float) -> float | None:
    """The time limit for a solver that spends about ``overhead_s`` outside its own limit.

    That is what is left of ``time_limit_s``, but short enough for the solver (model copy-in and read-back
    included) to end by ``1.2 * limit + 1 s``, keeping 1 s of the promised ``1.2 * limit + 2 s`` for the rest.
    """
    if time_limit_s is None:
        return None
    elapsed = time.perf_counter() - t0
    promised = 1.2 * float(time_limit_s) + 1.0
    return max(min(float(time_limit_s) - elapsed, promised - elapsed - overhead_s), 0.0)


@overload
def deadline_s(time_limit_s: float, t0: float) -> float: ...
@overload
def deadline_s(time_limit_s: None, t0: float) -> None: ...
@overload
def deadline_s(time_limit_s: float | None, t0: float) -> float | None: ...
def deadline_s(time_limit_s: float | None, t0: float) -> float | None:
    """``perf_counter`` time by which a runaway solver is stopped: ``t0 + 1.1 * limit + 0.6 s``."""
    if time_limit_s is None:
        return None
    return t0 + 1.1 * float(time_limit_s) + _DEADLINE_SLACK_S


def checked_warm_start(program: LinearProgram, warm_start: np.ndarray | None) -> np.ndarray | None:
    """The warm start as a float vector of the program's width (SolverError if the shape is wrong)."""
    if warm_start is None:
        return None
    ws = np.asarray(warm_start, dtype=np.float64)
    if ws.shape != (program.n_cols,):
        raise SolverError(f"{program.name}: warm start has shape {ws.shape}, expected ({program.n_cols},)")
    return ws


def _better_or_equal(program: LinearProgram, a: float, b: float) -> bool:
    """True when objective ``a`` is at least as good as ``b`` for the program's sense."""
    return a >= b if program.sense == Sense.MAXIMIZE else a <= b


def prefer_warm_start(solution: BackendSolution, program: LinearProgram,
                      warm_start: np.ndarray | None) -> BackendSolution:
    """``solution``, or the warm start as its point when the solver stopped at a limit without a better one.

    Applies only to TIME_LIMIT / ITERATION_LIMIT answers and to a warm start that satisfies the program
    (integer columns rounded first). The solver's bound is kept, clipped to the warm start's objective
    (a valid dual bound never lies past a feasible point; solvers print it rounded).
    """
    if warm_start is None or solution.termination not in (Termination.TIME_LIMIT, Termination.ITERATION_LIMIT):
        return solution
    x = np.where(program.integrality, np.round(warm_start), warm_start)
    if program.max_violation(x, relative=True) > WARM_START_TOL:
        return solution
    value = program.objective_value(x)
    if solution.x is not None and solution.objective is not None and _better_or_equal(
            program, solution.objective, value):
        return solution
    bound = solution.bound
    if bound is not None:
        bound = max(bound, value) if program.sense == Sense.MAXIMIZE else min(bound, value)
    stats = dict(solution.stats)
    stats["warm_start_returned"] = 1.0
    if bound is not None:
        stats["mip_gap"] = abs(bound - value) / max(abs(value), 1e-10)
    message = (solution.message + "; " if solution.message else "") + "returned the warm start (no better point)"
    return replace(solution, x=x, objective=value, bound=bound, message=message, stats=stats)


def no_time_solution(program: LinearProgram, backend: str, t0: float, warm_start: np.ndarray | None,
                     what: str) -> BackendSolution:
    """TIME_LIMIT before the solver could start (``what`` took the budget); the warm start if it is feasible."""
    return unstarted_solution(program, backend, t0, warm_start,
                              f"time limit reached while {what}; the solver was not started")


def unstarted_solution(program: LinearProgram, backend: str, t0: float, warm_start: np.ndarray | None,
                       message: str) -> BackendSolution:
    """TIME_LIMIT with ``message``, the solver never started; the warm start if it is feasible."""
    solution = BackendSolution(Termination.TIME_LIMIT, None, None, None, time.perf_counter() - t0, backend, message)
    solution = prefer_warm_start(solution, program, warm_start)
    return replace(solution, seconds=time.perf_counter() - t0)
