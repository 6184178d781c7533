"""Tiny linear programs with known optima (cvxpy ``solver_test_helpers`` style).

Each :class:`Case` holds a :class:`LinearProgram`, the expected termination and, when it is optimal,
the optimal objective (offset included). Optima were worked out by hand; the comments show how.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siting.backends.base import Termination
from siting.program import LinearProgram, Sense

INF = np.inf


@dataclass(frozen=True)
class Case:
    name: str
    program: LinearProgram
    termination: Termination
    objective: float | None = None
    needs_unbounded: bool = False  # only for backends that can tell unbounded from infeasible


def _lp(sense, c, rows, rlo, rup, clo, cup, integer=None, offset=0.0, name="case", n_cols=None):
    c = np.asarray(c, dtype=float)
    n = c.shape[0]
    A = sp.csr_matrix(np.asarray(rows, dtype=float).reshape(-1, n)) if len(rows) else sp.csr_matrix((0, n))
    integrality = np.zeros(n, dtype=bool) if integer is None else np.asarray(integer, dtype=bool)
    return LinearProgram(
        sense=sense,
        objective=c,
        constraints=A,
        row_lower=np.asarray(rlo, dtype=float).reshape(-1),
        row_upper=np.asarray(rup, dtype=float).reshape(-1),
        col_lower=np.asarray(clo, dtype=float),
        col_upper=np.asarray(cup, dtype=float),
        integrality=integrality,
        objective_offset=float(offset),
        name=name,
    )


MIN, MAX = Sense.MINIMIZE, Sense.MAXIMIZE
OPT, INFEAS, UNB = Termination.OPTIMAL, Termination.INFEASIBLE, Termination.UNBOUNDED


def _cases() -> list[Case]:
    cases: list[Case] = []
    # min 2x+3y, x+y>=4, x+3y>=6 -> vertex (3,1): 9
    cases.append(Case("lp_min", _lp(MIN, [2, 3], [[1, 1], [1, 3]], [4, 6], [INF, INF], [0, 0], [INF, INF]), OPT, 9.0))
    # max 3x+2y, x+y<=4, x+3y<=6, x<=3 -> (3,1): 11
    cases.append(
        Case("lp_max", _lp(MAX, [3, 2], [[1, 1], [1, 3]], [-INF, -INF], [4, 6], [0, 0], [3, INF]), OPT, 11.0)
    )
    # knapsack: values 10,13,7,8 weights 5,6,4,3 cap 10 -> items 2 and 4: 21
    knap = dict(rows=[[5, 6, 4, 3]], rlo=[-INF], rup=[10], clo=[0] * 4, cup=[1] * 4, integer=[1] * 4)
    cases.append(Case("knapsack", _lp(MAX, [10, 13, 7, 8], **knap), OPT, 21.0))
    # same knapsack with objective offset -5 -> 16 (checks that the bound carries the offset too)
    cases.append(Case("mip_offset", _lp(MAX, [10, 13, 7, 8], offset=-5.0, **knap), OPT, 16.0))
    # set cover of {0..4}: S0={0,1,2} c3, S1={2,3} c1, S2={3,4} c1, S3={0,4} c1, S4={1} c1 -> S1,S3,S4: 3
    cover = np.array(
        [[1, 0, 0, 1, 0], [1, 0, 0, 0, 1], [1, 1, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 1, 1, 0]], dtype=float
    )
    cases.append(
        Case("set_cover", _lp(MIN, [3, 1, 1, 1, 1], cover, [1] * 5, [INF] * 5, [0] * 5, [1] * 5, [1] * 5), OPT, 3.0)
    )
    # budgeted max cover: sites s0{d0,d1} c2, s1{d1,d2,d3} c3, s2{d3} c1; w=4,3,2,5; budget 3 -> s0+s2: 12
    # columns: x0 x1 x2 y0 y1 y2 y3; rows y_i - sum_j a_ij x_j <= 0, cost.x <= 3
    mc = np.array(
        [
            [-1, 0, 0, 1, 0, 0, 0],
            [-1, -1, 0, 0, 1, 0, 0],
            [0, -1, 0, 0, 0, 1, 0],
            [0, -1, -1, 0, 0, 0, 1],
            [2, 3, 1, 0, 0, 0, 0],
        ],
        dtype=float,
    )
    cases.append(
        Case(
            "max_cover_budget",
            _lp(MAX, [0, 0, 0, 4, 3, 2, 5], mc, [-INF] * 5, [0, 0, 0, 0, 3], [0] * 7, [1] * 7, [1] * 7),
            OPT,
            12.0,
        )
    )
    # 2x + 2y == 3 with x, y integer in [0, 5]: LP-feasible, MIP-infeasible
    cases.append(Case("infeasible_mip", _lp(MIN, [1, 1], [[2, 2]], [3], [3], [0, 0], [5, 5], [1, 1]), INFEAS))
    # x + y >= 5, x + y <= 3: LP-infeasible
    cases.append(
        Case("infeasible_lp", _lp(MIN, [1, 1], [[1, 1], [1, 1]], [5, -INF], [INF, 3], [0, 0], [INF, INF]), INFEAS)
    )
    # max x + y, x - y <= 1, x, y >= 0 -> unbounded
    cases.append(Case("unbounded_lp", _lp(MAX, [1, 1], [[1, -1]], [-INF], [1], [0, 0], [INF, INF]), UNB, None, True))
    # the same with x, y integer: HiGHS presolve says "infeasible or unbounded"; the backend must tell which
    cases.append(
        Case("unbounded_mip", _lp(MAX, [1, 1], [[1, -1]], [-INF], [1], [0, 0], [INF, INF], [1, 1]), UNB, None, True)
    )
    # min x+2y+3z, x+y+z == 6, x-y == 0, x <= 2 -> x=y=2, z=2: 12
    cases.append(
        Case(
            "equality_rows",
            _lp(MIN, [1, 2, 3], [[1, 1, 1], [1, -1, 0]], [6, 0], [6, 0], [0, 0, 0], [2, INF, INF]),
            OPT,
            12.0,
        )
    )
    # 2 <= x-y <= 3, 1 <= x+2y <= 8: min x+y -> (2,0): 2 ; max x+y -> d=3, y=5/3: 19/3
    rng_rows = dict(rows=[[1, -1], [1, 2]], rlo=[2, 1], rup=[3, 8], clo=[0, 0], cup=[INF, INF])
    cases.append(Case("ranged_rows_min", _lp(MIN, [1, 1], **rng_rows), OPT, 2.0))
    cases.append(Case("ranged_rows_max", _lp(MAX, [1, 1], **rng_rows), OPT, 19.0 / 3.0))
    # free x, y: min x + y, x >= -5 (row), y - x == 2 -> x=-5, y=-3: -8
    cases.append(
        Case("free_vars", _lp(MIN, [1, 1], [[1, 0], [-1, 1]], [-5, 2], [INF, 2], [-INF, -INF], [INF, INF]), OPT, -8.0)
    )
    # LP with offset: lp_max + 100 -> 111
    cases.append(
        Case(
            "lp_offset",
            _lp(MAX, [3, 2], [[1, 1], [1, 3]], [-INF, -INF], [4, 6], [0, 0], [3, INF], offset=100.0),
            OPT,
            111.0,
        )
    )
    # general integers: max 5x+4y, 6x+4y<=24, x+2y<=6, x,y in {0..10} -> (4,0): 20 (LP optimum 21)
    cases.append(
        Case(
            "general_integer",
            _lp(MAX, [5, 4], [[6, 4], [1, 2]], [-INF, -INF], [24, 6], [0, 0], [10, 10], [1, 1]),
            OPT,
            20.0,
        )
    )
    # interleaved integrality [a int, b cont, c int, d cont] in [0,3] / [0,2.5]: max 3a+2b+4c+d,
    # a+b+c+d <= 6.5, a-b >= 0.5 -> c=3, a=3, b=0.5: 22
    cases.append(
        Case(
            "interleaved_integers",
            _lp(MAX, [3, 2, 4, 1], [[1, 1, 1, 1], [1, -1, 0, 0]], [-INF, 0.5], [6.5, INF], [0] * 4,
                [3, 2.5, 3, 2.5], [1, 0, 1, 0]),
            OPT,
            22.0,
        )
    )
    # no rows: min x + 2y, x in [1,3], y in [-1,2] -> -1 ; and y integer in [-1.5, 2] -> y = -1: -1
    cases.append(Case("zero_rows_lp", _lp(MIN, [1, 2], [], [], [], [1, -1], [3, 2]), OPT, -1.0))
    cases.append(Case("zero_rows_mip", _lp(MIN, [1, 2], [], [], [], [1, -1.5], [3, 2], [0, 1]), OPT, -1.0))
    # partial covering found by the brute-force tests: CBC 2.10.3 with MIP preprocessing ON says "Optimal" 13;
    # the optimum is x2 + x4 = 5 (y1 = 1 needs x4; 18 y0 >= 14 needs x0 or x2, and x2 is cheaper)
    pc = np.array(
        [
            [-1, 0, -1, 0, 0, 0, 1, 0, 0, 0],
            [0, 0, 0, 0, -1, -1, 0, 1, 0, 0],
            [0, -1, 0, 0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, -1, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 18, 74, 53, 31],
        ],
        dtype=float,
    )
    cases.append(
        Case(
            "cbc_preprocess_regression",
            _lp(MIN, [9, 2, 1, 0, 4, 5, 0, 0, 0, 0], pc, [-INF] * 4 + [88], [0] * 4 + [INF],
                [0, 0, 0, 1, 0, 0, 0, 0, 0, 0], [1, 0, 1, 1, 1, 0, 1, 1, 1, 1], [1] * 6 + [0] * 4),
            OPT,
            5.0,
        )
    )
    # no columns at all (offset only): max 5 -> 5
    cases.append(Case("no_columns", _lp(MAX, np.zeros(0), [], [], [], [], [], offset=5.0), OPT, 5.0))
    return cases


CASES: list[Case] = _cases()


def random_max_cover(n_demand: int, n_sites: int, density: float, max_sites: int, seed: int) -> LinearProgram:
    """A uniform random MCLP (hard for its size): max w.y, y_i <= sum_j a_ij x_j, sum x <= p, binary."""
    rng = np.random.default_rng(seed)
    cov = sp.random(n_demand, n_sites, density=density, format="csr", random_state=rng, data_rvs=np.ones)
    w = rng.integers(50, 500, n_demand).astype(float)
    n = n_sites + n_demand
    link = sp.hstack([-cov, sp.identity(n_demand, format="csr")], format="csr")
    card = sp.csr_matrix(np.concatenate([np.ones(n_sites), np.zeros(n_demand)])[None, :])
    A = sp.vstack([link, card], format="csr")
    m = n_demand + 1
    return LinearProgram(
        sense=Sense.MAXIMIZE,
        objective=np.concatenate([np.zeros(n_sites), w]),
        constraints=A,
        row_lower=np.full(m, -np.inf),
        row_upper=np.concatenate([np.zeros(n_demand), [float(max_sites)]]),
        col_lower=np.zeros(n),
        col_upper=np.ones(n),
        integrality=np.ones(n, dtype=bool),
        name=f"random_mclp_{n_demand}x{n_sites}",
        blocks={"site": (0, n_sites), "demand": (n_sites, n)},
    )
