"""Native library output that ignores the solver's own switches goes to stderr, not stdout.

HiGHS 1.12 (the version pinned beside OR-Tools, see ``pyproject.toml``) prints a leftover debug line,
``HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();``, with C ``printf`` whenever a MIP
sub-solver finds a plan, whatever ``output_flag`` says. It lands in the middle of the tables ``siting`` prints
and in whatever a script reads from our stdout. While a quiet solve runs, file descriptor 1 points at
descriptor 2, so such lines still reach the terminal (stderr) but never stdout.

The redirection is process-wide (a descriptor is): solves in several threads share one redirection, counted,
and Python's own ``print`` in another thread meanwhile also goes to stderr. Where descriptor 1 or 2 is not a
valid file (no console) nothing is redirected.

Example
-------
>>> with stdout_to_stderr():
...     pass
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["stdout_to_stderr"]

_lock = threading.Lock()
_depth = [0]
_saved: list[int | None] = [None]


def _flush_c_stdio() -> None:
    """Write out what C's stdio buffers hold (a pipe's stdout is fully buffered) to where descriptor 1 is now."""
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):   # no C library by that name (Windows): nothing buffered to lose
        pass


def _flush_python() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass


@contextmanager
def stdout_to_stderr(enabled: bool = True) -> Iterator[None]:
    """Within the block, everything written to descriptor 1 goes to descriptor 2 (module notes)."""
    if not enabled:
        yield
        return
    with _lock:
        if _depth[0] == 0:
            _flush_python()
            try:
                saved = os.dup(1)
                os.dup2(2, 1)
            except OSError:
                saved = None
            _saved[0] = saved
        _depth[0] += 1
    try:
        yield
    finally:
        with _lock:
            _depth[0] -= 1
            if _depth[0] == 0 and _saved[0] is not None:
                _flush_c_stdio()
                _flush_python()
                os.dup2(_saved[0], 1)
                os.close(_saved[0])
                _saved[0] = None
