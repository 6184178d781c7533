"""HiGHS backend through ``highspy`` (the matrix is passed in one bulk ``passModel`` call).

Notes
-----
The program ``min/max c^T x + c_0  s.t.  r_lo <= A x <= r_up, l <= x <= u, x_I integer`` maps one to one onto
HiGHS' own model, so the adapter hands over the CSC arrays of ``A`` plus the bound and cost vectors without
any per-element Python. Native model statuses are translated by :data:`STATUS_MAP`; whether a point is
returned depends only on ``info.primal_solution_status`` (feasible), never on the status word alone.

HiGHS gets what is left of ``time_limit_s`` after the model hand-over; when it stops at the limit with no
point better than a feasible warm start, the warm start is returned. HiGHS checks its limit only now and then
(it ran 9 s past a 5 s limit on a 200,000-pair p-median), so a large program under a time limit is solved in a
child process that is killed at the deadline (:mod:`siting.backends._child`).

``kUnboundedOrInfeasible`` is disambiguated by re-solving the same constraints with a zero objective:
a feasibility problem is bounded, so it answers "infeasible" or "feasible" (hence unbounded).

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.program import LinearProgram, Sense
>>> from siting.options import SolveOptions
>>> lp = LinearProgram(Sense.MAXIMIZE, np.array([1.0, 1.0]), sp.csr_matrix([[1.0, 2.0]]),
...                    np.array([-np.inf]), np.array([4.0]), np.zeros(2), np.array([2.0, 5.0]),
...                    np.zeros(2, dtype=bool))
>>> sol = HighsBackend().solve(lp, SolveOptions())
>>> round(sol.objective, 6)
3.0
"""
from __future__ import annotations

import importlib.util
import math
import threading
import time
from dataclasses import replace
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from ..errors import SolverError
from ..interrupt import any_set, stop_events
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ._child import solve_in_child, wants_child, without_child_flag
from ._common import checked_warm_start, no_time_solution, prefer_warm_start, remaining_s
from ._quiet import stdout_to_stderr
from .base import BackendSolution, Termination

__all__ = ["HighsBackend", "STATUS_MAP"]

#: HiGHS model status name -> Termination. ``kUnboundedOrInfeasible`` is resolved separately (see module notes).
STATUS_MAP: dict[str, Termination] = {
    "kOptimal": Termination.OPTIMAL,
    "kInfeasible": Termination.INFEASIBLE,
    "kUnbounded": Termination.UNBOUNDED,
    "kTimeLimit": Termination.TIME_LIMIT,
    "kIterationLimit": Termination.ITERATION_LIMIT,
    "kSolutionLimit": Termination.ITERATION_LIMIT,
    "kObjectiveBound": Termination.ITERATION_LIMIT,
    "kObjectiveTarget": Termination.ITERATION_LIMIT,
    "kModelEmpty": Termination.OPTIMAL,  # no columns: the empty point is optimal (checked below)
    "kInterrupt": Termination.ERROR,
    "kHighsInterrupt": Termination.ERROR,
    "kMemoryLimit": Termination.ERROR,
    "kNotset": Termination.ERROR,
    "kLoadError": Termination.ERROR,
    "kModelError": Termination.ERROR,
    "kPresolveError": Termination.ERROR,
    "kSolveError": Termination.ERROR,
    "kPostsolveError": Termination.ERROR,
    "kUnknown": Termination.ERROR,
}

_FEASIBLE = 2  # SolutionStatus.kSolutionStatusFeasible

# HiGHS keeps one global task scheduler per process, sized by the first run's ``threads``; a later run that asks
# for a different count fails with model status kNotset unless the scheduler is reset first.
_last_threads: list[int | None] = [None]


@lru_cache(maxsize=1)
def _has_highspy() -> bool:
    return importlib.util.find_spec("highspy") is not None


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _interrupt_on(h: Any, events: tuple[threading.Event, ...]) -> None:
    """Make HiGHS ``h`` stop at its next interrupt check once one of ``events`` is set (:mod:`siting.interrupt`).

    The events are read here, not in the callback: HiGHS may call it from its own threads, outside the
    caller's context. Only solves within a :func:`~siting.interrupt.stopping` block get the callback (it costs a call
    into Python at each check).
    """
    def check(event: Any) -> None:
        if any_set(events):
            event.interrupt()

    h.cbSimplexInterrupt += check
    h.cbIpmInterrupt += check
    h.cbMipInterrupt += check


class HighsBackend:
    """Solve a :class:`LinearProgram` with HiGHS (``highspy``).

    Options: ``time_limit_s`` -> ``time_limit``, ``mip_gap`` -> ``mip_rel_gap``, ``threads``, ``seed`` ->
    ``random_seed``, ``verbose`` -> ``output_flag``; ``backend_options["highs"]`` is passed to
    ``setOptionValue`` last, so it wins.
    """

    name: ClassVar[str] = "highs"

    def available(self) -> bool:
        """True when ``highspy`` can be imported (cached)."""
        return _has_highspy()

    # ------------------------------------------------------------------ build
    @staticmethod
    def _pass_model(h: Any, program: LinearProgram, objective: np.ndarray) -> None:
        import highspy

        A = program.constraints.tocsc()
        A.sort_indices()
        n, m = program.n_cols, program.n_rows
        sense = highspy.ObjSense.kMaximize if program.sense == Sense.MAXIMIZE else highspy.ObjSense.kMinimize
        status = h.passModel(
            n,
            m,
            int(A.nnz),
            int(highspy.MatrixFormat.kColwise),
            int(sense),
            float(program.objective_offset),
            np.ascontiguousarray(objective, dtype=np.float64),
            np.ascontiguousarray(program.col_lower, dtype=np.float64),
            np.ascontiguousarray(program.col_upper, dtype=np.float64),
            np.ascontiguousarray(program.row_lower, dtype=np.float64),
            np.ascontiguousarray(program.row_upper, dtype=np.float64),
            A.indptr.astype(np.int32),
            A.indices.astype(np.int32),
            A.data.astype(np.float64),
            program.integrality.astype(np.int32),  # 0 continuous, 1 integer (HighsVarType)
        )
        if status == highspy.HighsStatus.kError:
            raise SolverError(f"{program.name}: HiGHS rejected the model (passModel returned kError)")

    @staticmethod
    def _set_options(h: Any, options: SolveOptions, time_limit_s: float | None) -> None:
        h.setOptionValue("output_flag", bool(options.verbose))
        if time_limit_s is not None:
            h.setOptionValue("time_limit", float(max(time_limit_s, 0.0)))
        h.setOptionValue("mip_rel_gap", float(options.mip_gap))
        h.setOptionValue("random_seed", int(options.seed))
        if options.threads is not None:
            h.setOptionValue("threads", int(options.threads))
        for key, value in options.for_backend("highs").items():
            status = h.setOptionValue(str(key), value)
            if str(status).endswith("kError"):
                raise SolverError(f"HiGHS option {key!r}={value!r} was rejected")

    # ------------------------------------------------------------------ solve
    def solve(
        self,
        program: LinearProgram,
        options: SolveOptions,
        *,
        warm_start: np.ndarray | None = None,
    ) -> BackendSolution:
        """Solve ``program`` with HiGHS and map its native status to :class:`Termination`.

        Parameters
        ----------
        program : LinearProgram
            The program to solve (checked first).
        options : SolveOptions
            Common options; ``backend_options["highs"]`` go to ``setOptionValue`` last.
        warm_start : numpy.ndarray, optional
            A point of the program's width; handed to HiGHS as a start, and returned
            (TIME_LIMIT) when HiGHS stops at a limit with nothing better.

        Returns
        -------
        BackendSolution
            The answer in the program's own column space.
        """
        program.check()
        t0 = time.perf_counter()
        try:
            import highspy
        except ImportError as exc:  # pragma: no cover - registry checks availability first
            from ..errors import BackendUnavailableError

            raise BackendUnavailableError(f"highs: cannot import highspy ({exc})") from exc

        if wants_child(program, options, self.name):
            return solve_in_child(self.name, program, options, checked_warm_start(program, warm_start), t0)
        options = without_child_flag(options, self.name)
        threads = options.for_backend("highs").get("threads", options.threads)
        if threads != _last_threads[0]:
            highspy.Highs.resetGlobalScheduler(True)
            _last_threads[0] = threads
        start = checked_warm_start(program, warm_start)
        tb = time.perf_counter()
        h = highspy.Highs()
        self._set_options(h, options, options.time_limit_s)
        self._pass_model(h, program, program.objective)
        if start is not None and program.n_cols:
            h.setSolution(int(program.n_cols), np.arange(program.n_cols, dtype=np.int32), start)
        t_build = time.perf_counter() - tb
        time_left = remaining_s(options.time_limit_s, t0)
        if time_left is not None:
            if time_left <= 0.0:
                return no_time_solution(program, self.name, t0, start, "handing the model to HiGHS")
            h.setOptionValue("time_limit", float(time_left))

        events = stop_events()
        if events:
            _interrupt_on(h, events)
        # HiGHS 1.12 prints a debug line to stdout during MIPs whatever output_flag says (see _quiet)
        with stdout_to_stderr(not options.verbose):
            h.run()
        model_status = h.getModelStatus()
        status_name = model_status.name
        info = h.getInfo()
        is_mip = bool(program.integrality.any())

        termination = STATUS_MAP.get(status_name, Termination.ERROR)
        message = h.modelStatusToString(model_status)
        if status_name == "kInterrupt" and any_set(events):
            termination, message = Termination.TIME_LIMIT, "HiGHS was stopped by its caller"
        if status_name == "kUnboundedOrInfeasible":
            termination, message = self._disambiguate(program, options, t0)

        x = None
        objective = None
        if info.primal_solution_status == _FEASIBLE and termination not in (
            Termination.INFEASIBLE,
            Termination.UNBOUNDED,
            Termination.ERROR,
        ):
            x = np.asarray(h.getSolution().col_value, dtype=np.float64)
            objective = float(info.objective_function_value)
        elif status_name == "kModelEmpty":
            x = np.zeros(0)
            objective = float(program.objective_offset)
            if program.max_violation(x) > 1e-9:  # rows with no columns whose bounds exclude 0
                termination, x, objective = Termination.INFEASIBLE, None, None

        bound: float | None = None
        if is_mip:
            if termination in (Termination.OPTIMAL, Termination.TIME_LIMIT, Termination.ITERATION_LIMIT):
                bound = _finite_or_none(info.mip_dual_bound)
        elif termination == Termination.OPTIMAL and objective is not None:
            bound = objective

        seconds = time.perf_counter() - t0
        stats: dict[str, float] = {"build_s": t_build, "solve_s": seconds - (tb - t0) - t_build}
        if is_mip:
            stats["mip_nodes"] = float(info.mip_node_count)
            if math.isfinite(info.mip_gap):
                stats["mip_gap"] = float(info.mip_gap)
        stats["simplex_iterations"] = float(info.simplex_iteration_count)
        row_dual = None
        if not is_mip and termination == Termination.OPTIMAL:
            if status_name == "kModelEmpty":
                row_dual = np.zeros(program.n_rows)      # no columns: any multipliers, none needed
            elif info.dual_solution_status == _FEASIBLE:
                row_dual = np.asarray(h.getSolution().row_dual, dtype=np.float64)
        solution = BackendSolution(termination, x, objective, bound, seconds, self.name, message, stats, row_dual)
        return replace(prefer_warm_start(solution, program, start), seconds=time.perf_counter() - t0)

    def _disambiguate(self, program: LinearProgram, options: SolveOptions, t0: float) -> tuple[Termination, str]:
        """Tell infeasible from unbounded by solving the zero-objective feasibility problem."""
        import highspy

        h = highspy.Highs()
        left = None
        if options.time_limit_s is not None:
            left = options.time_limit_s - (time.perf_counter() - t0)
            if left <= 0:
                return Termination.ERROR, "infeasible or unbounded (no time left to tell which)"
        self._set_options(h, options, left)
        self._pass_model(h, program, np.zeros(program.n_cols))
        with stdout_to_stderr(not options.verbose):
            h.run()
        name = h.getModelStatus().name
        if name == "kInfeasible":
            return Termination.INFEASIBLE, "Infeasible (after an infeasible-or-unbounded answer)"
        if name in ("kOptimal", "kModelEmpty"):
            return Termination.UNBOUNDED, "Unbounded (feasible, and the objective was unbounded or infeasible)"
        if name == "kTimeLimit":
            return Termination.TIME_LIMIT, "infeasible or unbounded; time limit before telling which"
        return Termination.ERROR, f"infeasible or unbounded; feasibility check ended with {name}"
