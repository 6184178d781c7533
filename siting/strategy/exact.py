"""One coverage problem as one MIP on a backend (:func:`solve_exact`)."""
from __future__ import annotations

import time

import numpy as np

from ..backends.base import Backend
from ..backends.registry import get_backend
from ..formulations.coverage import build_program, decode_sites, prune_redundant, warm_vector
from ..options import SolveOptions
from ..problem import CoverageOutcome, CoverageProblem
from ..status import Termination


def solve_exact(
    problem: CoverageProblem,
    *,
    backend: str | Backend = "highs",
    options: SolveOptions | None = None,
    warm_start: np.ndarray | None = None,
    prune: bool = True,
) -> CoverageOutcome:
    """Solve ``problem`` as one MIP on ``backend``; the plan is rounded, pruned and re-valued.

    The returned ``objective`` is recomputed from the plan, not copied from the solver (after a time limit a
    solver's ``y`` may under-report coverage). ``prune`` closes sites that cover nothing on their own
    (:func:`siting.formulations.coverage.prune_redundant`).
    """
    started = time.perf_counter()
    options = options or SolveOptions()
    solver = get_backend(backend) if isinstance(backend, str) else backend
    program = build_program(problem)
    warm = None if warm_start is None else warm_vector(problem, warm_start)
    raw = solver.solve(program, options, warm_start=warm)
    mask = None
    value = None
    if raw.x is not None:
        mask = decode_sites(program, raw.x)
        if prune:
            mask = prune_redundant(problem, mask)
        value = problem.value_of(mask)
    bound = raw.bound
    if raw.termination is Termination.OPTIMAL and value is not None and bound is None:
        bound = value
    return CoverageOutcome(
        open_sites=mask, termination=raw.termination, objective=value, bound=bound,
        seconds=time.perf_counter() - started, method=solver.name,
        stats={"program_rows": program.n_rows, "program_cols": program.n_cols,
               "program_nnz": int(program.constraints.nnz), "solver_seconds": raw.seconds,
               "solver_objective": raw.objective, "solver_message": raw.message},
    )
