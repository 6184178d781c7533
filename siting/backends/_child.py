"""Run a backend's solve in a child process that is killed at a wall-clock deadline.

Some engines cannot be stopped from Python once they run: OR-Tools' CBC ignores its time limit during the root
LP (a 200,000-column p-median ran 636 s past a 1 s limit) and SCIP through MathOpt spends seconds loading and
presolving before it looks at its limit, and rejects MathOpt's interrupter. A child process can always be
stopped, so those engines run in one when a time limit is set; the parent returns TIME_LIMIT (with the warm
start when it is feasible) if the child has not answered by the deadline.

The child is started with ``spawn`` (a fork would copy solver threads of the parent) and receives the
program pickled; its own time limit is what is left of the parent's at the moment it starts.
"""
from __future__ import annotations

import multiprocessing
import time
from dataclasses import replace

import numpy as np

from ..options import SolveOptions
from ..program import LinearProgram
from ._common import deadline_s, no_time_solution, prefer_warm_start
from .base import BackendSolution, Termination

__all__ = ["solve_in_child"]


def _child_main(conn, backend_name: str, program: LinearProgram, options: SolveOptions,
                warm_start: np.ndarray | None, end_epoch_s: float, in_child_key: str) -> None:
    """Child entry: solve with the time left until ``end_epoch_s`` (``time.time()``) and send the answer back."""
    from .registry import get_backend

    left = max(end_epoch_s - time.time(), 0.0)
    backend_options = {k: dict(v) for k, v in options.backend_options.items()}
    backend_options.setdefault(backend_name, {})[in_child_key] = True
    child_options = replace(options, time_limit_s=left, backend_options=backend_options)
    try:
        conn.send(get_backend(backend_name).solve(program, child_options, warm_start=warm_start))
    except Exception as exc:  # the parent reports it; a traceback in a child would be lost
        conn.send(exc)
    finally:
        conn.close()


def solve_in_child(backend_name: str, program: LinearProgram, options: SolveOptions,
                   warm_start: np.ndarray | None, t0: float, in_child_key: str) -> BackendSolution:
    """``get_backend(backend_name).solve`` in a spawned child, stopped at :func:`deadline_s` of ``t0``.

    ``in_child_key`` is set in the child's ``backend_options[backend_name]`` so the backend solves in place there.
    """
    assert options.time_limit_s is not None
    left = float(options.time_limit_s) - (time.perf_counter() - t0)
    if left <= 0.0:
        return no_time_solution(program, backend_name, t0, warm_start, "preparing the solve")
    deadline = deadline_s(options.time_limit_s, t0)
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe(duplex=False)
    child = context.Process(target=_child_main, daemon=True,
                            args=(child_end, backend_name, program, options, warm_start, time.time() + left,
                                  in_child_key))
    child.start()
    child_end.close()
    answer = None
    try:
        if parent_end.poll(max(deadline - time.perf_counter(), 0.0)):
            answer = parent_end.recv()
    except EOFError:  # the child died without an answer (crash, out of memory)
        answer = None
    finally:
        parent_end.close()
        if child.is_alive():
            child.kill()
        child.join(timeout=1.0)
    if isinstance(answer, Exception):
        raise answer
    if answer is None:
        stopped = child.exitcode is None or child.exitcode < 0
        termination = Termination.TIME_LIMIT if stopped or time.perf_counter() >= deadline else Termination.ERROR
        solution = BackendSolution(termination, None, None, None, time.perf_counter() - t0, backend_name,
                                   f"the solver process gave no answer by the deadline (exit {child.exitcode})")
        answer = prefer_warm_start(solution, program, warm_start)
    return replace(answer, seconds=time.perf_counter() - t0)
