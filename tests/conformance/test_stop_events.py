"""A caller's stop event (:func:`siting.interrupt.stopping`, a serve job's cancel) stops every backend at once.

In place where the engine can be interrupted (HiGHS through its interrupt callbacks, CP-SAT through MathOpt's
interrupter), in a child process that is killed otherwise (scipy's ``milp``, OR-Tools' HiGHS, CBC and SCIP),
and CBC's own process by ctrl-c. The program is a random coverage MIP small enough to be solved in place
(7,800 columns + non-zeros) that no engine proves within the 20-s limit.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import scipy.sparse as sp

from siting.backends import Termination, available_backends, get_backend, stopping
from siting.options import SolveOptions
from siting.program import LinearProgram, Sense

LIMIT_S = 20.0
#: back this long after the event at most (a child's start-up is about 1 s, CBC gets 0.2 s to write its answer)
PROMPT_S = 3.0

CONFIGS: list[tuple[str, dict]] = [(name, {}) for name in available_backends()]
if "ortools" in available_backends():
    CONFIGS += [("ortools", {"ortools": {"solver": engine}}) for engine in ("highs", "cbc", "cp_sat")]
CONFIG_IDS = [name + "".join(f"-{v}" for o in opts.values() for v in o.values()) for name, opts in CONFIGS]


def hard_coverage(n_demand: int = 1500, n_sites: int = 150, seed: int = 0) -> LinearProgram:
    """max w.z  s.t.  z_i <= sum_j a_ij x_j,  sum_j x_j <= n_sites / 10, all binary (random sparse a)."""
    rng = np.random.default_rng(seed)
    a = sp.random(n_demand, n_sites, density=0.02, random_state=seed + 1, format="csr")
    a.data[:] = 1.0
    rows = sp.vstack([sp.hstack([-a, sp.identity(n_demand)]),
                      sp.hstack([sp.csr_matrix(np.ones((1, n_sites))), sp.csr_matrix((1, n_demand))])]).tocsr()
    n = n_sites + n_demand
    return LinearProgram(Sense.MAXIMIZE, np.concatenate([np.zeros(n_sites), rng.random(n_demand)]), rows,
                         np.full(n_demand + 1, -np.inf), np.concatenate([np.zeros(n_demand), [n_sites // 10]]),
                         np.zeros(n), np.ones(n), np.ones(n, bool), name="hard-coverage")


@pytest.mark.parametrize(("name", "backend_options"), CONFIGS, ids=CONFIG_IDS)
def test_a_set_stop_event_stops_every_backend_at_once(name, backend_options):
    program = hard_coverage()
    stop = threading.Event()
    stop.set()
    t0 = time.perf_counter()
    with stopping(stop):
        got = get_backend(name).solve(program, SolveOptions(time_limit_s=LIMIT_S, backend_options=backend_options))
    assert time.perf_counter() - t0 < PROMPT_S
    assert got.termination is Termination.TIME_LIMIT
    assert "caller" in got.message
    if got.x is not None:
        assert program.max_violation(got.x, relative=True) <= 1e-6


@pytest.mark.parametrize(("name", "backend_options"), [c for c in CONFIGS if c[0] in ("highs", "cbc")]
                         + [c for c in CONFIGS if c[1].get("ortools", {}).get("solver") == "cp_sat"])
def test_an_event_set_during_the_solve_stops_it(name, backend_options):
    program = hard_coverage()
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    t0 = time.perf_counter()
    timer.start()
    try:
        with stopping(stop):
            got = get_backend(name).solve(program, SolveOptions(time_limit_s=LIMIT_S,
                                                                backend_options=backend_options))
    finally:
        timer.cancel()
    assert 1.0 <= time.perf_counter() - t0 < 1.0 + PROMPT_S      # it was still solving when the event came
    assert got.termination is Termination.TIME_LIMIT and "caller" in got.message


def test_highs_watches_only_within_a_stopping_block(monkeypatch):
    """The interrupt callback costs a call into Python per simplex iteration: only solves that may be stopped pay."""
    from siting.backends import highs

    watched = []
    monkeypatch.setattr(highs, "_interrupt_on", lambda h, events: watched.append(events))
    program = hard_coverage(200, 20)
    options = SolveOptions(time_limit_s=5.0)
    get_backend("highs").solve(program, options)
    assert watched == []
    stop = threading.Event()
    with stopping(stop):
        got = get_backend("highs").solve(program, options)
    assert watched == [(stop,)] and got.termination is Termination.OPTIMAL
