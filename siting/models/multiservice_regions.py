r"""Neighbourhood sub-MIPs on a multi-service plan: HiGHS re-plans a few dozen buildings, the rest held.

The whole program at city size is too large for HiGHS to improve the greedy plan within minutes (20,000 x
2,000 x 8: no better plan in 114 s; even restricted to the plan's and ~300 more buildings, its root LP takes
20 s). A neighbourhood is small enough to solve in a second or two: one converted building, the converted
buildings sharing demand with it and the buildings sharing most demand points with these. Every other
building's ``y`` and ``s`` columns keep their values, and so do the cover columns no row shares with a
neighbourhood column; :func:`restricted` moves the fixed columns into the row bounds and drops the rows
without a free column, so HiGHS sees ~1,000-7,000 columns instead of the whole program. The sub-MIP spends
what the neighbourhood spends now plus what the plan left unspent, starts from the plan and keeps every
priority level at least at the plan's value (rows of :func:`~siting.models.levels.hold_level`); its answer
is polished, checked against the full program and kept only when the objective rises.
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from ..backends import get_backend, stop_requested
from ..options import SolveOptions
from ..program import LinearProgram
from .base import Built
from .levels import hold_level
from .multiservice_phase import site_columns
from .multiservice_program import year_starts
from .multiservice_reach import Reach

__all__ = ["building_columns", "converted_sites", "restricted", "shared_pairs", "neighbourhood", "neighbourhood_search"]

#: the MIP gap at which a sub-MIP may stop (its plan only has to beat the start)
REGION_GAP = 1e-4


def building_columns(built: Built, reach: Reach, sites: np.ndarray, n_phases: int) -> np.ndarray:
    """(n_cols,) bool: every year's ``y`` and ``s`` columns of the new buildings outside ``sites``."""
    owner, _ = site_columns(reach.allowed)
    cols = np.flatnonzero((~sites & reach.buildable)[owner])
    mask = np.zeros(built.program.n_cols, bool)
    for base in year_starts(built, n_phases):
        mask[base + cols] = True
    return mask


def shared_pairs(reach: Reach, sites: np.ndarray) -> np.ndarray:
    """(n_sites,) how many (demand point, service) pairs each building shares with the buildings ``sites``."""
    shared = np.zeros(reach.allowed.shape[0])
    for s in reach.services:
        starts, stops = s.by_site.indptr[sites], s.by_site.indptr[sites + 1]
        points = np.unique(np.concatenate([s.by_site.indices[a:b] for a, b in zip(starts, stops, strict=True)]))
        if points.size:
            sub = s.by_demand[points]
            shared += np.bincount(sub.indices, minlength=shared.shape[0])
    return shared


def neighbourhood(reach: Reach, seed_site: int, size: int, converted: np.ndarray) -> np.ndarray:
    """(n_sites,) bool: ``seed_site``, the converted buildings sharing demand with it, and their neighbours.

    The neighbours are the buildings sharing most demand points with these, ``size`` buildings in all (more
    when more converted buildings share demand with the seed).
    """
    first = shared_pairs(reach, np.array([seed_site]))
    centres = np.union1d([seed_site], np.flatnonzero((first > 0) & converted))
    shared = shared_pairs(reach, centres) + first     # the seed's own neighbours first
    shared[~reach.buildable] = 0.0
    shared[centres] = np.inf
    region = np.zeros(shared.shape[0], bool)
    region[np.argsort(-shared, kind="stable")[:max(size, centres.shape[0])]] = True
    return region & (shared > 0)


def converted_sites(built: Built, reach: Reach, x: np.ndarray) -> np.ndarray:
    """(n_sites,) bool: buildings converted by the last year in ``x``."""
    first, stop = built.program.blocks["site"]
    return (x[first:stop] > 0.5) & reach.buildable


def restricted(program: LinearProgram, free: np.ndarray, x: np.ndarray,
               by_column: sp.csc_matrix | None = None) -> LinearProgram:
    """``program`` over the columns ``free`` with every other column at its value in ``x``.

    The fixed columns move into the row bounds and the objective offset; rows without a free column are
    dropped (``x`` satisfies them and nothing in the sub-program changes them). ``by_column``: the
    constraints in CSC form, when the caller restricts the same program many times.
    """
    a = program.constraints.tocsc() if by_column is None else by_column
    shift = a[:, ~free] @ x[~free]
    a_free = a[:, free].tocsr()
    rows = np.diff(a_free.indptr) > 0
    return replace(program, objective=program.objective[free], constraints=a_free[rows],
                   row_lower=(program.row_lower - shift)[rows], row_upper=(program.row_upper - shift)[rows],
                   col_lower=program.col_lower[free], col_upper=program.col_upper[free],
                   integrality=program.integrality[free],
                   objective_offset=program.objective_offset + float(program.objective[~free] @ x[~free]),
                   name=f"{program.name}_region", blocks={})


def _region_columns(program: LinearProgram, structural: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The region's ``y``/``s`` columns and the other (cover) columns sharing a row with them."""
    a = program.constraints
    rows = np.flatnonzero((abs(a) @ region.astype(float)) > 0)
    touched = np.zeros(program.n_cols, bool)
    touched[a[rows].indices] = True
    return region | (touched & ~structural)


def neighbourhood_search(built: Built, reach: Reach, x: np.ndarray, n_phases: int, *, deadline: float,
                         size: int = 120, step_s: float = 6.0, backend: str = "highs", tolerance: float = 0.0,
                         seed: int = 0) -> tuple[np.ndarray, dict]:
    """Re-plan one neighbourhood at a time with HiGHS, the rest of ``x`` fixed (see module notes).

    Returns the best plan and what was done (``lns_solves``, ``lns_kept``, ``lns_objective``). Seeds are the
    converted buildings in a seeded random order; each sub-MIP gets at most ``step_s`` seconds, starts from
    the current plan and holds every priority level at the start's value less ``tolerance`` (as the
    driver's own level rows do). Stops when every seed was tried or ``deadline`` is less than a second away.
    """
    program = built.program
    held = program
    for level in built.levels:
        held, _, _ = hold_level(held, level, x=x, tolerance=tolerance)
    structural = building_columns(built, reach, np.zeros(reach.allowed.shape[0], bool), n_phases)
    by_column = held.constraints.tocsc()
    rng = np.random.default_rng(seed)
    converted = converted_sites(built, reach, x)
    seeds = list(rng.permutation(np.flatnonzero(converted)))
    info: dict[str, float] = {"lns_solves": 0, "lns_kept": 0}
    value = program.objective_value(x)
    while seeds:
        left = deadline - time.perf_counter()
        if left < 1.0 or stop_requested():
            break
        region = neighbourhood(reach, int(seeds.pop()), size, converted)
        free = _region_columns(held, structural, building_columns(built, reach, ~region, n_phases))
        sub = restricted(held, free, x, by_column)
        if sub.max_violation(x[free], relative=True) > 1e-7:
            continue
        solution = get_backend(backend).solve(sub, SolveOptions(time_limit_s=min(step_s, left), mip_gap=REGION_GAP,
                                                                secondary="none"),
                                              warm_start=x[free])
        info["lns_solves"] += 1
        if solution.x is None:
            continue
        y = x.copy()
        y[free] = solution.x
        y = built.polish(y) if built.polish is not None else y
        if program.max_violation(y, relative=True) > 1e-7 or held.max_violation(y, relative=True) > 1e-7:
            continue
        new = program.objective_value(y)
        if new > value + 1e-9 * max(1.0, abs(value)):
            x, value = y, new
            info["lns_kept"] += 1
            converted = converted_sites(built, reach, x)
    info["lns_objective"] = value
    return x, info
