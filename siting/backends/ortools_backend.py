"""OR-Tools backend: MathOpt (SCIP, HiGHS, CP-SAT) built in bulk, or linear_solver for CBC.

Notes
-----
``backend_options["ortools"]["solver"]`` picks the engine: ``"scip"`` (default), ``"highs"``, ``"cp_sat"`` or
``"cbc"``. Engine parameters go by their own names in ``scip_params`` / ``cp_sat_params`` tables
(:mod:`siting.backends.ortools_params`).

* scip / highs / cp_sat go through MathOpt. The model is filled through MathOpt's *Elemental* store with numpy
  arrays (``add_elements`` / ``set_attrs`` for bounds, costs, integrality and the ``(row, col) -> a_ij`` matrix),
  exported once as a ``ModelProto`` and handed to ``math_opt.core.python.solver.solve``. The answer is read from
  the ``SolveResultProto``: termination reason + limit (why it stopped) apart from the primal solution's
  feasibility status (whether a point exists), plus the dual bound. MathOpt's solve parameters carry the common
  options (time limit, relative gap, threads, random seed).
* cp_sat is refused (SolverError) when a column is continuous: MathOpt's CP-SAT was measured to round them and
  still report OPTIMAL.
* Time limits: the engine gets what is left after the model build, less an estimate of its own loading time;
  the engines overrun their limits by seconds (cbc by minutes: its root LP ignores the limit) and cannot all be
  interrupted in-process, so with a limit they run in a child process killed at ``1.1 * limit + 0.6 s``
  (:mod:`siting.backends._child`). A feasible warm start is returned when
  the engine stops at a limit with nothing better.
* cbc has no MathOpt interface: the program goes through the bulk MPS writer, OR-Tools' C++ MPS reader, and
  ``pywraplp`` (``LoadModelFromProto``); values come back in one ``MPSolutionResponse``.

Termination map (MathOpt): OPTIMAL -> OPTIMAL; INFEASIBLE -> INFEASIBLE; UNBOUNDED -> UNBOUNDED;
INFEASIBLE_OR_UNBOUNDED -> resolved by a zero-objective feasibility solve; FEASIBLE / NO_SOLUTION_FOUND ->
TIME_LIMIT for ``LIMIT_TIME``, ITERATION_LIMIT for iteration/node/solution limits; ``LIMIT_UNDETERMINED``
(CP-SAT) -> TIME_LIMIT if >= 90% of the time limit was spent, else ITERATION_LIMIT; other limits -> ERROR;
IMPRECISE / NUMERICAL_ERROR / OTHER_ERROR -> ERROR. For cbc (``MPSolverResponseStatus``) FEASIBLE / NOT_SOLVED do
not say which limit stopped the search, so they become TIME_LIMIT when at least 90% of the time limit was spent,
ITERATION_LIMIT otherwise; a point is kept only if ``max_violation(relative=True) <= 1e-6``.

Example
-------
>>> OrtoolsBackend().name
'ortools'
"""
from __future__ import annotations

import datetime
import importlib.util
import math
import threading
import time
from contextlib import nullcontext
from dataclasses import replace
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from ..errors import SolverError
from ..interrupt import on_stop, stop_events, stop_requested
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ._child import IN_CHILD_KEY, solve_in_child, wants_child
from ._common import (
    checked_warm_start,
    deadline_s,
    no_time_solution,
    prefer_warm_start,
    remaining_s,
    solver_limit_s,
)
from ._quiet import stdout_to_stderr
from .base import BackendSolution, Termination
from .ortools_params import gscip_parameters, sat_parameters

__all__ = ["OrtoolsBackend", "SOLVERS", "REASON_MAP", "build_mathopt_model"]

SOLVERS = ("scip", "highs", "cp_sat", "cbc")
#: seconds per column an engine spends loading the model outside its time limit (measured, loaded 2-core machine)
_LOAD_S_PER_COL = {"scip": 8e-6, "highs": 3e-6, "cp_sat": 5e-6, "cbc": 5e-6}
_MIN_RUN_S = 0.05
#: engines that overrun their limits by seconds in-process (measured on 200,000 pairs with a 1 s limit: scip 5.5 s,
#: highs 3.7 s, cbc 636 s); with a time limit they run in a child process that is killed at the deadline
_RUN_IN_CHILD = ("scip", "highs", "cp_sat", "cbc")
#: the engines MathOpt's interrupter stops in place at once (a caller's stop event, siting.interrupt); the others
#: run in a child under a stop event (a 1,500 x 150 coverage MIP with the event set before the solve: cp_sat 0.1 s;
#: scip 3.5-3.9 s and two error lines from its event handler; highs and cbc ran on to their 20 s limit)
_INTERRUPTIBLE = ("cp_sat",)
#: ... but only programs of at least this many columns + non-zeros: a child's start-up costs about 1 s, and below
#: this size the engines overran a 0.2 s limit by at most 0.13 s at 3,600 entries and 0.6 s (cbc) at 29,000
CHILD_MIN_ENTRIES = 20_000
_MATHOPT_TYPES = {"scip": "GSCIP", "highs": "HIGHS", "cp_sat": "CP_SAT"}

#: MathOpt TerminationReasonProto name -> Termination (FEASIBLE / NO_SOLUTION_FOUND are refined by the limit)
REASON_MAP: dict[str, Termination] = {
    "TERMINATION_REASON_OPTIMAL": Termination.OPTIMAL,
    "TERMINATION_REASON_INFEASIBLE": Termination.INFEASIBLE,
    "TERMINATION_REASON_UNBOUNDED": Termination.UNBOUNDED,
    "TERMINATION_REASON_FEASIBLE": Termination.ITERATION_LIMIT,
    "TERMINATION_REASON_NO_SOLUTION_FOUND": Termination.ITERATION_LIMIT,
    "TERMINATION_REASON_IMPRECISE": Termination.ERROR,
    "TERMINATION_REASON_NUMERICAL_ERROR": Termination.ERROR,
    "TERMINATION_REASON_OTHER_ERROR": Termination.ERROR,
}
_LIMIT_MAP: dict[str, Termination] = {
    "LIMIT_TIME": Termination.TIME_LIMIT,
    "LIMIT_ITERATION": Termination.ITERATION_LIMIT,
    "LIMIT_NODE": Termination.ITERATION_LIMIT,
    "LIMIT_SOLUTION": Termination.ITERATION_LIMIT,
    "LIMIT_SLOW_PROGRESS": Termination.ITERATION_LIMIT,
}
#: linear_solver MPSolverResponseStatus name -> Termination (FEASIBLE / NOT_SOLVED need the elapsed time)
MP_STATUS_MAP: dict[str, Termination] = {
    "MPSOLVER_OPTIMAL": Termination.OPTIMAL,
    "MPSOLVER_INFEASIBLE": Termination.INFEASIBLE,
    "MPSOLVER_UNBOUNDED": Termination.UNBOUNDED,
    "MPSOLVER_FEASIBLE": Termination.ITERATION_LIMIT,
    "MPSOLVER_NOT_SOLVED": Termination.ITERATION_LIMIT,
}


@lru_cache(maxsize=1)
def _has_ortools() -> bool:
    return importlib.util.find_spec("ortools") is not None


def build_mathopt_model(program: LinearProgram, objective: np.ndarray | None = None) -> Any:
    """A MathOpt ``ModelProto`` of ``program`` (and its variable ids), its repeated fields filled from numpy.

    Notes
    -----
    Filling the proto's repeated fields directly took 0.45 s for a 200,000-pair p-median and 3 s for 1M pairs;
    MathOpt's Elemental store (``set_attrs``) took 2.5 s and 27 s, past any time limit it was meant for.
    Matrix entries go in row-major order (CSR with sorted indices), as MathOpt requires.
    """
    from ortools.math_opt import model_pb2

    n, m = program.n_cols, program.n_rows
    c = np.asarray(program.objective if objective is None else objective, dtype=np.float64)
    proto = model_pb2.ModelProto(name=program.name)
    var = proto.variables
    var.ids.extend(range(n))
    var.lower_bounds.extend(np.asarray(program.col_lower, np.float64).tolist())
    var.upper_bounds.extend(np.asarray(program.col_upper, np.float64).tolist())
    var.integers.extend(np.asarray(program.integrality, bool).tolist())
    nz = np.flatnonzero(c)
    proto.objective.maximize = program.sense == Sense.MAXIMIZE
    proto.objective.offset = float(program.objective_offset)
    proto.objective.linear_coefficients.ids.extend(nz.tolist())
    proto.objective.linear_coefficients.values.extend(c[nz].tolist())
    rows = proto.linear_constraints
    rows.ids.extend(range(m))
    rows.lower_bounds.extend(np.asarray(program.row_lower, np.float64).tolist())
    rows.upper_bounds.extend(np.asarray(program.row_upper, np.float64).tolist())
    A = program.constraints.tocsr(copy=True)
    A.sum_duplicates()
    A.eliminate_zeros()
    A.sort_indices()
    matrix = proto.linear_constraint_matrix
    matrix.row_ids.extend(np.repeat(np.arange(m), np.diff(A.indptr)).tolist())
    matrix.column_ids.extend(A.indices.tolist())
    matrix.coefficients.extend(A.data.astype(np.float64).tolist())
    return proto, np.arange(n, dtype=np.int64)


class OrtoolsBackend:
    """Solve a :class:`LinearProgram` with OR-Tools (see module notes for the engines and paths)."""

    name: ClassVar[str] = "ortools"
    detects_unbounded: ClassVar[bool] = True

    def available(self) -> bool:
        """True when OR-Tools can be imported (cached)."""
        return _has_ortools()

    @staticmethod
    def _engine(options: SolveOptions) -> tuple[str, dict[str, Any]]:
        extra = dict(options.for_backend("ortools"))
        engine = str(extra.pop("solver", "scip")).lower()
        if engine not in SOLVERS:
            raise SolverError(f"ortools: unknown solver {engine!r}; choose one of {', '.join(SOLVERS)}")
        return engine, extra

    def solve(
        self,
        program: LinearProgram,
        options: SolveOptions,
        *,
        warm_start: np.ndarray | None = None,
    ) -> BackendSolution:
        """Solve ``program`` with OR-Tools and map its native status to :class:`Termination`.

        Parameters
        ----------
        program : LinearProgram
            The program to solve (checked first).
        options : SolveOptions
            Common options; ``backend_options["ortools"]["solver"]`` picks the engine (see the
            module notes), the other entries go to MathOpt's ``SolveParameters``.
        warm_start : numpy.ndarray, optional
            A point of the program's width; a solution hint for the MathOpt engines, and
            returned (TIME_LIMIT) when the engine stops at a limit with nothing better.

        Returns
        -------
        BackendSolution
            The answer in the program's own column space.
        """
        program.check()
        t0 = time.perf_counter()
        engine, extra = self._engine(options)
        extra.pop(IN_CHILD_KEY, None)
        if engine in _RUN_IN_CHILD and wants_child(program, options, self.name, min_entries=CHILD_MIN_ENTRIES,
                                                   interruptible=engine in _INTERRUPTIBLE):
            return solve_in_child(self.name, program, options, checked_warm_start(program, warm_start), t0)
        if engine == "cbc":
            return self._solve_cbc(program, options, extra, checked_warm_start(program, warm_start))
        if engine == "cp_sat" and not bool(np.all(program.integrality)):
            # measured: MathOpt's CP-SAT rounds continuous columns to integers and still says OPTIMAL
            raise SolverError(
                f"ortools/cp_sat: {program.name} has {int((~program.integrality).sum())} continuous columns; "
                "CP-SAT needs every column integer (use solver 'scip' or 'highs')"
            )
        return self._solve_mathopt(program, options, engine, extra, warm_start)

    # ----------------------------------------------------------------- MathOpt
    @staticmethod
    def _params(options: SolveOptions, time_limit_s: float | None, extra: dict[str, Any], engine: str) -> Any:
        from ortools.math_opt.python import parameters

        kwargs: dict[str, Any] = {
            "enable_output": bool(options.verbose),
            "relative_gap_tolerance": float(options.mip_gap),
            "random_seed": int(options.seed),
        }
        if time_limit_s is not None:
            kwargs["time_limit"] = datetime.timedelta(seconds=max(float(time_limit_s), 0.0))
        if options.threads is not None and engine != "highs":  # MathOpt/HiGHS rejects threads (HiGHS global)
            kwargs["threads"] = int(options.threads)
        scip_params = extra.get("scip_params")
        cp_sat_params = extra.get("cp_sat_params")
        for key, value in extra.items():  # backend-specific wins; {"presolve": "off"} -> Emphasis.OFF
            if key in ("scip_params", "cp_sat_params"):
                continue
            if key in ("presolve", "cuts", "heuristics", "scaling") and isinstance(value, str):
                choices = [e.name.lower() for e in parameters.Emphasis if e.name != "UNSPECIFIED"]
                if value.upper() not in parameters.Emphasis.__members__ or value.upper() == "UNSPECIFIED":
                    raise SolverError(f"ortools: {key} = {value!r}; choose one of {', '.join(choices)}")
                value = parameters.Emphasis[value.upper()]
            kwargs[key] = value
        if scip_params is not None:   # an empty "" or [] is an error too, not ignored
            if engine != "scip":
                raise SolverError(f"ortools: scip_params are for the scip engine, not {engine!r}")
            kwargs["gscip"] = gscip_parameters(scip_params)
        if cp_sat_params is not None:
            if engine != "cp_sat":
                raise SolverError(f"ortools: cp_sat_params are for the cp_sat engine, not {engine!r}")
            kwargs["cp_sat"] = sat_parameters(cp_sat_params)
        try:
            return parameters.SolveParameters(**kwargs).to_proto()
        except (TypeError, KeyError, ValueError) as exc:
            raise SolverError(f"ortools: bad solve parameter in {sorted(extra)}: {exc}") from exc

    @staticmethod
    def _run(model_proto: Any, engine: str, params_proto: Any, model_params_proto: Any,
             deadline: float | None = None) -> Any:
        """MathOpt's solve; at ``deadline`` (``perf_counter``) a timer thread interrupts the solver."""
        from ortools.math_opt import parameters_pb2, rpc_pb2  # noqa: F401  (protos registered for pybind)
        from ortools.math_opt.core.python import solver
        from ortools.math_opt.python import callback, init_arguments
        from ortools.util.python import solve_interrupter

        solver_type = parameters_pb2.SolverTypeProto.Value(f"SOLVER_TYPE_{_MATHOPT_TYPES[engine]}")
        interrupter = timer = None
        if deadline is not None or stop_events():
            # the engines check their time limit only between phases (SCIP ran 5.5 s past a 1 s limit on a
            # 200,000-column p-median); an interrupt is checked more often. A stop event of the caller's
            # (siting.interrupt) interrupts as the deadline does
            interrupter = solve_interrupter.SolveInterrupter()
        if deadline is not None and interrupter is not None:
            timer = threading.Timer(max(deadline - time.perf_counter(), 0.0), interrupter.interrupt)
            timer.daemon = True
            timer.start()
        try:
            # OR-Tools' own HiGHS 1.12 prints the same debug line as highspy's (see _quiet)
            with stdout_to_stderr(engine == "highs" and not params_proto.enable_output), \
                    (on_stop(interrupter.interrupt) if interrupter is not None else nullcontext()):
                return solver.solve(
                    model_proto,
                    solver_type,
                    init_arguments.StreamableSolverInitArguments().to_proto(),
                    params_proto,
                    model_params_proto,
                    None,
                    callback.CallbackRegistration().to_proto(),
                    None,
                    None if interrupter is None else interrupter.pybind_interrupter,
                )
        except Exception as exc:  # StatusNotOk: invalid model/parameters for this engine
            raise SolverError(f"ortools/{engine}: {exc}") from exc
        finally:
            if timer is not None:
                timer.cancel()

    def _solve_mathopt(self, program: LinearProgram, options: SolveOptions, engine: str, extra: dict[str, Any],
                       warm_start: np.ndarray | None) -> BackendSolution:
        t0 = time.perf_counter()
        from ortools.math_opt import model_parameters_pb2, result_pb2, solution_pb2
        from ortools.math_opt.core.python import solver  # noqa: F401  (import outside the build timer)
        from ortools.math_opt.elemental.python import cpp_elemental  # noqa: F401

        start = checked_warm_start(program, warm_start)
        tb = time.perf_counter()
        model_proto, cols = build_mathopt_model(program)
        model_params = model_parameters_pb2.ModelSolveParametersProto()
        if start is not None:
            hint = model_params.solution_hints.add()
            hint.variable_values.ids.extend(cols.tolist())
            hint.variable_values.values.extend(start.tolist())
        t_build = time.perf_counter() - tb
        # the engine copies the model in outside its own time limit (SCIP: ~1.5 s for 200,000 columns)
        overhead = _LOAD_S_PER_COL.get(engine, 5e-6) * program.n_cols
        time_left = solver_limit_s(options.time_limit_s, t0, overhead)
        if time_left is not None and time_left < _MIN_RUN_S:
            return no_time_solution(program, self.name, t0, start, f"building the OR-Tools model for {engine}")
        # SCIP (gSCIP 9.15) rejects MathOpt's interrupter with an event-handler error; it gets only the limit
        deadline = None if engine == "scip" else deadline_s(options.time_limit_s, t0)
        params = self._params(options, time_left, extra, engine)   # its own errors name the parameter already
        try:
            res = self._run(model_proto, engine, params, model_params, deadline)
        except SolverError as exc:
            if extra.get("scip_params"):  # SCIP's message names the call, not the parameter
                raise SolverError(f"{exc} (check the names and types of scip_params "
                                  f"{sorted(extra['scip_params'])})") from exc
            raise

        reason = result_pb2.TerminationReasonProto.Name(res.termination.reason)
        limit = result_pb2.LimitProto.Name(res.termination.limit)
        termination = REASON_MAP.get(reason, Termination.ERROR)
        if reason in ("TERMINATION_REASON_FEASIBLE", "TERMINATION_REASON_NO_SOLUTION_FOUND"):
            termination = _LIMIT_MAP.get(limit, Termination.ERROR)
            if limit in ("LIMIT_UNDETERMINED", "LIMIT_UNSPECIFIED"):  # CP-SAT does not say which limit
                spent = time.perf_counter() - tb - t_build
                timed_out = options.time_limit_s is not None and spent >= 0.9 * options.time_limit_s
                termination = Termination.TIME_LIMIT if timed_out else Termination.ITERATION_LIMIT
        message = f"{engine}: {reason.removeprefix('TERMINATION_REASON_')}"
        if limit == "LIMIT_INTERRUPTED" and (options.time_limit_s is not None or stop_requested()):
            termination = Termination.TIME_LIMIT  # only the deadline timer and a caller's stop event interrupt
            if stop_requested():
                message += " (stopped by its caller)"
        if limit != "LIMIT_UNSPECIFIED":
            message += f" ({limit.removeprefix('LIMIT_')})"
        if res.termination.detail:
            message += f": {res.termination.detail}"
        if reason == "TERMINATION_REASON_INFEASIBLE_OR_UNBOUNDED":
            termination, message = self._disambiguate(program, options, engine, extra, t0)

        x = objective = None
        feasible = solution_pb2.SolutionStatusProto.Value("SOLUTION_STATUS_FEASIBLE")
        if termination not in (Termination.INFEASIBLE, Termination.UNBOUNDED, Termination.ERROR):
            for sol in res.solutions:  # MathOpt lists the best solution first
                if sol.HasField("primal_solution") and sol.primal_solution.feasibility_status == feasible:
                    vv = sol.primal_solution.variable_values
                    x = np.zeros(program.n_cols)
                    x[np.asarray(vv.ids, dtype=np.int64)] = np.asarray(vv.values, dtype=np.float64)
                    objective = float(sol.primal_solution.objective_value)
                    break
        if termination == Termination.OPTIMAL and x is None:
            termination, message = Termination.ERROR, message + " (optimal but no feasible point returned)"

        bound = None
        if termination in (Termination.OPTIMAL, Termination.TIME_LIMIT, Termination.ITERATION_LIMIT):
            dual = float(res.termination.objective_bounds.dual_bound)
            if math.isfinite(dual):
                bound = dual
        seconds = time.perf_counter() - t0
        solve_s = seconds - (tb - t0) - t_build
        stats = {"build_s": t_build, "solve_s": solve_s, "mip_nodes": float(res.solve_stats.node_count)}
        if bound is not None and objective is not None:
            stats["mip_gap"] = abs(bound - objective) / max(abs(objective), 1e-10)
        solution = BackendSolution(termination, x, objective, bound, seconds, self.name, message, stats)
        return replace(prefer_warm_start(solution, program, start), seconds=time.perf_counter() - t0)

    def _disambiguate(self, program: LinearProgram, options: SolveOptions, engine: str, extra: dict[str, Any],
                      t0: float) -> tuple[Termination, str]:
        """Zero-objective feasibility solve: infeasible -> INFEASIBLE, feasible -> UNBOUNDED."""
        from ortools.math_opt import model_parameters_pb2, result_pb2

        left = None
        if options.time_limit_s is not None:
            left = options.time_limit_s - (time.perf_counter() - t0)
            if left <= 0:
                return Termination.ERROR, f"{engine}: infeasible or unbounded (no time left to tell which)"
        proto, _ = build_mathopt_model(program, np.zeros(program.n_cols))
        params = self._params(options, left, extra, engine)
        res = self._run(proto, engine, params, model_parameters_pb2.ModelSolveParametersProto())
        reason = result_pb2.TerminationReasonProto.Name(res.termination.reason)
        if reason == "TERMINATION_REASON_INFEASIBLE":
            return Termination.INFEASIBLE, f"{engine}: infeasible (after an infeasible-or-unbounded answer)"
        if reason in ("TERMINATION_REASON_OPTIMAL", "TERMINATION_REASON_FEASIBLE"):
            return Termination.UNBOUNDED, f"{engine}: unbounded (feasible, and infeasible-or-unbounded before)"
        return Termination.ERROR, f"{engine}: infeasible or unbounded; feasibility check ended with {reason}"

    # ---------------------------------------------------------------- CBC path
    def _solve_cbc(self, program: LinearProgram, options: SolveOptions, extra: dict[str, Any],
                   start: np.ndarray | None) -> BackendSolution:
        # module imports, not ``from ortools.linear_solver import ...``: the typed ``linear_solver.python``
        # subpackage (py.typed) makes mypy see ``ortools.linear_solver`` without these untyped modules
        import ortools.linear_solver.linear_solver_pb2 as linear_solver_pb2
        import ortools.linear_solver.pywraplp as pywraplp
        from ortools.linear_solver.python import model_builder

        from .mps import to_mps

        t0 = time.perf_counter()  # after the imports: build_s is the hand-over only
        mps_program = program
        if program.n_rows == 0:
            # measured: with no rows OR-Tools' CBC ignores integrality; add a fixed dummy column and the row z == 0
            n = program.n_cols
            mps_program = replace(
                program,
                objective=np.append(program.objective, 0.0),
                constraints=sp.csr_matrix(([1.0], ([0], [n])), shape=(1, n + 1)),
                row_lower=np.zeros(1),
                row_upper=np.zeros(1),
                col_lower=np.append(program.col_lower, 0.0),
                col_upper=np.append(program.col_upper, 0.0),
                integrality=np.append(program.integrality, False),
            )
        mb = model_builder.Model()
        if not mb.import_from_mps_string(to_mps(mps_program)):
            raise SolverError(f"ortools/cbc: OR-Tools could not read the MPS of {program.name}")
        proto = mb.export_to_proto()
        solver = pywraplp.Solver.CreateSolver("CBC")
        if solver is None:
            raise SolverError("ortools/cbc: this OR-Tools build has no CBC")
        err = solver.LoadModelFromProto(proto)
        if err:
            raise SolverError(f"ortools/cbc: {err}")
        time_left = remaining_s(options.time_limit_s, t0)
        if time_left is not None:
            if time_left < _MIN_RUN_S:
                return no_time_solution(program, self.name, t0, start, "building the OR-Tools model for cbc")
            solver.SetTimeLimit(max(int(time_left * 1000), 1))
        if options.threads is not None:
            solver.SetNumThreads(int(options.threads))
        if options.verbose:
            solver.EnableOutput()
        if extra.get("solver_specific"):
            solver.SetSolverSpecificParametersAsString(str(extra["solver_specific"]))
        params = pywraplp.MPSolverParameters()
        params.SetDoubleParam(params.RELATIVE_MIP_GAP, float(options.mip_gap))
        t_build = time.perf_counter() - t0
        solver.Solve(params)
        resp = linear_solver_pb2.MPSolutionResponse()
        solver.FillSolutionResponseProto(resp)
        wall = time.perf_counter() - t0
        status = linear_solver_pb2.MPSolverResponseStatus.Name(resp.status)
        termination = MP_STATUS_MAP.get(status, Termination.ERROR)
        if termination == Termination.ITERATION_LIMIT and options.time_limit_s is not None:
            if wall - t_build >= 0.9 * options.time_limit_s:
                termination = Termination.TIME_LIMIT
        sign = -1.0 if program.sense == Sense.MAXIMIZE else 1.0  # the MPS is written as a minimisation
        x = objective = bound = None
        if status in ("MPSOLVER_OPTIMAL", "MPSOLVER_FEASIBLE") and len(resp.variable_value) == mps_program.n_cols:
            x = np.asarray(resp.variable_value, dtype=np.float64)[: program.n_cols]
            if program.max_violation(x, relative=True) > 1e-6:
                x = None
            else:
                objective = program.objective_value(x)
        if termination == Termination.OPTIMAL and x is None:
            termination = Termination.ERROR
        if x is not None and resp.HasField("best_objective_bound"):
            b = float(resp.best_objective_bound)
            if math.isfinite(b):
                bound = sign * b + float(program.objective_offset)
        seconds = time.perf_counter() - t0
        stats = {"build_s": t_build, "solve_s": seconds - t_build}
        solution = BackendSolution(termination, x, objective, bound, seconds, self.name, f"cbc: {status}", stats)
        return replace(prefer_warm_start(solution, program, start), seconds=time.perf_counter() - t0)
