r"""Ball rounds: relaxation-induced neighbourhoods (RINS) on a spatial ball of a component with a shortfall.

In the conurbations of a city (reach components of ~1,000 buildings) about half of what separates a plan from
the bound is the plan's: with everything outside a ball of 150 buildings held, the ball's exact optimum lies
~1.5 % above the plan there. HiGHS finds it, but only after a minute of root cuts, longer than a core round lasts.
The neighbourhood the ball's LP induces is found in seconds instead (Danna, Rothberg & Le Pape 2005, "RINS"):

1. the ball: the buildings nearest a converted one in the reach graph (breadth first: buildings sharing a
   demand point are one hop apart), as many as keep the aggregated program near :data:`BALL_COLUMNS` columns;
2. the LP relaxation of the ball's aggregated program (:func:`~siting.models.multiservice_core.aggregate`);
3. every binary column whose LP value lies within :data:`RINS_TOLERANCE` of the plan's is fixed at the plan's
   value, and HiGHS solves the remaining MIP from the plan.

Measured on the kept 300-s plan of 150k plain seed 2 (0.765680; the two largest-shortfall conurbations, two
balls each): 150-building balls (5,200-7,900 columns) have their LP in 0.6-5 s and the fixed MIP proven in
0.2-2.5 s, +0.000203 / +0.000167 / 0 / +0.000078; the unfixed MIP found +0.000013 once in four 10-s tries.
300-building balls (17,500 columns): LP 40 s. With :data:`BALL_SITES` = 100 and the LP by interior point a ball
round takes 0.2-2.7 s in the driver (about 100 per 300-s run); there, in place of the component cores, the
300-s gaps of 150k plain fell from 1.12 / 0.99 / 1.15-1.275 % to 0.986 / 0.760 / 1.204-1.208 % (seeds 0 / 1 / 2).

Example
-------
>>> import scipy.sparse as sp
>>> chain = sp.csr_matrix(([1, 1, 1, 1], ([0, 1, 2, 3], [1, 2, 3, 4])), shape=(5, 5))
>>> [int(j) for j in ball_order(chain, 0, np.array([True, True, False, True, True]))]
[0, 1, 3, 4]
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from ..backends import get_backend
from ..options import SolveOptions
from ..program import LinearProgram
from ..status import Termination

__all__ = ["ball_order", "ball_key", "rins_solve", "BallSolve"]

#: buildings in a ball before the column target trims it (150k plain seed 2, largest-shortfall conurbation, five
#: balls: 100 buildings, 4,100-6,600 columns, LP 0.6-2 s, gained as much as 150 buildings (6,200-9,600 columns,
#: LP 1.3-5.4 s) on three of five; 300 buildings: LP 26-40 s)
BALL_SITES = 100
#: the ball's aggregated columns at most (x 1.2)
BALL_COLUMNS = 6_000
#: a binary column whose LP value is this close to the plan's is fixed (150k seed 2, ball of 150 buildings:
#: 0.3 and 0.1 found the same plans, 0.3 in 0.2-2.5 s, 0.1 in 1.2-9 s; with 300 buildings only 0.3 gained)
RINS_TOLERANCE = 0.3
#: the LP's share of a ball round's time (the fixed MIP has the rest)
LP_SHARE = 0.6
#: the LP by interior point, then crossover (the same five balls: 1.5-2.8 times faster than dual simplex for
#: the same fixings; PDLP 5-20 s)
LP_OPTIONS = {"highs": {"solver": "ipm"}}
#: the MIP gap at which the fixed MIP may stop
BALL_GAP = 1e-4


def ball_order(graph: sp.csr_matrix, seed: int, within: np.ndarray) -> np.ndarray:
    """The buildings of ``within`` in breadth-first order from ``seed`` over the reach ``graph`` (``seed`` first).

    ``graph`` (n_sites, n_sites): non-zero where two buildings share a demand point; the search crosses every
    building, but only those ``within`` are listed.
    """
    from scipy.sparse.csgraph import breadth_first_order

    order = breadth_first_order(graph, int(seed), directed=False, return_predecessors=False)
    return order[within[order]]


def ball_key(sites: np.ndarray) -> bytes:
    """The buildings ``sites`` (indices) of a ball as a key independent of their order.

    >>> ball_key(np.array([3, 1])) == ball_key(np.array([1, 3]))
    True
    """
    return np.sort(np.asarray(sites, dtype=np.int64)).tobytes()


@dataclass(frozen=True)
class BallSolve:
    """What :func:`rins_solve` found.

    x : the MIP's vector (None: no plan, or the LP did not finish); termination : why the last solve stopped;
    fixed : how many binary columns the LP fixed
    """

    x: np.ndarray | None
    termination: Termination
    fixed: int


def rins_solve(program: LinearProgram, start: np.ndarray, *, time_limit_s: float, backend: str = "highs",
               tolerance: float = RINS_TOLERANCE) -> BallSolve:
    """The MIP of ``program`` with each binary column its LP relaxation puts near ``start``'s value fixed there.

    ``start`` is a feasible point of ``program``; the LP gets :data:`LP_SHARE` of ``time_limit_s``, the MIP
    (warm-started from ``start``) the rest. An LP stopped by its limit induces nothing: no vector, its termination.
    """
    began = time.perf_counter()
    solver = get_backend(backend)
    relaxed = solver.solve(replace(program, integrality=np.zeros(program.n_cols, bool)),
                           SolveOptions(time_limit_s=LP_SHARE * time_limit_s, backend_options=LP_OPTIONS))
    if relaxed.termination is not Termination.OPTIMAL or relaxed.x is None:
        return BallSolve(None, relaxed.termination, 0)
    agree = program.integrality & (np.abs(relaxed.x - start) <= tolerance)
    fixed = replace(program, col_lower=np.where(agree, start, program.col_lower),
                    col_upper=np.where(agree, start, program.col_upper))
    left = max(0.1, time_limit_s - (time.perf_counter() - began))
    solution = solver.solve(fixed, SolveOptions(time_limit_s=left, mip_gap=BALL_GAP, secondary="none"),
                            warm_start=start)
    return BallSolve(solution.x, solution.termination, int(agree.sum()))
