"""Native library output that ignores the solver's own switches goes to stderr, not stdout.

HiGHS 1.12 (the version pinned beside OR-Tools, see ``pyproject.toml``; scipy and OR-Tools bundle the same
release) prints a leftover debug line, ``HighsMipSolverData::transformNewIntegerFeasibleSolution
tmpSolver.run();``, with C ``printf`` whenever a MIP sub-solver finds a plan, whatever ``output_flag`` says. It
lands in the middle of the tables ``siting`` prints and in whatever a script reads from our stdout. While a
quiet HiGHS solve runs (the ``highs`` backend, ``scipy``'s ``milp`` and OR-Tools' ``highs`` engine), file
descriptor 1 points at descriptor 2, so such lines still reach the terminal (stderr) but never stdout. C stdio
is flushed on the way in (what was printed before goes to stdout) and on the way out (what was printed inside
goes to stderr).

The redirection is process-wide (a descriptor is): solves in several threads share one redirection, counted.
Whatever else writes to descriptor 1 meanwhile goes to stderr too: Python's ``print`` in another thread,
``siting serve``'s access log (uvicorn writes it to stdout) while its worker solves, a concurrent verbose solve's
log, a child process started by another thread. Nothing is lost; it only changes stream. Where descriptor 1 or
2 is not a valid file (no console) nothing is redirected.

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


def _c_library() -> ctypes.CDLL | None:
    """The C runtime whose stdio buffers native code writes into (None where it cannot be found)."""
    for name in ("ucrtbase", "msvcrt") if sys.platform == "win32" else (None,):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def _flush_c_stdio() -> None:
    """Write out what C's stdio buffers hold (a pipe's stdout is fully buffered) to where descriptor 1 is now."""
    libc = _c_library()
    if libc is None:
        return
    try:
        libc.fflush(None)
    except (AttributeError, OSError):
        pass


def _flush_python() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass


def _redirect() -> int | None:
    """Point descriptor 1 at 2; the saved descriptor 1 (None when it could not be done)."""
    _flush_python()
    _flush_c_stdio()          # what was printed before the block belongs on stdout
    try:
        saved = os.dup(1)
    except OSError:
        return None
    try:
        os.dup2(2, 1)
    except OSError:
        os.close(saved)
        return None
    return saved


def _restore(saved: int) -> None:
    _flush_c_stdio()          # what was printed inside the block belongs on stderr
    _flush_python()
    try:
        os.dup2(saved, 1)
    finally:
        os.close(saved)


@contextmanager
def stdout_to_stderr(enabled: bool = True) -> Iterator[None]:
    """Within the block, everything written to descriptor 1 goes to descriptor 2 (module notes)."""
    if not enabled:
        yield
        return
    entered = False
    try:
        with _lock:
            if _depth[0] == 0:
                _saved[0] = _redirect()
            _depth[0] += 1
            entered = True
        yield
    finally:
        # a Ctrl-C anywhere above still leaves with stdout back once the last block is out
        if entered:
            with _lock:
                _depth[0] -= 1
                if _depth[0] == 0 and _saved[0] is not None:
                    saved, _saved[0] = _saved[0], None
                    _restore(saved)
