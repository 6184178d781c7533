r"""An aggregated core MIP on a multi-service plan: RINS, then HiGHS, re-plan the plan's and best-scored buildings.

At city size the whole program (150,000 x 10,000 x 8: 1.7 M pairs) is too large for HiGHS to improve the
heuristic plan within minutes, and a core restricted to a few hundred buildings that keeps every demand row
still takes 20 s for its root LP. The core here is the plan's converted buildings plus the buildings the
Lagrangian relaxation values most per yuan (:attr:`~siting.models.multiservice_lagrange.LagrangeBound.site_score`),
then those that would add most to the plan per yuan, as many as keep the core at ~10,000 columns; every other
building keeps its value in the plan, and the demand rows are then *aggregated*. HiGHS on such a core often gains
little within a round (150k plain seed 4: +0.00034 in 30 s), but its LP relaxation takes a second, and
with every binary the LP puts near the plan fixed there (RINS, as the ball rounds of
:mod:`~siting.models.multiservice_balls`) HiGHS proves the rest in seconds (+0.00145 in 2.9 s on that core);
when that gains nothing, HiGHS gets the whole core (:data:`GLOBAL_TOLERANCES`).

Notes
-----
A cover column :math:`v` of the program is capped by one row, :math:`v \le U - \sum_j b_j s_j`
(``b_j = -1`` on the buildings within reach), and appears elsewhere only in rows it can never hurt by rising
(floors and held priority levels: ``>=`` rows with positive coefficients) with an objective coefficient
:math:`\ge 0` (:func:`cover_columns` detects exactly these columns, generically, from the matrix). For a fixed
choice of the binary columns each such :math:`v` is therefore best at its cap. With every building outside
the core fixed:

* a cover column whose cap row has no core column, or whose fixed part already lifts its cap to the column's
  upper bound (a building outside the core covers it), is a constant: it keeps its value in the plan;
* cover columns whose cap rows, restricted to the core columns, are the same row with the same right-hand
  side and the same bounds have the same cap for every choice of the core: they are merged into one column
  carrying their summed objective and their summed coefficients in every other row, and one cap row;
* any other continuous column sharing a row with a core column stays free as it is (none in the
  uncapacitated program).

So the aggregated program has the restricted program's optimum for every choice of the core columns, the
same feasible choices, and far fewer rows (points reached by the same core buildings become one row). Its
answer is expanded, polished by the built program, checked against the full program and the held levels,
and kept only when the objective rises (:func:`core_search`).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..backends import get_backend, stop_requested
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ..status import Termination
from .base import Built
from .beside import Beside
from .levels import hold_level
from .multiservice_balls import BALL_COLUMNS, BALL_SITES, RINS_TOLERANCE, ball_key, ball_order, rins_solve
from .multiservice_components import ComponentTurns
from .multiservice_reach import Reach
from .multiservice_regions import building_columns, shared_pairs

__all__ = ["CoverColumns", "cover_columns", "same_rows", "Aggregated", "aggregate", "core_sites", "plan_gain", "core_search",
           "solve_core", "polished", "grown_region"]

#: the MIP gap at which a core MIP may stop (it only has to beat the plan; the global gap is the bound's)
CORE_GAP = 1e-4
#: the aggregated core's column target: on the 20k bench cases HiGHS improves a core of ~10,000 columns most
#: within a minute (plain: 360 buildings, 9,900 columns 0.7992 -> 0.8049; 160 buildings 0.8033; policy, three
#: years: 153 buildings, 11,500 columns 1.2797 -> 1.3800; 373 buildings, 32,100 columns: no gain)
MAX_COLUMNS = 10_000
#: ... and for a short round, this many columns per second of the round, at least MIN_COLUMNS (20k policy, 28 s
#: for the core: 5,500 columns 1.2797 -> 1.3487, 11,100 columns no gain; 2,500 columns: no gain either)
COLUMNS_PER_S = 300
MIN_COLUMNS = 4_000
#: a core has at least this many times the columns of the plan's own buildings (150k plain: these make 7,000;
#: 18 more buildings, 7,300 columns, 0.8111 -> 0.8168 in 44 s; 75 more, 9,200 columns, 0.8196)
PLAN_MARGIN = 1.3
#: a round's time at most: HiGHS finds a core's better plans early (150k plain, 10,000-column cores: rounds of
#: 78 / 51 / 33 / 14 s found the same plans as rounds of 64 / 42 / 27 / 11 s), so the time buys more cores instead
MAX_ROUND_S = 30.0
#: ... and at least a core's columns / (ROOT_SHARE x COLUMNS_PER_S) seconds when it cannot shrink to the round's
#: column budget (150k plain: cores of 9,000-10,000 columns in rounds of 1-7 s never gained)
ROOT_SHARE = 3.0
#: a ball round at most (:mod:`~siting.models.multiservice_balls`: the LP and the fixed MIP of a 150-building
#: ball take 1-8 s on 150k plain)
BALL_ROUND_S = 10.0
#: ball rounds follow each other for this long before a global round (each global round lasts up to MAX_ROUND_S,
#: its RINS step often 2-3 s; 150k plain 300 s, seeds 1 / 2 / 4: 20 s 0.95 / 1.07 / 1.50 %, 10 s 0.84 / 1.15 / 1.49 %)
BALL_TURN_S = 20.0
#: a global core is solved by RINS (:func:`~siting.models.multiservice_balls.rins_solve`) at these tolerances in
#: turn (None: HiGHS on the whole core), the next when one gains nothing, before the ranking shifts on. 150k plain
#: seed 4, kept 1.55 % plan, three 11,000-column cores: RINS at 0.3 (LP 0.7 s) +0.001452 / +0.000302 / +0.000471
#: in 1.6-2.2 s, at 0.1 +0.001355 / 0 / +0.000699 in 22-30 s, HiGHS in 30 s +0.000340 / 0 / +0.000184; but in the
#: driver (300 s) HiGHS after 0.3 found what RINS missed: seed 0 1.02 % (0.3 then 0.1: 1.12 %), seed 4 1.50 %
#: (0.3 then 0.1: 1.46 %; 0.3 alone: 1.45 %), against 0.97-1.08 % and 1.55-1.64 % with HiGHS alone
GLOBAL_TOLERANCES: tuple[float | None, ...] = (0.3, None)
#: a region is solved by RINS at this tolerance (None: HiGHS on the whole region). 150k plain seed 0 with three
#: times the bench's budget (every city-wide round a region, ~9,000 columns): HiGHS 2.40 %, RINS 2.03 %
REGION_TOLERANCE: float | None = 0.3
#: how many times a region grows past the buildings sharing demand with what it has (:func:`grown_region`)
REGION_HOPS = 4


@dataclass(frozen=True)
class CoverColumns:
    """The program's mergeable cover columns (see module notes) and the one row capping each.

    cap_row : (n_cols,) index of the column's cap row, -1 for every other column
    coef : (n_cols,) the column's coefficient in its cap row (> 0; 0 elsewhere)
    """

    cap_row: np.ndarray
    coef: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        """(n_cols,) bool: the mergeable cover columns."""
        return self.cap_row >= 0


def cover_columns(program: LinearProgram) -> CoverColumns:
    """Continuous columns capped by one ``<=`` row over binaries and monotone everywhere else (module notes)."""
    a = program.constraints.tocoo()
    n_rows, n_cols = program.n_rows, program.n_cols
    cont = ~program.integrality
    on_cont = cont[a.col]
    n_cont = np.bincount(a.row[on_cont], minlength=n_rows)
    # a cap row: one continuous column with a positive coefficient, an upper bound only, the rest integer columns
    cap_candidate = (n_cont == 1) & np.isinf(program.row_lower) & np.isfinite(program.row_upper)
    is_cap = cap_candidate[a.row] & on_cont & (a.data > 0)
    caps = np.bincount(a.col[is_cap], minlength=n_cols)
    # every other entry of the column may only help when it rises
    monotone = ((a.data > 0) & np.isposinf(program.row_upper[a.row])) | \
        ((a.data < 0) & np.isneginf(program.row_lower[a.row]))
    bad = np.bincount(a.col[~is_cap & ~monotone], minlength=n_cols)
    sign = 1.0 if program.sense is Sense.MAXIMIZE else -1.0
    ok = cont & (caps == 1) & (bad == 0) & (sign * program.objective >= 0) & np.isfinite(program.col_upper)
    cap_row = np.full(n_cols, -1, np.int64)
    coef = np.zeros(n_cols)
    chosen = is_cap & ok[a.col]
    cap_row[a.col[chosen]] = a.row[chosen]
    coef[a.col[chosen]] = a.data[chosen]
    return CoverColumns(cap_row, coef)


@dataclass(frozen=True)
class Aggregated:
    """The program over the free columns with the fixed ones at their values and the cover columns merged.

    free : (n_cols,) bool, the columns of the full program the aggregated program decides
    column_of : (n_free,) the aggregated column each free column (in order) takes its value from
    """

    program: LinearProgram
    free: np.ndarray
    column_of: np.ndarray

    def expand(self, z: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The full program's vector: ``x`` with the free columns read from the aggregated solution ``z``."""
        out = x.copy()
        out[self.free] = z[self.column_of]
        return out

    def start(self, x: np.ndarray) -> np.ndarray:
        """The aggregated vector of ``x`` (a merged column takes its members' smallest value)."""
        z = np.full(self.program.n_cols, np.inf)
        np.minimum.at(z, self.column_of, x[self.free])
        return z


def same_rows(rows: sp.csr_matrix, extra: np.ndarray) -> np.ndarray:
    """Group of each row (same entries, same values and the same ``extra`` columns: one group), numbered from 0.

    Random projections make the key; the grouping is then checked exactly (a collision only costs the merge).
    """
    m, n = rows.shape
    if m == 0:
        return np.zeros(0, np.int64)
    rows = rows.copy()
    rows.sum_duplicates()
    rows.sort_indices()
    proj = np.random.default_rng(20261130).random((n, 2))
    keys = np.column_stack([np.diff(rows.indptr).astype(float), rows @ proj, extra])
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    if (rows - rows[first[group]]).count_nonzero():
        return np.arange(m, dtype=np.int64)
    return group.astype(np.int64)


def aggregate(program: LinearProgram, free_binary: np.ndarray, x: np.ndarray, covers: CoverColumns,
              by_column: sp.csc_matrix | None = None) -> Aggregated:
    """The core program: ``free_binary`` columns free, the cover columns they decide merged, the rest at ``x``.

    ``x`` is a feasible (polished) vector of ``program``; ``covers`` its :func:`cover_columns`;
    ``by_column``: the constraints in CSC form when the caller aggregates the same program many times.
    """
    a_csc = program.constraints.tocsc() if by_column is None else by_column
    a = program.constraints
    cover = covers.mask
    # each row's largest activity with only the binaries free: a cover column whose cap stays at or above
    # its upper bound even then is a constant
    fixed_x = np.where(free_binary, 0.0, x)
    most = a @ fixed_x + a.maximum(0) @ np.where(free_binary, program.col_upper, 0.0) \
        + a.minimum(0) @ np.where(free_binary, program.col_lower, 0.0)
    touches = (abs(a) @ free_binary.astype(float)) > 0
    rows_of = np.where(cover, covers.cap_row, 0)
    coef = np.where(cover, covers.coef, 1.0)
    cap = (program.row_upper[rows_of] - most[rows_of] + coef * x) / coef
    moving = cover & touches[rows_of] & (cap < program.col_upper - 1e-9)
    # any other continuous column sharing a row with a free binary is free too (never merged)
    linked = ~program.integrality & ~cover & ((abs(a).T @ touches.astype(float)) > 0)
    free = free_binary | moving | linked
    shift = a_csc[:, ~free] @ x[~free]
    a_free = a_csc[:, free].tocsr()
    kept = np.diff(a_free.indptr) > 0
    lower, upper = (program.row_lower - shift), (program.row_upper - shift)
    index = np.flatnonzero(free)
    merge = moving[index]
    # merged columns: the same cap row over the free binaries, the same right-hand side and bounds
    caps_rows = covers.cap_row[index[merge]]
    cap_part = a_free[caps_rows].multiply(1.0 / covers.coef[index[merge]][:, None]).tocsr()
    cap_part = cap_part[:, ~merge] if cap_part.shape[0] else cap_part
    extra = np.column_stack([upper[caps_rows] / covers.coef[index[merge]], program.col_lower[index[merge]],
                             program.col_upper[index[merge]]])
    group = same_rows(sp.csr_matrix(cap_part), extra)
    n_groups = int(group.max(initial=-1)) + 1
    n_free = index.shape[0]
    column_of = np.empty(n_free, np.int64)
    n_plain = int((~merge).sum())
    column_of[~merge] = np.arange(n_plain)
    column_of[merge] = n_plain + group
    n_agg = n_plain + n_groups
    to_agg = sp.csr_matrix((np.ones(n_free), (np.arange(n_free), column_of)), shape=(n_free, n_agg))
    is_cap_row = np.zeros(program.n_rows, bool)
    is_cap_row[caps_rows] = True
    other = np.flatnonzero(kept & ~is_cap_row)
    first = np.zeros(n_groups, np.int64)
    first[group] = np.arange(group.shape[0])       # a member of each group (their cap rows are the same)
    rep_rows = caps_rows[first]
    rep_coef = covers.coef[index[merge]][first]
    rep = sp.diags(1.0 / rep_coef) @ a_free[rep_rows] if n_groups else a_free[rep_rows]
    constraints = sp.vstack([a_free[other] @ to_agg, sp.csr_matrix(rep) @ to_agg], format="csr")
    first_member = np.concatenate([np.flatnonzero(~merge), np.flatnonzero(merge)[first]])
    sub = replace(program, objective=np.asarray(to_agg.T @ program.objective[free]).ravel(),
                  constraints=constraints,
                  row_lower=np.concatenate([lower[other], np.full(n_groups, -np.inf)]),
                  row_upper=np.concatenate([upper[other], upper[rep_rows] / rep_coef]),
                  col_lower=program.col_lower[free][first_member], col_upper=program.col_upper[free][first_member],
                  integrality=program.integrality[free][first_member],
                  objective_offset=program.objective_offset + float(program.objective[~free] @ x[~free]),
                  name=f"{program.name}_core", blocks={})
    return Aggregated(_without_idle_rows(sub), free, column_of)


def _without_idle_rows(program: LinearProgram) -> LinearProgram:
    """``program`` without the rows no point within the column bounds can violate."""
    a = program.constraints
    lo = np.where(np.isfinite(program.col_lower), program.col_lower, -1e30)
    up = np.where(np.isfinite(program.col_upper), program.col_upper, 1e30)
    pos, neg = a.maximum(0), a.minimum(0)
    most, least = pos @ up + neg @ lo, pos @ lo + neg @ up
    keep = (most > program.row_upper + 1e-9) | (least < program.row_lower - 1e-9)
    return replace(program, constraints=a[keep], row_lower=program.row_lower[keep],
                   row_upper=program.row_upper[keep])


def core_sites(reach: Reach, converted: np.ndarray, score: np.ndarray, services: np.ndarray | None,
               size: int, skip: int = 0) -> np.ndarray:
    """(n_sites,) bool: the ``converted`` buildings and ``size`` others, the best per yuan first.

    ``score``: the Lagrangian's final-year term of each building (value less the budget price, >= 0, 0 where
    the relaxation converts nothing); ``services`` (n_sites, K) bool: the bundle the relaxation places
    there, whose cost the score is divided by. The relaxation converts few buildings beyond the plan's, so
    the others follow by what they would add to the plan (:func:`plan_gain`) per yuan. ``skip``: how many
    of the best-ranked others to pass over (a shifted core).
    """
    bundle = reach.placement_cost * (services if services is not None else reach.allowed)
    spend = np.maximum(reach.building_cost + bundle.sum(axis=1), 1e-9)
    gain, gain_spend = plan_gain(reach, converted)
    open_ = reach.buildable & ~converted
    scored = open_ & (score > 0)
    # two keys: every building the relaxation converts first, then the others by their gain to the plan
    first = np.where(scored, score / spend, 0.0)
    second = np.where(open_ & ~scored & (gain > 0), gain / np.maximum(gain_spend, 1e-9), 0.0)
    order = np.lexsort((-second, -first))
    order = order[(first[order] > 0) | (second[order] > 0)][skip:skip + size]
    out = converted & reach.buildable
    out[order] = True
    return out


def plan_gain(reach: Reach, converted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per building: what placing every service it may host and that gains would add to the plan, and its cost.

    A point counts as covered when a converted building may host its service and reaches it (an upper
    estimate of the plan's own coverage, which is enough for a ranking).
    """
    n = converted.shape[0]
    gain, spend = np.zeros(n), reach.building_cost.copy()
    for k, s in enumerate(reach.services):
        on = (converted & reach.allowed[:, k]).astype(np.int8)
        uncovered = np.where((s.by_demand @ on) > 0, 0.0, s.value)
        g = s.by_site @ uncovered
        gain += g
        spend += np.where(g > 0, reach.placement_cost[:, k], 0.0)
    return gain, spend


def _converted(built: Built, x: np.ndarray) -> np.ndarray:
    """(n_sites,) bool: the last year's ``y`` of ``x`` (existing sites included)."""
    first, stop = built.program.blocks["site"]
    return x[first:stop] > 0.5


def core_search(built: Built, reach: Reach, x: np.ndarray, n_phases: int, score: np.ndarray,
                services: np.ndarray | None, *, deadline: float, size: int = 300,
                max_columns: int = MAX_COLUMNS, round_share: float = 1.0, backend: str = "highs",
                tolerance: float = 0.0, min_solve_s: float = 2.0,
                turns: ComponentTurns | None = None, pair: Callable[[], bool] | None = None
                ) -> tuple[np.ndarray, dict]:
    """Core MIPs from plan ``x`` until ``deadline``: keep what raises the objective (see module notes).

    Each round frees the plan's converted buildings and up to ``size`` more, best per yuan first
    (:func:`core_sites`), fewer when the aggregated program would have more than ``max_columns`` columns (in a short
    round, :data:`COLUMNS_PER_S` per second of the round, at least :data:`MIN_COLUMNS`); holds every priority level
    at the start's value less ``tolerance`` (as the driver's level rows do) and gives the round ``round_share`` of
    what is left of the time, at most :data:`MAX_ROUND_S` (a core larger than the round's column budget at least its
    columns / (:data:`ROOT_SHARE` x :data:`COLUMNS_PER_S`) seconds). A global core is solved by RINS
    (:func:`~siting.models.multiservice_balls.rins_solve`: its LP relaxation, the binaries it puts near the plan
    fixed, the rest by HiGHS from the plan) at the first of :data:`GLOBAL_TOLERANCES`; a round that gains nothing
    tries the same core at the next one (None: HiGHS on the whole core), and after the last the core shifts to the
    next buildings of the ranking; a round that gains starts the ranking again on the new plan. Once the ranking is
    used up (or the plan's own buildings make more columns than a core may have), each round re-plans a region
    (:func:`_region_core`, by RINS at :data:`REGION_TOLERANCE`), until a whole pass over
    the converted buildings gains nothing. With ``turns``, after each global round, ball rounds follow for
    :data:`BALL_TURN_S` seconds (each at most :data:`BALL_ROUND_S`), while a component is left: RINS on the
    buildings around a converted one in the reach component with the largest share of the bound's gap
    (:mod:`~siting.models.multiservice_balls`, :class:`~siting.models.multiservice_components.ComponentTurns`);
    with ``pair``, a second ball in another component is solved beside each ball in a thread, on the machine's
    other core (HiGHS releases the GIL), and its answer, put onto the plan the first left, is kept when it is
    feasible and better (round entries with ``beside``): when ``pair()`` says that core is free, and always once
    the plan's own buildings are too many for a city-wide core (its rounds are regions, and the balls gain most).
    Returns the best plan and what was done: ``core_solves``, ``core_kept``, ``core_objective``, ``core_seconds``,
    ``balls_skipped`` (balls proven on the same plan before), ``core_rounds`` (per round: columns, extra buildings
    (a ball's: those the plan does not convert), skip, time limit, seconds, termination, value after it, gained,
    regional, component or None, RINS tolerance or None) and the first round's sizes (``core_sites``,
    ``core_columns``, ``core_rows``, ``core_cover_columns``, ``core_cover_groups``, ``core_build_s``).
    """
    began = time.perf_counter()
    program = built.program
    held = program
    for level in built.levels:
        held, _, _ = hold_level(held, level, x=x, tolerance=tolerance)
    levels = [(level, float(level.objective @ x)) for level in built.levels]
    covers = cover_columns(held)
    by_column = held.constraints.tocsc()
    info: dict[str, Any] = {"core_solves": 0, "core_kept": 0, "core_rounds": []}
    value = program.objective_value(x)
    n = reach.allowed.shape[0]
    skip = 0
    rung = 0                                    # the global core's place in GLOBAL_TOLERANCES
    visited = np.zeros(n, bool)                 # converted buildings a region took in, in this pass
    region_gained = False
    ball_turns = turns                          # kept when ``turns`` is dropped (no component left)
    ball_turn_s = -1.0                          # time the current turn of ball rounds has taken (-1: a global turn)
    scale = max(abs(value), 1e-12)
    crowded = False                             # the plan's own buildings are too many for a city-wide core
    while deadline - time.perf_counter() >= min_solve_s and not stop_requested():
        t0 = time.perf_counter()
        left = deadline - t0
        limit = max(min_solve_s, round_share * left) if left - round_share * left >= min_solve_s else left
        limit = min(limit, max(MAX_ROUND_S, min_solve_s))
        # a short round gets a smaller core (HiGHS must get past its root within the round to gain anything)
        columns = min(max_columns, max(MIN_COLUMNS, int(COLUMNS_PER_S * limit)))
        converted = _converted(built, x)
        agg, component, ball, key = None, None, None, b""
        if turns is not None and ball_turn_s >= 0.0:
            agg, component, ball, key = _ball_core(built, reach, held, x, covers, by_column, converted, n_phases,
                                                   turns, scale)
            if component is None:
                turns = None                    # none left: global rounds only, on a fresh clock
                t0 = time.perf_counter()
            else:
                limit = min(limit, BALL_ROUND_S)
        if agg is not None:
            regional = False
        else:
            ball_turn_s = 0.0                   # a global round: the ball rounds' turn follows it
            agg, size, regional = _sized_core(built, reach, held, x, covers, by_column, converted, score, services,
                                              size, skip, columns, n_phases, visited, max_columns)
            crowded |= regional and not skip    # (a used-up ranking, the other way to a region, has skipped on)
        if agg is None and regional and region_gained:
            # every converted building was in a region and some region gained: another pass
            visited[:], region_gained = False, False
            agg, size, regional = _sized_core(built, reach, held, x, covers, by_column, converted, score, services,
                                              size, skip, columns, n_phases, visited, max_columns)
        if agg is None:
            break                               # a whole pass of regions gained nothing
        z0 = agg.start(x)
        if not info["core_solves"]:
            info.update(core_sites=int(size), core_columns=agg.program.n_cols, core_rows=agg.program.n_rows,
                        core_cover_columns=int((agg.free & covers.mask).sum()),
                        core_cover_groups=int((~agg.program.integrality).sum()),
                        core_build_s=time.perf_counter() - t0)
        if agg.program.max_violation(z0, relative=True) > 1e-7:
            break                               # not expected: the start must be a point of the core
        # a core larger than the round's budget (the plan's own buildings alone are more) gets the time it needs;
        # what would be left after it is too short for another such core and joins this round
        need = agg.program.n_cols / (ROOT_SHARE * COLUMNS_PER_S) \
            if agg.program.n_cols > 1.2 * columns and ball is None else 0.0
        if need > limit:
            limit = need if deadline - t0 - need >= need else deadline - t0
        # never past the deadline: the levels, the backend and the verification follow the warm start
        limit = min(limit - (time.perf_counter() - t0), deadline - time.perf_counter())
        if limit < 0.1:
            break                               # building the core used up the round
        # RINS for a ball and a region, the ladder's rung for a global core (None: HiGHS on it whole)
        tolerance_used = RINS_TOLERANCE if ball is not None else REGION_TOLERANCE if regional \
            else GLOBAL_TOLERANCES[rung]
        # a second ball, in another component, solved beside this one on the machine's other core
        partner = _partner(built, reach, held, x, covers, by_column, converted, n_phases, turns, scale, component,
                           limit, backend) \
            if pair is not None and ball is not None and turns is not None and (crowded or pair()) else None
        solution_x, termination = solve_core(agg.program, z0, time_limit_s=limit, backend=backend,
                                             tolerance=tolerance_used)
        info["core_solves"] += 1
        kept = _better(built, held, levels, None if solution_x is None else agg.expand(solution_x, x), value)
        gained = kept is not None
        if kept is not None:
            x, value = kept
            info["core_kept"] += 1
        seconds = time.perf_counter() - t0
        extra = int(size) if ball is None else int((ball & ~converted).sum())
        info["core_rounds"].append({"columns": agg.program.n_cols, "extra": extra, "skip": skip,
                                    "limit_s": round(limit, 1), "seconds": round(seconds, 1),
                                    "termination": str(termination.value), "value": value,
                                    "tolerance": tolerance_used,
                                    "gained": gained, "regional": regional, "component": component})
        region_gained |= regional and gained
        if gained and ball_turns is not None:
            ball_turns.plan_changed()
        if ball is not None and turns is not None and component is not None:
            turns.record(component, ball, converted, gained,
                         proven=key if termination is Termination.OPTIMAL else None)
            if partner is not None:
                # its answer onto the plan as it is now: the components share no demand point, so only the
                # budget (and any held level) can stand between the two, and the checks see to those
                beside, agg2, component2, ball2, key2 = partner
                found2 = beside.result()
                info["core_solves"] += 1
                kept = _better(built, held, levels, None if found2.x is None else agg2.expand(found2.x, x), value)
                if kept is not None:
                    x, value = kept
                    info["core_kept"] += 1
                    turns.plan_changed()
                seconds = time.perf_counter() - t0     # the pair's, for the turn; the entry has its own solve's
                info["core_rounds"].append({"columns": agg2.program.n_cols, "extra": int((ball2 & ~converted).sum()),
                                            "skip": skip, "limit_s": round(limit, 1),
                                            "seconds": round(beside.seconds, 1),
                                            "termination": str(found2.termination.value), "value": value,
                                            "tolerance": RINS_TOLERANCE, "gained": kept is not None,
                                            "regional": False, "component": component2, "beside": True})
                # proven on the plan it started from; only that plan's, if the first ball changed it
                turns.record(component2, ball2, converted, kept is not None,
                             proven=key2 if found2.termination is Termination.OPTIMAL and not gained else None)
            ball_turn_s += seconds
            if ball_turn_s >= BALL_TURN_S:
                ball_turn_s = -1.0              # a global round next
        elif not regional:
            # a gain starts the ranking again on the new plan; a core that gained nothing is tried at the next
            # rung (fewer columns fixed; None: none), then the ranking shifts on
            if gained:
                skip, rung = 0, 0
            elif rung + 1 < len(GLOBAL_TOLERANCES):
                rung += 1
            else:
                skip, rung = skip + max(size, 1), 0
    info["core_objective"] = value
    info["core_seconds"] = time.perf_counter() - began
    info["balls_skipped"] = 0 if ball_turns is None else ball_turns.skipped
    return x, info


def solve_core(program: LinearProgram, start: np.ndarray, *, time_limit_s: float, backend: str,
               tolerance: float | None) -> tuple[np.ndarray | None, Termination]:
    """A core's answer and why its solver stopped: RINS at ``tolerance`` (None: HiGHS whole) from ``start``."""
    if tolerance is not None:
        found = rins_solve(program, start, time_limit_s=time_limit_s, backend=backend, tolerance=tolerance)
        return found.x, found.termination
    solution = get_backend(backend).solve(program, SolveOptions(time_limit_s=time_limit_s, mip_gap=CORE_GAP,
                                                                secondary="none"), warm_start=start)
    return solution.x, solution.termination


def polished(built: Built, held: LinearProgram, y: np.ndarray | None) -> np.ndarray | None:
    """``y`` polished by the model when it is then a feasible point of the program and of ``held``, else None."""
    if y is None:
        return None
    if built.polish is not None:
        y = built.polish(y)
    if built.program.max_violation(y, relative=True) > 1e-7 or held.max_violation(y, relative=True) > 1e-7:
        return None
    return y


def _better(built: Built, held: LinearProgram, levels: list[tuple[Any, float]], y: np.ndarray | None,
            value: float) -> tuple[np.ndarray, float] | None:
    """(``y`` polished, its value) when it is a feasible plan of the program and ``held`` better than ``value``.

    Every level at least at the start's value exactly (no slack): the bound computed from the start's held level
    stays valid for whatever the driver holds from this plan.
    """
    y = polished(built, held, y)
    if y is None or any(float(level.objective @ y) < start_level for level, start_level in levels):
        return None
    new = built.program.objective_value(y)
    return (y, new) if new > value + 1e-9 * max(1.0, abs(value)) else None


def _partner(built: Built, reach: Reach, held: LinearProgram, x: np.ndarray, covers: CoverColumns,
             by_column: sp.csc_matrix, converted: np.ndarray, n_phases: int, turns: ComponentTurns, scale: float,
             component: int | None, limit: float, backend: str
             ) -> tuple[Beside, Aggregated, int, np.ndarray, bytes] | None:
    """The next ball outside ``component``, its RINS solve started in a thread; None when no component is left."""
    agg, other, ball, key = _ball_core(built, reach, held, x, covers, by_column, converted, n_phases, turns, scale,
                                       exclude=component)
    if agg is None or other is None or ball is None:
        return None
    z0 = agg.start(x)
    if agg.program.max_violation(z0, relative=True) > 1e-7:
        return None
    return Beside(rins_solve, agg.program, z0, time_limit_s=limit, backend=backend, tolerance=RINS_TOLERANCE,
                  name="siting-ball"), agg, other, ball, key


def _ball_core(built: Built, reach: Reach, held: LinearProgram, x: np.ndarray, covers: CoverColumns,
               by_column: sp.csc_matrix, converted: np.ndarray, n_phases: int, turns: ComponentTurns, scale: float,
               exclude: int | None = None) -> tuple[Aggregated | None, int | None, np.ndarray | None, bytes]:
    """The next ball (:mod:`~siting.models.multiservice_balls`) :class:`ComponentTurns` centres, aggregated.

    The :data:`~siting.models.multiservice_balls.BALL_SITES` buildings of the component nearest its seed in the
    reach graph, fewer when the aggregated program would have more than ~``BALL_COLUMNS`` columns; a ball
    ``turns`` knows as proven on this plan is passed over (counted in ``turns.skipped``); none in component
    ``exclude``. Returns the core, the
    component, the ball as an (n_sites,) mask and its key (:func:`ball_key` of the untrimmed ball);
    (None, None, None, b"") when no component is left.
    """
    n = reach.allowed.shape[0]
    split = turns.shortfalls
    while True:
        chosen = turns.next(built, reach, x, converted, scale, exclude)
        if chosen is None:
            return None, None, None, b""
        component, seed = chosen
        order = ball_order(split.graph, seed, (split.label == component) & reach.buildable)
        key = ball_key(order[:BALL_SITES])
        if key not in turns.proven:
            break
        # the same program as a round already proved: its seed and converted buildings count as visited
        passed = np.zeros(n, bool)
        passed[order[:BALL_SITES]] = True
        turns.pass_over(component, passed, converted)
    sites = BALL_SITES
    agg, ball = None, np.zeros(n, bool)
    for _ in range(4):
        ball = np.zeros(n, bool)
        ball[order[:sites]] = True
        agg = aggregate(held, building_columns(built, reach, ~ball, n_phases), x, covers, by_column)
        if agg.program.n_cols <= 1.2 * BALL_COLUMNS or sites <= 2:
            break
        sites = max(2, int(sites * BALL_COLUMNS / agg.program.n_cols))
    return agg, component, ball, key


def _sized_core(built: Built, reach: Reach, held: LinearProgram, x: np.ndarray, covers: CoverColumns,
                by_column: sp.csc_matrix, converted: np.ndarray, score: np.ndarray, services: np.ndarray | None,
                size: int, skip: int, max_columns: int, n_phases: int, visited: np.ndarray, hard_columns: int
                ) -> tuple[Aggregated | None, int, bool]:
    """The aggregated core of ``size`` extra buildings, shrunk until it has at most ~``max_columns`` columns.

    The target is never below :data:`PLAN_MARGIN` times the columns of the plan's own buildings (a core of
    those alone re-plans nothing new). When these make more than the round can take (``max_columns``, and
    never more than ``hard_columns``), or when the ranking is used up (``skip`` past its end), the core is a
    region (:func:`_region_core`). Returns the core, its extra buildings and whether it is a region.
    """
    own = converted & reach.buildable
    plan_only = aggregate(held, building_columns(built, reach, ~own, n_phases), x, covers, by_column)
    if plan_only.program.n_cols > 1.2 * hard_columns:
        return (*_region_core(built, reach, held, x, covers, by_column, converted, visited, max_columns, n_phases,
                              plan_only.program.n_cols), True)
    target = min(hard_columns, max(max_columns, int(PLAN_MARGIN * plan_only.program.n_cols)))
    agg = None
    for _ in range(6):
        core = core_sites(reach, converted, score, services, size, skip)
        extra = int((core & ~converted).sum())
        if not extra and skip:
            return (*_region_core(built, reach, held, x, covers, by_column, converted, visited, max_columns,
                                  n_phases, plan_only.program.n_cols), True)
        agg = aggregate(held, building_columns(built, reach, ~core, n_phases), x, covers, by_column)
        if agg.program.n_cols <= 1.2 * target or size <= 8:
            return agg, extra, False
        # the columns beyond the plan's grow about linearly with the buildings added
        beyond = agg.program.n_cols - plan_only.program.n_cols
        size = max(8, int(extra * (target - plan_only.program.n_cols) / max(beyond, 1)), size // 4)
    return agg, size, False


def _region_core(built: Built, reach: Reach, held: LinearProgram, x: np.ndarray, covers: CoverColumns,
                 by_column: sp.csc_matrix, converted: np.ndarray, visited: np.ndarray, max_columns: int,
                 n_phases: int, plan_columns: int) -> tuple[Aggregated | None, int]:
    """A region: a converted building not ``visited`` yet and the buildings sharing most demand with it.

    As many buildings (converted or not) as make about ``max_columns`` columns (:func:`grown_region`: beyond
    the seed's own neighbours when these make fewer); the region's converted buildings are marked ``visited``
    (updated), so the next region centres elsewhere. Returns the core and its buildings not converted; None
    when every converted building was in a region.
    """
    own = converted & reach.buildable
    if not (own & ~visited).any():
        return None, 0
    # the seeds in a fixed scattered order (not the buildings' input order, often sorted by place)
    order = np.random.default_rng(20261130).permutation(own.shape[0])
    seed = order[(own & ~visited)[order]][0]
    sites = max(2, int(own.sum() * max_columns / max(plan_columns, 1)))
    agg, region = None, own[:0]
    for _ in range(4):
        region = grown_region(reach, seed, sites)
        agg = aggregate(held, building_columns(built, reach, ~region, n_phases), x, covers, by_column)
        if sites <= 2 or region.sum() < sites or 0.6 * max_columns <= agg.program.n_cols <= 1.2 * max_columns:
            break
        sites = max(2, int(sites * max_columns / max(agg.program.n_cols, 1)))
    visited |= region & own
    return agg, int((region & ~converted).sum())


def grown_region(reach: Reach, seed: int, sites: int, max_hops: int = REGION_HOPS) -> np.ndarray:
    """(n_sites,) bool: ``seed`` and the ``sites - 1`` buildings sharing most demand with the region, hop by hop.

    First the buildings sharing (demand point, service) pairs with ``seed``, most first; when they are fewer
    than ``sites``, those sharing most with the region so far, up to ``max_hops`` times (only buildable ones).
    At city size with a large budget a plan converts a thousand buildings, and a seed's own neighbours alone
    made regions of ~1,000-2,000 columns where a round can take ~9,000.
    """
    region = np.zeros(reach.allowed.shape[0], bool)
    region[seed] = True
    for _ in range(max_hops):
        need = sites - int(region.sum())
        if need <= 0:
            break
        shared = shared_pairs(reach, np.flatnonzero(region))
        shared[region | ~reach.buildable] = 0.0
        ranked = np.argsort(-shared, kind="stable")
        ranked = ranked[shared[ranked] > 0][:need]
        if not ranked.shape[0]:
            break
        region[ranked] = True
    return region
