"""Native output that ignores the solver's switches (HiGHS 1.12's debug printf) goes to stderr, never stdout."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import scipy.sparse as sp

from siting.backends import _quiet, highs
from siting.options import SolveOptions
from siting.program import LinearProgram, Sense

_SCRIPT = """
import ctypes, os
from siting.backends._quiet import stdout_to_stderr
print("before", flush=True)
with stdout_to_stderr():
    ctypes.CDLL(None).printf(b"native text, no newline")
    os.write(1, b"descriptor line\\n")
print("after", flush=True)
"""


def test_c_printf_and_descriptor_writes_in_the_block_go_to_stderr() -> None:
    # a child with stdout a pipe and C stdio buffered as usual (PYTHONUNBUFFERED would hide a missing flush)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, timeout=60,
                          check=True)
    assert "native text" in done.stderr and "descriptor line" in done.stderr
    assert "native text" not in done.stdout and "descriptor line" not in done.stdout
    assert done.stdout.split() == ["before", "after"]


def test_disabled_block_leaves_stdout_alone(capfd: pytest.CaptureFixture[str]) -> None:
    with _quiet.stdout_to_stderr(False):
        os.write(1, b"verbose line\n")
    out, err = capfd.readouterr()
    assert "verbose line" in out and "verbose line" not in err


def test_threads_share_one_redirection_and_stdout_comes_back(capfd: pytest.CaptureFixture[str]) -> None:
    inside = threading.Barrier(2)
    leave = threading.Event()

    def solve_like() -> None:
        with _quiet.stdout_to_stderr():
            inside.wait()
            os.write(1, b"thread line\n")
            leave.wait(5)

    threads = [threading.Thread(target=solve_like) for _ in range(2)]
    for t in threads:
        t.start()
    leave.set()
    for t in threads:
        t.join()
    assert _quiet._depth[0] == 0 and _quiet._saved[0] is None
    os.write(1, b"back on stdout\n")
    out, err = capfd.readouterr()
    assert err.count("thread line") == 2 and "thread line" not in out
    assert "back on stdout" in out


def test_the_highs_backend_runs_quietly_unless_verbose(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    @contextmanager
    def recording(enabled: bool = True) -> Iterator[None]:
        seen.append(enabled)
        yield

    monkeypatch.setattr(highs, "stdout_to_stderr", recording)
    mip = LinearProgram(Sense.MAXIMIZE, np.array([1.0, 1.0]), sp.csr_matrix([[2.0, 2.0]]), np.array([-np.inf]),
                        np.array([3.0]), np.zeros(2), np.ones(2), np.ones(2, dtype=bool))
    backend = highs.HighsBackend()
    assert backend.solve(mip, SolveOptions()).objective == pytest.approx(1.0)
    backend.solve(mip, SolveOptions(verbose=True))
    assert seen == [True, False]


_BEFORE = """
import ctypes
from siting.backends._quiet import stdout_to_stderr
ctypes.CDLL(None).printf(b"printed before the block")
with stdout_to_stderr():
    pass
print("after", flush=True)
"""


def test_c_output_printed_before_the_block_stays_on_stdout() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    done = subprocess.run([sys.executable, "-c", _BEFORE], capture_output=True, text=True, env=env, timeout=60,
                          check=True)
    assert "printed before the block" in done.stdout and "printed before the block" not in done.stderr


def test_a_failed_redirect_leaks_no_descriptor(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[int] = []
    real_close = os.close

    def no_dup2(fd: int, fd2: int) -> None:
        raise OSError("no descriptor 2")

    # os itself is patched (pytest's capture needs the real dup2 back at once)
    with monkeypatch.context() as patch:
        patch.setattr(_quiet.os, "dup2", no_dup2)
        patch.setattr(_quiet.os, "close", lambda fd: (closed.append(fd), real_close(fd)))
        with _quiet.stdout_to_stderr():
            pass
    assert len(closed) == 1 and _quiet._depth[0] == 0 and _quiet._saved[0] is None


@pytest.mark.parametrize("backend", ["scipy", "ortools"])
def test_scipy_and_ortools_highs_run_quietly_unless_verbose(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from siting.backends import ortools_backend, scipy_milp

    seen: list[bool] = []

    @contextmanager
    def recording(enabled: bool = True) -> Iterator[None]:
        seen.append(enabled)
        yield

    module, name = (scipy_milp, "scipy") if backend == "scipy" else (ortools_backend, "ortools")
    monkeypatch.setattr(module, "stdout_to_stderr", recording)
    mip = LinearProgram(Sense.MAXIMIZE, np.array([1.0, 1.0]), sp.csr_matrix([[2.0, 2.0]]), np.array([-np.inf]),
                        np.array([3.0]), np.zeros(2), np.ones(2), np.ones(2, dtype=bool))
    from siting.backends import get_backend

    extra = {"backend_options": {"ortools": {"solver": "highs"}}} if backend == "ortools" else {}
    assert get_backend(name).solve(mip, SolveOptions(**extra)).objective == pytest.approx(1.0)
    get_backend(name).solve(mip, SolveOptions(verbose=True, **extra))
    assert seen == [True, False]
