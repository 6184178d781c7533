"""Run a backend's solve in a child process that is killed at a wall-clock deadline.

Some engines cannot be stopped from Python once they run: OR-Tools' CBC ignores its time limit during the root
LP (a 200,000-column p-median ran 636 s past a 1 s limit) and SCIP through MathOpt spends seconds loading and
presolving before it looks at its limit, and rejects MathOpt's interrupter. A child process can always be
stopped, so those engines run in one when a time limit is set; the parent returns TIME_LIMIT (with the warm
start when it is feasible) if the child has not answered by the deadline.

The child is a fresh interpreter (``python -m siting.backends._child IN OUT``; not ``multiprocessing``, whose
``spawn`` re-imports the caller's ``__main__`` and whose ``fork`` would copy solver threads of the parent). The
program goes to it as a pickle file; its own time limit is what is left of the parent's when it starts.

A child never outlives the wait for it: an exception in that wait (Ctrl-C in the main thread) kills it before it
propagates, and a thread may name an event (:func:`stopping`) whose setting kills its child at once. Without them
an interrupted city-size multi-service solve left its hull LP's child running and the interpreter waiting for it
(150k plain, Ctrl-C at 115 s: exit 67 s later). The events and their nesting are :mod:`siting.interrupt`'s.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..interrupt import stop_events, stop_requested, stopping, wait_for
from ..options import SolveOptions
from ..program import LinearProgram
from ._common import deadline_s, no_time_solution, prefer_warm_start, unstarted_solution
from .base import BackendSolution, Termination

__all__ = ["solve_in_child", "in_child", "wants_child", "without_child_flag", "stopping", "stop_requested",
           "IN_CHILD_KEY", "CHILD_MIN_ENTRIES"]

#: set in ``backend_options[<backend>]`` of the child's options, so the backend solves in place there
IN_CHILD_KEY = "_in_child"
#: programs with at least this many columns + non-zeros run in a child under a time limit: HiGHS (and scipy's
#: HiGHS) overran a 5 s limit by up to 9 s on 200,000 pairs, and by 6 s a 1 s limit on 1M pairs; smaller
#: programs stay in-process, where a child's start-up (about 1 s) would cost more than any overrun
CHILD_MIN_ENTRIES = 100_000

def in_child(options: SolveOptions, backend_name: str) -> bool:
    """True inside a child started by :func:`solve_in_child` for ``backend_name``."""
    return bool(options.backend_options.get(backend_name, {}).get(IN_CHILD_KEY, False))


def without_child_flag(options: SolveOptions, backend_name: str) -> SolveOptions:
    """``options`` without the in-child marker (backends that validate their option keys must not see it)."""
    mine = options.backend_options.get(backend_name, {})
    if IN_CHILD_KEY not in mine:
        return options
    backend_options = dict(options.backend_options)
    backend_options[backend_name] = {k: v for k, v in mine.items() if k != IN_CHILD_KEY}
    return replace(options, backend_options=backend_options)


def wants_child(program: LinearProgram, options: SolveOptions, backend_name: str,
                min_entries: int = CHILD_MIN_ENTRIES, *, interruptible: bool = True) -> bool:
    """Whether this solve should run in a child: a time limit, a large program, and not already in a child.

    An engine that cannot be ``interruptible`` in place (scipy's ``milp``, OR-Tools' HiGHS and CBC) runs in a
    child whatever its size when its caller watches a stop event (:func:`stopping`): only a process can be
    stopped from outside.
    """
    if options.time_limit_s is None or in_child(options, backend_name):
        return False
    if not interruptible and stop_events():
        return True
    return program.n_cols + program.constraints.nnz >= min_entries


def _child_main(in_path: str, out_path: str) -> None:
    """Child entry: solve with the time left until the parent's end time and pickle the answer (or the error)."""
    from .registry import get_backend

    with open(in_path, "rb") as f:
        backend_name, program, options, warm_start, end_epoch_s, in_child_key = pickle.load(f)
    left = max(end_epoch_s - time.time(), 0.0)
    backend_options = {k: dict(v) for k, v in options.backend_options.items()}
    backend_options.setdefault(backend_name, {})[in_child_key] = True
    child_options = replace(options, time_limit_s=left, backend_options=backend_options)
    try:
        answer: object = get_backend(backend_name).solve(program, child_options, warm_start=warm_start)
    except Exception as exc:  # re-raised by the parent; a traceback in the child would be lost
        answer = exc
    tmp = out_path + ".part"
    with open(tmp, "wb") as f:
        pickle.dump(answer, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, out_path)  # complete or absent: the parent may kill the child at any moment


def solve_in_child(backend_name: str, program: LinearProgram, options: SolveOptions,
                   warm_start: np.ndarray | None, t0: float) -> BackendSolution:
    """``get_backend(backend_name).solve`` in a child interpreter, killed at :func:`deadline_s` of ``t0``."""
    assert options.time_limit_s is not None
    left = float(options.time_limit_s) - (time.perf_counter() - t0)
    if left <= 0.0:
        return no_time_solution(program, backend_name, t0, warm_start, "preparing the solve")
    if stop_requested():           # no process to start only to kill it
        return unstarted_solution(program, backend_name, t0, warm_start,
                                  "the solve was stopped by its caller before its solver process started")
    deadline = deadline_s(options.time_limit_s, t0)
    answer: object = None
    with tempfile.TemporaryDirectory(prefix="siting-child-") as tmp:
        in_path, out_path = Path(tmp) / "in.pickle", Path(tmp) / "out.pickle"
        with open(in_path, "wb") as f:
            pickle.dump((backend_name, program, options, warm_start, time.time() + left, IN_CHILD_KEY), f,
                        protocol=pickle.HIGHEST_PROTOCOL)
        proc = subprocess.Popen([sys.executable, "-m", __name__, str(in_path), str(out_path)],
                                stdin=subprocess.DEVNULL, stdout=None if options.verbose else subprocess.DEVNULL,
                                stderr=None if options.verbose else subprocess.DEVNULL)
        try:
            stopped = _wait(proc, deadline)
        except BaseException:
            proc.kill()             # the caller is gone (Ctrl-C, an error): its child must not run on
            proc.wait()
            raise
        if out_path.is_file() and not stopped:
            with open(out_path, "rb") as f:
                answer = pickle.load(f)
    if isinstance(answer, Exception):
        raise answer
    if not isinstance(answer, BackendSolution):
        killed = proc.returncode is not None and proc.returncode < 0
        termination = Termination.TIME_LIMIT if killed or stopped else Termination.ERROR
        why = "was stopped by its caller" if stopped else "gave no answer by the deadline"
        solution = BackendSolution(termination, None, None, None, time.perf_counter() - t0, backend_name,
                                   f"the solver process {why} (exit {proc.returncode})")
        answer = prefer_warm_start(solution, program, warm_start)
    return replace(answer, seconds=time.perf_counter() - t0)


def _wait(proc: subprocess.Popen[bytes], deadline: float) -> bool:
    """Wait for ``proc`` until ``deadline`` (``perf_counter``), killing it then or at :func:`stop_requested`.

    True when a stop event killed it.
    """
    if wait_for(proc, deadline):
        return False
    proc.kill()
    proc.wait()
    return stop_requested()


if __name__ == "__main__":
    _child_main(sys.argv[1], sys.argv[2])
