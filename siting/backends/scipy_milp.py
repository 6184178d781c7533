"""``scipy.optimize.milp`` backend (scipy's bundled HiGHS, sparse ``LinearConstraint``).

Notes
-----
scipy minimises, so for :attr:`Sense.MAXIMIZE` it is handed ``-c`` and the objective and bound are negated back:
``max c^T x = -min (-c)^T x``. The offset ``c_0`` is added afterwards. ``milp`` exposes only ``time_limit``,
``mip_rel_gap``, ``presolve``, ``node_limit`` and ``disp``; ``threads`` and ``seed`` cannot be passed
(scipy's HiGHS runs single-threaded here).

Time limit: ``milp`` copies the model into HiGHS (a Python loop over the columns) outside its own time limit,
so it is handed the remaining time less an estimate of that copy, and is not started when nothing is left; a
feasible warm start (which ``milp`` itself cannot use) is then the answer, with TIME_LIMIT. ``milp`` also runs
past its own limit (11 s for 5 s on 200,000 pairs), so a large program under a limit is solved in a child process
killed at the deadline (:mod:`siting.backends._child`).

Status codes (``res.status``): 0 optimal, 1 iteration or time limit (told apart by ``res.message``),
2 infeasible, 3 unbounded, 4 other. A point is returned whenever ``res.x`` is not None.

Example
-------
>>> ScipyBackend().name
'scipy'
"""
from __future__ import annotations

import importlib.util
import math
import time
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np

from ..errors import SolverError
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ._child import solve_in_child, wants_child, without_child_flag
from ._common import (
    checked_warm_start,
    empty_program_solution,
    no_time_solution,
    prefer_warm_start,
    solver_limit_s,
)
from ._quiet import stdout_to_stderr
from .base import BackendSolution, Termination

if TYPE_CHECKING:  # scipy.optimize loads only when a solve starts
    from scipy.optimize import LinearConstraint

__all__ = ["ScipyBackend", "STATUS_MAP"]

#: ``res.status`` -> Termination (1 is refined from the message: time limit vs iteration/node limit).
STATUS_MAP: dict[int, Termination] = {
    0: Termination.OPTIMAL,
    1: Termination.ITERATION_LIMIT,
    2: Termination.INFEASIBLE,
    3: Termination.UNBOUNDED,
    4: Termination.ERROR,
}

_SCIPY_S_PER_COL = 6e-6  # milp's set-up and read-back time per column (measured on a loaded 2-core machine)
_MIN_RUN_S = 0.05
_OPTION_KEYS = {"presolve", "node_limit", "disp", "time_limit", "mip_rel_gap"}


@lru_cache(maxsize=1)
def _has_milp() -> bool:
    if importlib.util.find_spec("scipy") is None:
        return False
    from scipy import optimize

    return hasattr(optimize, "milp")


def _milp_options(opts: dict[str, Any]) -> Any:
    """``opts`` typed as ``milp``'s ``options`` argument.

    The keys were checked against ``_OPTION_KEYS``; the values come from user input, so they cannot carry the
    static types of scipy-stubs' ``_OptionsMILP`` (``milp`` checks them).
    """
    return cast(Any, opts)


class ScipyBackend:
    """Solve a :class:`LinearProgram` with ``scipy.optimize.milp``."""

    name: ClassVar[str] = "scipy"
    #: scipy's HiGHS says "unbounded or infeasible" (status 4) for unbounded MIPs; resolved by a feasibility solve
    detects_unbounded: ClassVar[bool] = True

    def available(self) -> bool:
        """True when scipy with ``scipy.optimize.milp`` can be imported (cached)."""
        return _has_milp()

    def solve(
        self,
        program: LinearProgram,
        options: SolveOptions,
        *,
        warm_start: np.ndarray | None = None,  # milp cannot use it; returned when milp stops with nothing better
    ) -> BackendSolution:
        """Solve ``program`` with ``scipy.optimize.milp`` and map its native status to :class:`Termination`.

        Parameters
        ----------
        program : LinearProgram
            The program to solve (checked first).
        options : SolveOptions
            Common options; ``backend_options["scipy"]`` may set only ``milp``'s own options.
        warm_start : numpy.ndarray, optional
            A point of the program's width; ``milp`` cannot use it, so it is returned
            (TIME_LIMIT) when ``milp`` stops at a limit with nothing better.

        Returns
        -------
        BackendSolution
            The answer in the program's own column space.
        """
        program.check()
        t0 = time.perf_counter()
        start = checked_warm_start(program, warm_start)
        if program.n_cols == 0:
            return empty_program_solution(program, self.name, t0)
        from scipy.optimize import Bounds, LinearConstraint, milp

        if wants_child(program, options, self.name, interruptible=False):   # milp has no interrupt
            return solve_in_child(self.name, program, options, start, t0)
        options = without_child_flag(options, self.name)

        sign = -1.0 if program.sense == Sense.MAXIMIZE else 1.0
        c = sign * np.asarray(program.objective, dtype=np.float64)
        constraints = None
        if program.n_rows:
            constraints = LinearConstraint(program.constraints, program.row_lower, program.row_upper)
        opts: dict[str, Any] = {"disp": bool(options.verbose), "mip_rel_gap": float(options.mip_gap)}
        for key, value in options.for_backend("scipy").items():
            if key not in _OPTION_KEYS:
                raise SolverError(f"scipy backend: unknown option {key!r} (known: {', '.join(sorted(_OPTION_KEYS))})")
            opts[key] = value
        t_build = time.perf_counter() - t0
        if options.time_limit_s is not None and "time_limit" not in options.for_backend("scipy"):
            # milp copies the model into HiGHS outside its time limit (a Python loop over the columns for the
            # integrality: 1.2-1.8 s for 200,000 columns with a 0.01 s limit), so its limit leaves room for that
            # within the promised 1.2 * limit + 2 s; with no room left it is not started
            limit = solver_limit_s(options.time_limit_s, t0, _SCIPY_S_PER_COL * program.n_cols)
            if limit < _MIN_RUN_S:
                return no_time_solution(program, self.name, t0, start, "too little time for milp's model copy")
            opts["time_limit"] = float(limit)
        # scipy's bundled HiGHS 1.12 prints the same debug line as highspy's (see _quiet)
        with stdout_to_stderr(not opts.get("disp")):
            res = milp(
                c,
                integrality=program.integrality.astype(np.uint8),
                bounds=Bounds(program.col_lower, program.col_upper),
                constraints=constraints,
                options=_milp_options(opts),
            )
        message = str(res.message)
        termination = STATUS_MAP.get(int(res.status), Termination.ERROR)
        if res.status == 1 and "time" in message.lower():
            termination = Termination.TIME_LIMIT
        if res.status == 4 and "unbounded or infeasible" in message.lower():
            termination, message = self._disambiguate(program, constraints, opts, t0, options.time_limit_s)

        x = None
        objective = None
        if res.x is not None and termination not in (Termination.INFEASIBLE, Termination.UNBOUNDED):
            x = np.asarray(res.x, dtype=np.float64)
            objective = sign * float(res.fun) + float(program.objective_offset)

        bound = None
        is_mip = bool(program.integrality.any())
        dual = getattr(res, "mip_dual_bound", None)
        if is_mip and dual is not None and math.isfinite(float(dual)) and termination in (
            Termination.OPTIMAL,
            Termination.TIME_LIMIT,
            Termination.ITERATION_LIMIT,
        ):
            bound = sign * float(dual) + float(program.objective_offset)
        elif not is_mip and termination == Termination.OPTIMAL:
            bound = objective

        seconds = time.perf_counter() - t0
        stats: dict[str, float] = {"build_s": t_build, "solve_s": seconds - t_build}
        gap = getattr(res, "mip_gap", None)
        if is_mip and gap is not None and math.isfinite(float(gap)):
            stats["mip_gap"] = float(gap)
        nodes = getattr(res, "mip_node_count", None)
        if nodes is not None:
            stats["mip_nodes"] = float(nodes)
        solution = BackendSolution(termination, x, objective, bound, seconds, self.name, message, stats)
        return replace(prefer_warm_start(solution, program, start), seconds=time.perf_counter() - t0)

    @staticmethod
    def _disambiguate(program: LinearProgram, constraints: LinearConstraint | None, opts: dict[str, Any], t0: float,
                      time_limit_s: float | None) -> tuple[Termination, str]:
        """Solve the zero-objective feasibility problem: infeasible -> INFEASIBLE, feasible -> UNBOUNDED."""
        from scipy.optimize import Bounds, milp

        opts = dict(opts)
        if time_limit_s is not None:
            left = time_limit_s - (time.perf_counter() - t0)
            if left <= 0:
                return Termination.ERROR, "infeasible or unbounded (no time left to tell which)"
            opts["time_limit"] = left
        with stdout_to_stderr(not opts.get("disp")):
            res = milp(
                np.zeros(program.n_cols),
                integrality=program.integrality.astype(np.uint8),
                bounds=Bounds(program.col_lower, program.col_upper),
                constraints=constraints,
                options=_milp_options(opts),
            )
        if res.status == 2:
            return Termination.INFEASIBLE, "infeasible (after an infeasible-or-unbounded answer)"
        if res.status == 0:
            return Termination.UNBOUNDED, "unbounded (feasible, and the objective was unbounded or infeasible)"
        if res.status == 1 and "time" in str(res.message).lower():
            return Termination.TIME_LIMIT, "infeasible or unbounded; time limit before telling which"
        return Termination.ERROR, f"infeasible or unbounded; feasibility check said: {res.message}"
