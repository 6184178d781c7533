r"""The bound's share of a reach component lowered to its exact Lagrangian dual: the component's bundle-hull LP.

The subgradient search of :mod:`~siting.models.multiservice_lagrange` stops a little above the Lagrangian dual's
value (20k plain: 0.813261 against the exact Dantzig-Wolfe master's 0.812906), and at city size what is left lies
in a few conurbations. At the bound's budget price :math:`\mu` the bound splits over the reach components
(:mod:`~siting.models.multiservice_components`): :math:`\mu B + W^0 + \sum_c L_c(u_c, \mu)`, and each
component's term is minimised over its own cover-row multipliers :math:`u_c` alone. That minimum is the value of
the component's *priced bundle-hull LP* (Lagrangian duality: the relaxed rows are linear and the buildings' own
constraints are taken by their convex hull), so replacing :math:`L_c` by that LP's optimum where it is smaller
keeps the bound valid and takes it to the dual's value there.

Notes
-----
For the component's buildings :math:`j` (those that may be converted) and services :math:`k` it may host,
with :math:`\mathcal{M}_j` the maximal service sets that fit its floor area (only for buildings where not every
hostable service fits; :class:`~siting.models.multiservice_bundles.Buildings`) and the component's active
points :math:`i` merged into groups :math:`g` reached by the same buildings (their earnings summed into
:math:`w_g`):

.. math::

    \max \sum_g w_g v_g - \mu \sum_j c_j y_j - \mu \sum_{j,k} e_{jk} s_{jk}
    \quad\text{s.t.}\quad v_g \le \sum_{j \in N_g} s_{jk(g)},\quad
    s_{jk} \le y_j \text{ (every service fits)},\quad
    \sum_{S \in \mathcal{M}_j} z_{jS} = y_j,\ s_{jk} \le \sum_{S \ni k} z_{jS} \text{ (otherwise)},

all variables in :math:`[0, 1]`. For fixed :math:`(y, s)` integral the points of the hull are exactly the
buildings' feasible bundles (a subset of a maximal set), so by LP duality this equals
:math:`\min_{u_c} L_c(u_c, \mu)`: the Lagrangian's building term is the best bundle at the prices :math:`u`
gives, its point term :math:`\sum_i (w_i - u_i)^+`. Only an LP solved to optimality replaces :math:`L_c`, and by the
bound its row duals give (:meth:`~siting.program.LinearProgram.dual_bound`), not its reported optimum, so that the
solver's tolerances cannot make the bound invalid. Single-year programs without a limit on the number of
buildings only (the split is the final year's, and ``max_sites`` couples the components). Where the Lagrangian
takes fractional bundles (:class:`~siting.models.multiservice_bundles.Buildings` not exact) every building gets
:math:`s_{jk} \le y_j`: a weaker LP, still a bound, which then rarely lowers anything.

Example
-------
``tests/services/test_multiservice_hull.py``: on small generated cities the lowered bound stays above the
optimum HiGHS proves on the whole program and each component's LP below its :math:`L_c`.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..backends import get_backend, stop_requested, stopping
from ..errors import SolverError
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ..status import Termination
from .base import Built
from .beside import Beside
from .multiservice_bundles import Buildings
from .multiservice_components import NEGLIGIBLE, Shortfalls
from .multiservice_core import same_rows
from .multiservice_lagrange import LagrangeBound, year_money
from .multiservice_params import MultiserviceParams
from .multiservice_reach import Reach

__all__ = ["hull_program", "HullBound", "hull_bound", "hull_beside"]

#: the LP's solver: interior point (150k plain seed 2, the 908-building conurbation's 43,000-column LP: dual
#: simplex 68 s, interior point 22 s). No "threads" option: the backend resets HiGHS's global scheduler when it
#: changes, which must not happen while the search's own HiGHS runs in the other thread
LP_OPTIONS = {"highs": {"solver": "ipm"}}
#: the LP's bound is raised by this much relative to the component's term before it replaces L_c (rounding in
#: the sums of :meth:`~siting.program.LinearProgram.dual_bound`)
LP_SLACK = 1e-12


def hull_program(reach: Reach, inner: Buildings, split: Shortfalls, component: int) -> LinearProgram:
    """The component's priced bundle-hull LP (module notes), maximised; columns ``y``, ``s``, ``z``, ``v``."""
    mu = split.price
    sites = np.flatnonzero((split.label == component) & reach.buildable)
    n_b = sites.shape[0]
    hosts = inner.hosts[sites]
    n_services = hosts.shape[1]
    tight_of = np.full(reach.buildable.shape[0], -1)
    tight_of[inner.tight] = np.arange(inner.tight.shape[0])
    is_tight = tight_of[sites] >= 0 if inner.exact else np.zeros(n_b, bool)

    # s columns: one per host pair, after the n_b y columns
    jj, kk = np.nonzero(hosts)
    s_col = np.full((n_b, n_services), -1)
    s_col[jj, kk] = n_b + np.arange(jj.shape[0])
    n_cols = n_b + jj.shape[0]
    objective: list[np.ndarray] = [-mu * reach.building_cost[sites], -mu * reach.placement_cost[sites][jj, kk]]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    lower: list[np.ndarray] = []
    n_rows = 0

    # every service fits: s_jk - y_j <= 0
    loose = ~is_tight[jj]
    m = int(loose.sum())
    rows.append(np.repeat(n_rows + np.arange(m), 2))
    cols.append(np.column_stack([s_col[jj[loose], kk[loose]], jj[loose]]).ravel())
    vals.append(np.tile([1.0, -1.0], m))
    lower.append(np.full(m, -np.inf))
    upper.append(np.zeros(m))
    n_rows += m

    # otherwise: sum_S z_jS - y_j = 0 and s_jk - sum_{S containing k} z_jS <= 0
    tb = np.flatnonzero(is_tight)
    if tb.shape[0]:
        sets = inner.bundle_sets[tight_of[sites[tb]]]                  # (t, M, K), padded with empty sets
        valid = sets.any(axis=2)
        zt, zm = np.nonzero(valid)
        z_col = np.full(valid.shape, -1)
        z_col[zt, zm] = n_cols + np.arange(zt.shape[0])
        n_cols += zt.shape[0]
        objective.append(np.zeros(zt.shape[0]))
        t_rows = n_rows + np.arange(tb.shape[0])
        rows += [t_rows[zt], t_rows]
        cols += [z_col[zt, zm], tb]
        vals += [np.ones(zt.shape[0]), -np.ones(tb.shape[0])]
        lower.append(np.zeros(tb.shape[0]))
        upper.append(np.zeros(tb.shape[0]))
        n_rows += tb.shape[0]
        # one row per host pair of a tight building
        pair_t, pair_k = np.nonzero(hosts[tb])
        pair_row = np.full((tb.shape[0], n_services), -1)
        pair_row[pair_t, pair_k] = n_rows + np.arange(pair_t.shape[0])
        et, em, ek = np.nonzero(sets & valid[:, :, None] & hosts[tb][:, None, :])
        rows += [pair_row[pair_t, pair_k], pair_row[et, ek]]
        cols += [s_col[tb[pair_t], pair_k], z_col[et, em]]
        vals += [np.ones(pair_t.shape[0]), -np.ones(et.shape[0])]
        lower.append(np.full(pair_t.shape[0], -np.inf))
        upper.append(np.zeros(pair_t.shape[0]))
        n_rows += pair_t.shape[0]

    # the component's active points, merged by the buildings reaching them: v_g - sum_{j in N_g} s_jk <= 0
    for k, (service, earning, comp) in enumerate(zip(reach.services, split.point_value, split.points,
                                                     strict=True)):
        points = np.flatnonzero(comp == component)
        if not points.shape[0]:
            continue
        sub = service.by_demand[points][:, sites].tocsr()
        group = same_rows(sub, np.zeros(points.shape[0]))
        _, first = np.unique(group, return_index=True)
        n_g = first.shape[0]
        objective.append(np.bincount(group, weights=earning[points], minlength=n_g))
        v_cols = n_cols + np.arange(n_g)
        n_cols += n_g
        reps = sub[first].tocoo()
        hosted = s_col[reps.col, k] >= 0
        rows += [n_rows + np.arange(n_g), n_rows + reps.row[hosted]]
        cols += [v_cols, s_col[reps.col[hosted], k]]
        vals += [np.ones(n_g), -np.ones(int(hosted.sum()))]
        lower.append(np.full(n_g, -np.inf))
        upper.append(np.zeros(n_g))
        n_rows += n_g

    matrix = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(n_rows, n_cols))
    return LinearProgram(Sense.MAXIMIZE, np.concatenate(objective), matrix, np.concatenate(lower),
                         np.concatenate(upper), np.zeros(n_cols), np.ones(n_cols), np.zeros(n_cols, bool),
                         name=f"hull-{component}")


@dataclass(frozen=True)
class HullBound:
    """The bound with components' terms lowered to their bundle-hull LPs.

    bound : the lowered bound; solved : how many components' LPs ran; lowered : what they took off in all;
    components : per component ``(component, buildings, L_c, the LP's bound or None, seconds)``;
    errors : what the solver raised on components whose LP it failed (their terms stay ``L_c``)
    """

    bound: float
    solved: int
    lowered: float
    components: tuple[tuple[int, int, float, float | None, float], ...]
    seconds: float
    errors: tuple[str, ...] = ()


def hull_bound(reach: Reach, inner: Buildings, split: Shortfalls, bound: float, order: np.ndarray, *,
               deadline: float, backend: str = "highs", stop: threading.Event | None = None) -> HullBound:
    """``bound`` less what each component of ``order`` (in turn, until ``deadline``) lowers by its LP.

    No further LP starts once ``stop`` (or an event of a :func:`~siting.interrupt.stopping` block this runs in)
    is set, and the running one is stopped (a child process killed, an in-process HiGHS interrupted). A component
    whose LP the solver fails (:class:`SolverError`) keeps its term: the LPs only ever lower a bound that is valid
    without them.
    """
    with stopping(stop):        # a child LP is killed once the search beside it is interrupted
        return _hull_bound(reach, inner, split, bound, order, deadline=deadline, backend=backend)


def _hull_bound(reach: Reach, inner: Buildings, split: Shortfalls, bound: float, order: np.ndarray, *,
                deadline: float, backend: str) -> HullBound:
    began = time.perf_counter()
    lowered, done, errors = 0.0, [], []
    for c in order:
        left = deadline - time.perf_counter()
        if left < 0.5 or stop_requested():
            break
        t0 = time.perf_counter()
        program = hull_program(reach, inner, split, int(c))
        left = deadline - time.perf_counter()
        if left < 0.5:
            break
        term = float(split.bound_c[c])
        value = None
        try:
            solution = get_backend(backend).solve(program, SolveOptions(time_limit_s=left, secondary="none",
                                                                        backend_options=LP_OPTIONS))
        except SolverError as exc:
            errors.append(f"{program.name}: {exc}")
            solution = None
        if solution is not None and solution.termination is Termination.OPTIMAL and solution.row_dual is not None:
            # the duals' bound, not the primal objective: valid whatever the solver's tolerances
            value = program.dual_bound(solution.row_dual) + LP_SLACK * max(1.0, abs(term))
            lowered += max(0.0, term - value)
        done.append((int(c), int(((split.label == c) & reach.buildable).sum()), term, value,
                     time.perf_counter() - t0))
    return HullBound(bound - lowered, len(done), lowered, tuple(done), time.perf_counter() - began, tuple(errors))


def hull_beside(built: Built, reach: Reach, params: MultiserviceParams, counts: np.ndarray, found: LagrangeBound,
                split: Shortfalls | None, x: np.ndarray, *, deadline: float, stop: threading.Event | None = None
                ) -> Beside | None:
    """:func:`hull_bound` in a thread beside the caller's search, until ``deadline`` (None: it does not apply).

    The components go largest shortfall :math:`L_c - P_c` of plan ``x`` first (where the plan equals
    :math:`L_c` the LP, between the two, lowers nothing). Each LP is a HiGHS child process, so the thread
    holds no lock the search needs and uses the machine's second core. Applies to single-year programs
    without priority levels or a limit on the number of buildings, whose bound the split adds up to. The caller
    sets ``stop`` when its search ends early by an exception, so that no further LP starts and the running one is
    killed; the thread runs in a copy of the caller's context, so the caller's own stop events (a serve job's
    cancel, :func:`~siting.backends.stopping`) do the same.
    """
    if split is None or built.levels or params.phases or params.max_sites is not None:
        return None
    total = split.total(reach, year_money(params)[-1])
    if not np.isclose(total, found.bound, rtol=1e-9, atol=1e-12):
        return None
    inner = Buildings(reach, counts, None)
    short = split.of(built, reach, x)
    scale = max(abs(found.bound), 1e-12)
    order = np.argsort(-short, kind="stable")
    order = order[short[order] > NEGLIGIBLE * scale]
    if not order.shape[0]:
        return None
    return Beside(hull_bound, reach, inner, split, found.bound, order, deadline=deadline, stop=stop,
                  name="siting-hull")
