"""The time-limit promise of every backend: back within ``1.2 * limit + 2 s`` with a verified point.

A p-median and a gradual-coverage program of ~200,000 pairs are solved with a 1 s limit and a greedy warm start.
The programs are written here from the formulations in ``siting.models.pmedian`` / ``gradual`` (same rows and
columns) so that this backend-layer test does not depend on the model package's builders.
"""
from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import cKDTree

from siting.backends import Termination, available_backends, get_backend
from siting.backends._common import prefer_warm_start
from siting.backends.base import BackendSolution
from siting.backends.mps import write_mps
from siting.errors import SolverError
from siting.options import SolveOptions
from siting.program import LinearProgram, Sense

LIMIT_S = 1.0
PAIRS = 200_000
PROMISE_S = 1.2 * LIMIT_S + 2.0

CONFIGS: list[tuple[str, dict]] = [(name, {}) for name in available_backends()]
if "ortools" in available_backends():
    CONFIGS += [("ortools", {"ortools": {"solver": engine}}) for engine in ("highs", "cbc")]
CONFIG_IDS = [name + "".join(f"-{v}" for o in opts.values() for v in o.values()) for name, opts in CONFIGS]


def random_pairs(n_pairs: int, seed: int = 0, per_demand: int = 50):
    """Demand points linked to their ``per_demand`` nearest sites; minutes = distance on a 60 x 60 square.

    Returns ``(demand, site, minutes, weight, n_sites)`` with the pairs sorted by demand then site.
    """
    rng = np.random.default_rng(seed)
    n_demand = n_pairs // per_demand
    n_sites = max(2 * per_demand, n_demand // 10)
    demand_xy = rng.random((n_demand, 2)) * 60.0
    site_xy = rng.random((n_sites, 2)) * 60.0
    dist, site = cKDTree(site_xy).query(demand_xy, k=per_demand)
    demand = np.repeat(np.arange(n_demand), per_demand)
    order = np.lexsort((site.ravel(), demand))
    weight = rng.integers(1, 500, n_demand).astype(float)
    return demand[order], site.ravel()[order], np.round(dist.ravel()[order], 1), weight, n_sites


def greedy_sites(demand, site, minutes, weight, n_sites: int, p: int) -> np.ndarray:
    """Open ``p`` sites one at a time, each the largest drop in weighted minutes to the nearest open site."""
    big = 10.0 * minutes.max() + 1.0
    nearest = np.full(weight.shape[0], big)
    open_sites = np.zeros(n_sites, dtype=bool)
    for _ in range(p):
        gain = np.bincount(site, weights=weight[demand] * np.maximum(nearest[demand] - minutes, 0.0),
                           minlength=n_sites)
        gain[open_sites] = -1.0
        j = int(np.argmax(gain))
        open_sites[j] = True
        on = site == j
        np.minimum.at(nearest, demand[on], minutes[on])
    assert np.all(nearest < big), "the generator left a demand point without an open site"
    return open_sites


def assignment_program(sense: Sense, pair_value, demand, site, n_sites: int, assign_lower: float, p: int,
                       p_lower: float, name: str) -> LinearProgram:
    """Columns ``y_j`` (binary) then ``x_ij`` in [0, 1]; rows ``assign_lower <= sum_j x_ij <= 1``,
    ``x_ij - y_j <= 0`` and ``p_lower <= sum_j y_j <= p``."""
    n_pairs, n_demand = demand.shape[0], int(demand.max()) + 1
    pair = np.arange(n_pairs)
    n = n_sites + n_pairs
    assign = sp.csr_matrix((np.ones(n_pairs), (demand, n_sites + pair)), shape=(n_demand, n))
    link = sp.csr_matrix((np.tile([1.0, -1.0], n_pairs),
                          (np.repeat(pair, 2), np.column_stack([n_sites + pair, site]).ravel())), shape=(n_pairs, n))
    count = sp.csr_matrix((np.ones(n_sites), (np.zeros(n_sites, dtype=int), np.arange(n_sites))), shape=(1, n))
    return LinearProgram(
        sense, np.concatenate([np.zeros(n_sites), pair_value]), sp.vstack([assign, link, count], format="csr"),
        np.concatenate([np.full(n_demand, assign_lower), np.full(n_pairs, -np.inf), [p_lower]]),
        np.concatenate([np.ones(n_demand), np.zeros(n_pairs), [float(p)]]),
        np.zeros(n), np.ones(n), np.concatenate([np.ones(n_sites, bool), np.zeros(n_pairs, bool)]),
        name=name, blocks={"site": (0, n_sites), "assign": (n_sites, n)},
    )


def warm_start(open_sites, demand, site, minutes) -> np.ndarray:
    """The plan's column vector: open sites, and each demand point assigned to its nearest open site."""
    on = np.flatnonzero(open_sites[site])
    best = on[np.lexsort((minutes[on], demand[on]))]
    first = np.ones(best.size, dtype=bool)
    first[1:] = demand[best[1:]] != demand[best[:-1]]
    assign = np.zeros(demand.shape[0])
    assign[best[first]] = 1.0
    return np.concatenate([open_sites.astype(float), assign])


def pmedian_case(n_pairs: int, seed: int = 0) -> tuple[LinearProgram, np.ndarray]:
    """min sum w_i t_ij x_ij, every demand point assigned once, exactly p sites open."""
    demand, site, minutes, weight, n_sites = random_pairs(n_pairs, seed)
    p = max(5, n_sites // 20)
    program = assignment_program(Sense.MINIMIZE, weight[demand] * minutes, demand, site, n_sites, 1.0, p, float(p),
                                 "pmedian")
    return program, warm_start(greedy_sites(demand, site, minutes, weight, n_sites, p), demand, site, minutes)


def gradual_case(n_pairs: int, seed: int = 0) -> tuple[LinearProgram, np.ndarray]:
    """max sum w_i f(t_ij) z_ij, f = 1 up to the 30% quantile of minutes then linear down to 0, at most p sites."""
    demand, site, minutes, weight, n_sites = random_pairs(n_pairs, seed)
    p = max(5, n_sites // 20)
    inner, outer = float(np.quantile(minutes, 0.3)), float(minutes.max()) + 1.0
    credit = np.clip((outer - minutes) / (outer - inner), 0.0, 1.0)
    program = assignment_program(Sense.MAXIMIZE, weight[demand] * credit, demand, site, n_sites, -np.inf, p, -np.inf,
                                 "gradual")
    return program, warm_start(greedy_sites(demand, site, minutes, weight, n_sites, p), demand, site, minutes)


CASES = {"pmedian": pmedian_case, "gradual": gradual_case}


@pytest.fixture(scope="module")
def large_cases() -> dict[str, tuple[LinearProgram, np.ndarray]]:
    return {name: make(PAIRS) for name, make in CASES.items()}


def _no_worse(program: LinearProgram, value: float, reference: float) -> bool:
    slack = 1e-6 * max(1.0, abs(reference))
    return value >= reference - slack if program.sense == Sense.MAXIMIZE else value <= reference + slack


@pytest.mark.parametrize("model", list(CASES))
@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_time_limit_promise(config: tuple[str, dict], model: str, large_cases) -> None:
    backend_name, backend_options = config
    program, start = large_cases[model]
    assert program.max_violation(start, relative=True) <= 1e-9
    backend = get_backend(backend_name)
    options = SolveOptions(time_limit_s=LIMIT_S, backend_options=backend_options)
    t0 = time.perf_counter()
    sol = backend.solve(program, options, warm_start=start)
    wall_s = time.perf_counter() - t0
    assert wall_s <= PROMISE_S, f"{backend_name} took {wall_s:.2f} s for a {LIMIT_S} s limit ({sol.message})"
    assert sol.seconds <= wall_s + 1e-6
    assert sol.termination in (Termination.TIME_LIMIT, Termination.OPTIMAL), sol.message
    assert sol.x is not None, f"no point returned although a feasible warm start was given ({sol.message})"
    assert program.max_violation(sol.x, relative=True) <= 1e-6
    assert sol.objective == pytest.approx(program.objective_value(sol.x), rel=1e-6)
    assert _no_worse(program, sol.objective, program.objective_value(start)), "worse than the warm start"
    if sol.bound is not None:  # in the objective's units, on the optimum's side of the point
        assert _no_worse(program, sol.bound, sol.objective), (sol.bound, sol.objective)


def _tiny_program() -> LinearProgram:
    """min x0 + 2 x1 s.t. x0 + x1 >= 1, binary."""
    return LinearProgram(Sense.MINIMIZE, np.array([1.0, 2.0]), sp.csr_matrix([[1.0, 1.0]]), np.array([1.0]),
                         np.array([np.inf]), np.zeros(2), np.ones(2), np.ones(2, dtype=bool))


def test_warm_start_is_returned_only_when_feasible_and_better() -> None:
    program = _tiny_program()
    stopped = BackendSolution(Termination.TIME_LIMIT, None, None, 0.5, 1.0, "x")
    got = prefer_warm_start(stopped, program, np.array([0.0, 1.0]))
    assert got.x is not None and got.objective == 2.0 and got.bound == 0.5
    assert prefer_warm_start(stopped, program, np.array([0.0, 0.0])).x is None  # violates the row
    better = BackendSolution(Termination.TIME_LIMIT, np.array([1.0, 0.0]), 1.0, 0.5, 1.0, "x")
    assert prefer_warm_start(better, program, np.array([0.0, 1.0])).objective == 1.0
    worse = BackendSolution(Termination.TIME_LIMIT, np.array([0.0, 1.0]), 2.0, 0.5, 1.0, "x")
    assert prefer_warm_start(worse, program, np.array([1.0, 0.0])).objective == 1.0
    # a bound printed past the warm start's value is clipped to it (it can never be better than a feasible point)
    loose = BackendSolution(Termination.TIME_LIMIT, None, None, 1.5, 1.0, "x")
    assert prefer_warm_start(loose, program, np.array([1.0, 0.0])).bound == 1.0
    error = BackendSolution(Termination.ERROR, None, None, None, 1.0, "x")
    assert prefer_warm_start(error, program, np.array([1.0, 0.0])).x is None


@pytest.mark.parametrize("backend_name", available_backends())
def test_warm_start_of_wrong_width_is_refused(backend_name: str) -> None:
    with pytest.raises(SolverError, match="warm start"):
        get_backend(backend_name).solve(_tiny_program(), SolveOptions(time_limit_s=5.0), warm_start=np.ones(3))


@pytest.mark.skipif("highs" not in available_backends(), reason="HiGHS reads the MPS back")
def test_mps_writer_round_trips_awkward_numbers(tmp_path) -> None:
    import highspy

    values = np.array([-0.0, -3.0, 1e-7, 2.5e19, 1.0 / 3.0, -123456789012.0, 0.1 + 0.2, 7.0])
    n = values.size
    A = sp.csr_matrix(np.vstack([values, np.roll(values, 1)]))
    program = LinearProgram(Sense.MAXIMIZE, values.copy(), A, np.array([-np.inf, -1.5]), np.array([4.0, 2.25]),
                            np.where(np.arange(n) % 3 == 0, -np.inf, -2.5), np.where(np.arange(n) % 2, np.inf, 9.0),
                            np.arange(n) % 2 == 0)
    write_mps(program, tmp_path / "p.mps")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(tmp_path / "p.mps"))
    lp = h.getLp()
    np.testing.assert_array_equal(np.asarray(lp.col_cost_), -values + 0.0)  # written as a minimisation
    np.testing.assert_array_equal(np.asarray(lp.col_lower_), program.col_lower)
    np.testing.assert_array_equal(np.asarray(lp.col_upper_), program.col_upper)
    np.testing.assert_array_equal(np.asarray(lp.row_lower_), program.row_lower)
    np.testing.assert_array_equal(np.asarray(lp.row_upper_), program.row_upper)
    read = sp.csc_matrix((np.asarray(lp.a_matrix_.value_), np.asarray(lp.a_matrix_.index_),
                          np.asarray(lp.a_matrix_.start_)), shape=A.shape)
    assert abs(read - A).max() == 0.0
    assert [int(v) for v in lp.integrality_] == (np.arange(n) % 2 == 0).astype(int).tolist()
