"""Every catalogue problem on every available backend, plus time-limit and registry checks."""
from __future__ import annotations

import numpy as np
import pytest

from siting.backends import Termination, available_backends, get_backend
from siting.backends.registry import BACKENDS
from siting.errors import BackendUnavailableError, SolverError
from siting.options import SolveOptions
from siting.program import Sense

from .catalogue import CASES, Case, random_max_cover

BACKEND_NAMES = available_backends()
REL = 1e-6

# (backend, backend_options) pairs: every backend once, plus each OR-Tools engine
CONFIGS: list[tuple[str, dict]] = [(name, {}) for name in BACKEND_NAMES]
if "ortools" in BACKEND_NAMES:
    CONFIGS += [("ortools", {"ortools": {"solver": eng}}) for eng in ("highs", "cbc", "cp_sat")]
CONFIG_IDS = [name + "".join(f"-{v}" for o in opts.values() for v in o.values()) for name, opts in CONFIGS]


def _close(a: float, b: float, rel: float = REL) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(b))


def check_bound(case_sense: Sense, objective: float, bound: float | None, tol: float = 1e-6) -> None:
    if bound is None:
        return
    slack = tol * max(1.0, abs(objective))
    if case_sense == Sense.MAXIMIZE:
        assert bound >= objective - slack, (bound, objective)
    else:
        assert bound <= objective + slack, (bound, objective)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_catalogue(config: tuple[str, dict], case: Case) -> None:
    backend_name, backend_options = config
    backend = get_backend(backend_name)
    if case.needs_unbounded and not getattr(backend, "detects_unbounded", True):
        pytest.skip(f"{backend_name} cannot tell unbounded from infeasible")
    options = SolveOptions(mip_gap=1e-9, seed=1, backend_options=backend_options)
    if backend_options.get("ortools", {}).get("solver") == "cp_sat" and not case.program.integrality.all():
        with pytest.raises(SolverError, match="continuous"):  # CP-SAT would silently round them
            backend.solve(case.program, options)
        return
    sol = backend.solve(case.program, options)
    assert sol.backend == backend_name
    assert sol.seconds >= 0.0
    assert sol.termination == case.termination, sol.message
    if case.termination != Termination.OPTIMAL:
        assert sol.x is None
        return
    assert sol.x is not None and sol.objective is not None
    assert sol.x.shape == (case.program.n_cols,)
    assert case.program.max_violation(sol.x) <= 1e-6
    assert _close(sol.objective, case.objective), (sol.objective, case.objective)
    assert _close(case.program.objective_value(sol.x), case.objective)
    check_bound(case.program.sense, sol.objective, sol.bound)
    if sol.bound is not None:  # proven optimal: the bound closes the gap
        assert _close(sol.bound, case.objective, 1e-5), (sol.bound, case.objective)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_time_limit_is_honest(config: tuple[str, dict]) -> None:
    backend_name, backend_options = config
    program = random_max_cover(3000, 300, 0.015, 20, seed=7)
    options = SolveOptions(time_limit_s=0.5, mip_gap=0.0, threads=1, seed=0, backend_options=backend_options)
    sol = get_backend(backend_name).solve(program, options)
    assert sol.termination in (Termination.TIME_LIMIT, Termination.OPTIMAL), sol.message
    assert sol.seconds < 15.0, "time limit ignored"
    if sol.x is not None:
        assert program.max_violation(sol.x) <= 1e-6
        assert _close(sol.objective, program.objective_value(sol.x), 1e-6)
        check_bound(program.sense, sol.objective, sol.bound)
    if sol.termination == Termination.OPTIMAL:  # never claimed optimal with an open gap
        assert sol.x is not None and sol.bound is not None
        assert _close(sol.bound, sol.objective, 1e-6)


@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
def test_warm_start_accepted(backend_name: str) -> None:
    case = next(c for c in CASES if c.name == "max_cover_budget")
    start = np.array([1, 0, 1, 1, 1, 0, 1], dtype=float)  # the optimum
    sol = get_backend(backend_name).solve(case.program, SolveOptions(), warm_start=start)
    assert sol.termination == Termination.OPTIMAL
    assert _close(sol.objective, case.objective)


@pytest.mark.parametrize("backend_name", BACKEND_NAMES)
def test_changing_threads_between_solves(backend_name: str) -> None:
    """HiGHS sizes a process-wide scheduler on first use; a later, different thread count must still solve."""
    case = next(c for c in CASES if c.name == "knapsack")
    backend = get_backend(backend_name)
    for threads in (1, 2, None, 1):
        sol = backend.solve(case.program, SolveOptions(threads=threads))
        assert sol.termination == Termination.OPTIMAL, (threads, sol.message)
        assert _close(sol.objective, case.objective)


def test_registry_lists_and_rejects() -> None:
    names = available_backends()
    assert set(names) <= set(BACKENDS)
    assert "scipy" in names  # scipy is a hard dependency
    with pytest.raises(BackendUnavailableError, match="available: .*scipy"):
        get_backend("gurobi")
    assert get_backend("HiGHS").name == "highs" if "highs" in names else True


def test_check_runs_before_solving() -> None:
    case = CASES[0]
    bad = type(case.program)(**{**case.program.__dict__, "objective": np.array([np.nan, 1.0])})
    for name in BACKEND_NAMES:
        with pytest.raises(SolverError):
            get_backend(name).solve(bad, SolveOptions())
