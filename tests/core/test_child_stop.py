"""A solver child process never outlives the wait for it (siting.backends._child).

The child is replaced by a process that sleeps, so each test knows it would run for a minute unless killed.
"""
from __future__ import annotations

import _thread
import os
import signal
import subprocess
import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp

from siting.backends import _child, stopping
from siting.interrupt import stop_events
from siting.options import SolveOptions
from siting.program import LinearProgram, Sense
from siting.status import Termination


@pytest.fixture
def sleeping_child(monkeypatch, tmp_path):
    """Make ``solve_in_child`` start a one-minute sleep instead of a solver; yields the processes it started."""
    sleeper = tmp_path / "sleeper"
    sleeper.write_text("#!/bin/sh\nexec sleep 60\n")
    os.chmod(sleeper, 0o755)
    monkeypatch.setattr(_child.sys, "executable", str(sleeper))
    started: list[subprocess.Popen] = []
    real = subprocess.Popen

    def popen(*args, **kwargs):
        proc = real(*args, **kwargs)
        started.append(proc)
        return proc

    monkeypatch.setattr(_child.subprocess, "Popen", popen)
    yield started
    for proc in started:          # never leave a sleeper behind, whatever the test did
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture
def ctrl_c():
    """Python's own Ctrl-C handler for the test: a shell that starts the suite in the background (``make test &``)
    leaves SIGINT ignored, and then ``_thread.interrupt_main`` raises nothing."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def _program() -> LinearProgram:
    return LinearProgram(Sense.MAXIMIZE, np.array([1.0, 2.0]), sp.csr_matrix(np.ones((1, 2))),
                         np.array([-np.inf]), np.array([1.0]), np.zeros(2), np.ones(2), np.zeros(2, bool))


def test_a_set_stop_event_kills_the_child_at_once(sleeping_child):
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    t0 = time.perf_counter()
    with stopping(stop):
        got = _child.solve_in_child("highs", _program(), SolveOptions(time_limit_s=30.0), None, t0)
    took = time.perf_counter() - t0
    assert took < 5.0                                   # not the 30-s limit, not the minute's sleep
    assert got.termination is Termination.TIME_LIMIT and got.x is None
    assert "stopped by its caller" in got.message
    assert len(sleeping_child) == 1 and sleeping_child[0].returncode is not None


def test_an_interrupt_in_the_wait_kills_the_child(sleeping_child, ctrl_c):
    threading.Timer(0.3, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        _child.solve_in_child("highs", _program(), SolveOptions(time_limit_s=30.0), None, time.perf_counter())
    assert len(sleeping_child) == 1
    assert sleeping_child[0].poll() is not None          # dead before the interrupt reached the caller


def test_without_an_event_the_deadline_still_kills_it(sleeping_child):
    t0 = time.perf_counter()
    got = _child.solve_in_child("highs", _program(), SolveOptions(time_limit_s=0.5), None, t0)
    assert time.perf_counter() - t0 < 5.0
    assert got.termination is Termination.TIME_LIMIT and "by the deadline" in got.message
    assert sleeping_child[0].returncode is not None


def test_an_unset_event_changes_nothing():
    # a real child solve under an event nobody sets: the same optimum and duals as without one
    program = _program()
    stop = threading.Event()
    with stopping(stop):
        got = _child.solve_in_child("highs", program, SolveOptions(time_limit_s=60.0), None, time.perf_counter())
    assert got.termination is Termination.OPTIMAL and got.objective == pytest.approx(2.0)
    assert stop_events() == ()


@pytest.mark.parametrize("which", ["outer", "inner"])
def test_nested_events_either_kills_the_child(sleeping_child, which):
    # a serve job's cancel (outer) must reach a solve its search runs under its own event (inner), and the inner
    # event must stop it without the outer one
    outer, inner = threading.Event(), threading.Event()
    threading.Timer(0.3, (outer if which == "outer" else inner).set).start()
    t0 = time.perf_counter()
    with stopping(outer):
        assert not _child.stop_requested()
        with stopping(inner), stopping(None):          # None adds no event
            assert stop_events() == (outer, inner)
            got = _child.solve_in_child("highs", _program(), SolveOptions(time_limit_s=30.0), None, t0)
            assert _child.stop_requested()
        assert stop_events() == (outer,)
    assert time.perf_counter() - t0 < 5.0
    assert got.termination is Termination.TIME_LIMIT and "stopped by its caller" in got.message
    assert sleeping_child[0].returncode is not None


def test_another_thread_inherits_the_events_through_a_copied_context(sleeping_child):
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    outer = threading.Event()
    threading.Timer(0.3, outer.set).start()
    t0 = time.perf_counter()
    with stopping(outer), ThreadPoolExecutor(1) as pool:
        got = pool.submit(contextvars.copy_context().run, _child.solve_in_child, "highs", _program(),
                          SolveOptions(time_limit_s=30.0), None, t0).result()
    assert time.perf_counter() - t0 < 5.0
    assert got.termination is Termination.TIME_LIMIT and "stopped by its caller" in got.message


def test_an_interrupt_while_cbc_runs_kills_it(monkeypatch, tmp_path, ctrl_c):
    from siting.backends import cbc

    started: list[subprocess.Popen] = []
    real = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(cbc.subprocess, "Popen", popen)
    threading.Timer(0.3, _thread.interrupt_main).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            cbc.CbcBackend._run(["sleep", "60"], tmp_path / "cbc.log", time.perf_counter() + 30.0)
        assert len(started) == 1 and started[0].poll() is not None
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_stop_requested_before_the_solve_starts_no_child(monkeypatch):
    def no_process(*args, **kwargs):
        raise AssertionError("a child was started")

    monkeypatch.setattr(_child.subprocess, "Popen", no_process)
    event = threading.Event()
    event.set()
    with stopping(event):
        got = _child.solve_in_child("highs", _program(), SolveOptions(time_limit_s=30.0), None, time.perf_counter())
    assert got.termination is Termination.TIME_LIMIT and "caller" in got.message and got.seconds < 1.0
