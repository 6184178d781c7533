r"""Each priority level's own cores: re-plan where that level's services go, the earlier levels held.

With priority levels the warm start searches a weighted objective (earlier levels far heavier,
:data:`~siting.models.multiservice_heuristic.LEVEL_WEIGHT`), and its core MIPs
(:mod:`~siting.models.multiservice_core`) free *every* service of a few buildings beside the plan's own (20k policy
bench case: 22 beside 96), holding every level at the start's value. Level 1 then stays near where the greedy put
it: on that case elderly care ended at 0.5689 where HiGHS on level 1 alone (every other service valued 0) finds
0.5750 (its bound 0.5754, 97 s); at 150k 0.5675 against a bound of 0.5797.

A *level core* frees what the level needs, over many more buildings: the conversion (``y``) and the level's own
services (``s``) of the plan's buildings and of the buildings whose level services would add most to the plan per
yuan (:func:`~siting.models.multiservice_core.core_sites` on the reach with only the level's services valued),
and every placement the plan already makes (each may be dropped, freeing its money); all else stays at the plan's
values, and the cover columns are aggregated as in a core. Levels up to this one are held at the plan's values,
the later ones are not: a higher level 1 may take money from childcare, as the policy asks — the driver holds the
levels lexicographically, with no tolerance by default. The core is solved by RINS
(:func:`~siting.models.multiservice_balls.rins_solve`) on the search's weighted objective, and its answer kept when
the full program says it is feasible and the plan is *lexicographically* better (:func:`ahead`: the levels in
order, then the program's objective). A round that gains goes on from the new plan; one that gains nothing is tried
by HiGHS on the whole core (:data:`LEVEL_CORE_TOLERANCES`), then once with :data:`GROWTH` times the buildings,
then the next level follows.

Example
-------
``tests/services/test_multiservice_level_core.py``: on small policy cities the level rounds never lower level 1,
never leave the program, and raise elderly care where the weighted search left it short.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..backends import stop_requested
from .base import Built
from .levels import hold_level
from .multiservice_core import aggregate, core_sites, cover_columns, polished, solve_core
from .multiservice_level_bound import scaled
from .multiservice_phase import site_columns
from .multiservice_program import year_starts
from .multiservice_reach import Reach
from .multiservice_regions import converted_sites

__all__ = ["level_columns", "ahead", "level_search"]

#: the buildings a level core takes beside the plan's at first (20k policy bench case, elderly care from 0.5689,
#: RINS: 600 -> 0.5717 in 1.5-1.8 s, then 1,800 -> 0.5733 in 6-7 s; 150k: 600 beside 486, 41,000 columns)
LEVEL_CORE_SITES = 600
#: a round that gains nothing is tried again with this many times the buildings, once
GROWTH = 3
#: a level core is solved by RINS at the first tolerance (binaries its LP puts this near the plan are fixed); one
#: that gains nothing is tried at the next (None: HiGHS on the whole core) before it grows
LEVEL_CORE_TOLERANCES: tuple[float | None, ...] = (0.3, None)
#: a level round's time at most, and at least (less is left: the level is done)
LEVEL_ROUND_S = 30.0
MIN_ROUND_S = 0.5
#: relative slack of :func:`ahead`: a level within it of the plan's counts as equal
AHEAD_SLACK = 1e-9


def level_columns(built: Built, reach: Reach, x: np.ndarray, sites: np.ndarray, services: np.ndarray,
                  n_phases: int) -> np.ndarray:
    """(n_cols,) bool: every year's ``y`` and ``services`` (K,) columns of ``sites``, and every placement of ``x``.

    The placements of ``x`` are free so that the core may drop them and spend their money on the level.
    """
    owner, service = site_columns(reach.allowed)
    own = sites[owner] & ((service < 0) | services[np.maximum(service, 0)])
    placed = service >= 0
    free = np.zeros(built.program.n_cols, bool)
    for base in year_starts(built, n_phases):
        block = slice(base, base + owner.shape[0])
        free[block] = own | (placed & (x[block] > 0.5))
    return free


def _key(built: Built, x: np.ndarray) -> list[float]:
    return [float(level.objective @ x) for level in built.levels] + [built.program.objective_value(x)]


def ahead(built: Built, new: np.ndarray, old: np.ndarray) -> bool:
    """True when ``new`` is lexicographically better than ``old``: its levels in order, then the objective.

    A value within :data:`AHEAD_SLACK` (relative) of ``old``'s counts as equal, so rounding alone never decides.
    """
    for a, b in zip(_key(built, new), _key(built, old), strict=True):
        slack = AHEAD_SLACK * max(1.0, abs(b))
        if a > b + slack:
            return True
        if a < b - slack:
            return False
    return False


def level_search(built: Built, search_built: Built, reach: Reach, x: np.ndarray, n_phases: int, *,
                 deadline: float, backend: str = "highs") -> tuple[np.ndarray, dict[str, Any]]:
    """Level cores from plan ``x`` (module notes), level by level, until ``deadline``; the best plan and a log.

    ``search_built``: the program with the search's weighted objective (what each core maximises); ``built``: the
    program itself (feasibility, levels, the objective of :func:`ahead`). Each level gets twice the next one's
    share of what is left when it starts (of two levels, the first two thirds). Returns the plan and
    ``level_rounds``: per round ``(level, buildings beside the plan's, columns, seconds, kept, RINS tolerance or
    None for the whole core)``.
    """
    rounds: list[tuple[int, int, int, float, bool, float | None]] = []
    n_levels = len(built.levels)
    for i, level in enumerate(built.levels):
        now = time.perf_counter()
        # each level twice the next one's share of what is left: the earlier level decides more
        until = now + (deadline - now) * 2.0 ** (n_levels - i - 1) / (2.0 ** (n_levels - i) - 1.0)
        on = np.array([s.key in level.services for s in reach.services])
        level_reach = scaled(reach, on.astype(float))
        held = search_built.program
        for earlier in built.levels[:i + 1]:
            held, _, _ = hold_level(held, earlier, x=x, tolerance=0.0)
        covers = cover_columns(held)
        by_column = held.constraints.tocsc()
        size, grown, rung = LEVEL_CORE_SITES, False, 0
        while until - time.perf_counter() >= MIN_ROUND_S and not stop_requested():
            t0 = time.perf_counter()
            converted = converted_sites(built, reach, x)
            sites = core_sites(level_reach, converted, np.zeros(converted.shape[0]), None, size)
            agg = aggregate(held, level_columns(built, reach, x, sites, on, n_phases), x, covers, by_column)
            z0 = agg.start(x)
            if agg.program.max_violation(z0, relative=True) > 1e-7:
                break                               # not expected: the plan must be a point of the core
            limit = min(LEVEL_ROUND_S, until - time.perf_counter())
            if limit < 0.1:
                break                               # building the core used up the level's time
            tolerance = LEVEL_CORE_TOLERANCES[rung]
            solution_x, _ = solve_core(agg.program, z0, time_limit_s=limit, backend=backend, tolerance=tolerance)
            y = polished(built, held, None if solution_x is None else agg.expand(solution_x, x))
            kept = y is not None and ahead(built, y, x)
            rounds.append((level.number, int((sites & ~converted).sum()), agg.program.n_cols,
                           round(time.perf_counter() - t0, 1), kept, tolerance))
            if kept:
                assert y is not None
                x, rung = y, 0
            elif rung + 1 < len(LEVEL_CORE_TOLERANCES):
                rung += 1
            elif grown:
                break
            else:
                size, grown, rung = size * GROWTH, True, 0
    return x, {"level_rounds": rounds}
