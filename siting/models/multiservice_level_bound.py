r"""Each priority level's own bound for the multi-service model (the ``level_bound`` hook's figures).

The driver maximises the first priority level's coverage, holds it, then the next level's, and so on
(:func:`siting.models.levels.solve_levels`). At city size each level's stage gets seconds and no root LP, so
these Lagrangian bounds (:func:`~siting.models.multiservice_lagrange.lagrange_bound` on the reach with only some
services valued) are what tells a planner how far a level may be from its best.

Notes
-----
Level 1: the relaxation with every other service valued 0 (floors, budgets and floor areas stay).

A later level :math:`l` is maximised with level 1 held, :math:`V_1(x) \ge H` (:func:`held_level`). For any
:math:`\sigma \ge 0` and every plan that holds it,

.. math::

    V_l(x) \le V_l(x) + \sigma (V_1(x) - H) \le L_\sigma - \sigma H,

where :math:`L_\sigma` is the Lagrangian bound of the objective :math:`V_l + \sigma V_1` (the reach with level
:math:`l`'s services weighted 1 and level 1's :math:`\sigma`; the levels in between dropped: a relaxation).
:math:`\min_\sigma (L^*_\sigma - \sigma H)` over the converged :math:`L^*` is convex in :math:`\sigma`, so
:func:`held_level_bound` walks :math:`\sigma` by doubling from :data:`SIGMA_START` until the bound rises,
then tries the geometric midpoints beside the best; each :math:`\sigma`'s search starts from the best
search's multipliers on the level's services and :math:`\sigma` times level 1's own bound's on level 1's.
Every :math:`\sigma` tried gives a bound; the least is kept.
Measured on the 20k policy bench case (one search of up to 30 s per :math:`\sigma`): 0.25 -> 0.286,
1 -> 0.162, 2 -> 0.121, 4 -> 0.115, 8 -> 0.145. In the bench's time (childcare held at 0.090 at 20k, 0.085
at 150k) the walk gives 0.129 and 0.128; scaling the multipliers of one search with both levels valued by
each :math:`\sigma` of a ladder (the previous way) gave 0.169 at both sizes.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from ..formulations.lexicographic import keep_slack
from ..interrupt import expired
from .base import Built
from .multiservice_lagrange import lagrange_bound
from .multiservice_params import MultiserviceParams
from .multiservice_reach import Reach

__all__ = ["level_bounds", "held_level_bound", "held_level", "scaled"]

#: the first multiplier of the held level tried (then doubled or halved); the 20k and 150k policy bench cases
#: end between 2 and 8
SIGMA_START = 2.0
#: multipliers of the held level tried at most, and the range they stay in
SIGMA_TRIES = 4
SIGMA_RANGE = (1.0 / 64.0, 256.0)
#: subgradient steps per multiplier tried, at most (20k policy bench case: 404 steps in 2.8 s reach 0.1219,
#: 988 reach 0.1215)
SIGMA_ITERATIONS = 400


def scaled(reach: Reach, weights: np.ndarray) -> Reach:
    """The reach with each service's objective (its points and its existing facilities) times its weight."""
    return replace(reach, services=[replace(s, value=float(w) * s.value, offset=float(w) * s.offset)
                                    for s, w in zip(reach.services, weights, strict=True)])


def held_level(built: Built, x: np.ndarray, tolerance: float) -> tuple[tuple[str, ...], float] | None:
    """The first priority level's services and a value the final program certainly holds it at (None: no level).

    The driver starts the first level from this warm start and keeps the start when the solver finds nothing
    better (:func:`siting.models.levels.solve_levels`), so the level is held at no less than the start's value
    less the slack of :func:`~siting.models.levels.hold_level`. That slack jumps from half a unit to a relative
    1e-6 at large values, so the slack used here is never below ``1e-6 |value|`` either: then every value the
    solver may hold the level at, less its own slack, is at least the returned one.
    """
    if not built.levels:
        return None
    level = built.levels[0]
    value = float(level.objective @ x + level.offset)
    slack = max(tolerance * abs(value), keep_slack(level.objective, value), 1e-6 * max(1.0, abs(value)))
    return tuple(level.services), value - slack - 1e-8 * max(1.0, abs(value))


def level_bounds(built: Built, reach: Reach, params: MultiserviceParams, counts: np.ndarray, x: np.ndarray, *,
                 deadline: float | None, multipliers: tuple[np.ndarray, ...] = ()) -> dict[int, float]:
    r"""Each priority level's own Lagrangian bound (module notes): level number -> bound.

    ``x`` (a feasible plan) sets the Polyak targets and the held value of level 1; ``multipliers``: the
    program's own bound's final-year multipliers (:attr:`LagrangeBound.multipliers`), where a later level's
    search starts on its own services. Levels share the time to ``deadline`` in order, the first getting its
    share first; levels the time did not reach are missing. Each bound is capped at every point of the level
    covered every year.

    Example
    -------
    Elderly care, then childcare: each bound is at least what any plan reaches for its level with the earlier
    levels held (``tests/services/test_multiservice_level_bound.py``).
    """
    n_phases = len(params.phases) if params.phases else 1
    start, stop = built.program.blocks["year"]
    last = start + (n_phases - 1) * ((stop - start) // n_phases)
    held = held_level(built, x, params.priority_tolerance)
    first = np.array([s.key in built.levels[0].services for s in reach.services]) if built.levels else None
    first_u: tuple[np.ndarray, ...] = ()
    out: dict[int, float] = {}
    for i, level in enumerate(built.levels):
        now = time.perf_counter()
        if expired(deadline):
            break
        own = np.array([s.key in level.services for s in reach.services])
        share = None if deadline is None else now + (deadline - now) / (len(built.levels) - i)
        # the Polyak target is the plan's final-year value of what is searched, without the existing facilities,
        # in the search's own units: with their offset it is above the values searched and stops the search
        # early (20k policy, level 1: 0.6060), the yearly mean is far below it with phases and the steps too long
        # (150k: 0.6062); this one gives 0.5772 and 0.5828
        target = float(level.objective[last:stop] @ x[last:stop])
        if i == 0 or first is None or held is None:
            found = lagrange_bound(scaled(reach, own.astype(float)), params, counts, target=target, deadline=share)
            bound: float | None = found.bound
            if i == 0:
                first_u = found.multipliers
        else:
            first_target = float(built.levels[0].objective[last:stop] @ x[last:stop])
            bound = held_level_bound(reach, params, counts, own, first, held[1], target, first_target,
                                     tuple(multipliers), first_u, deadline=share)
        if bound is None or not np.isfinite(bound):
            continue                   # no bound rather than a NaN the driver's checks cannot compare
        ceiling = n_phases * sum(float(s.value.sum()) + s.offset for s, on in zip(reach.services, own, strict=True)
                                 if on)
        out[level.number] = min(float(bound), ceiling)
    return out


def held_level_bound(reach: Reach, params: MultiserviceParams, counts: np.ndarray, own: np.ndarray,
                     first: np.ndarray, held: float, target: float, first_target: float,
                     own_u: tuple[np.ndarray, ...], first_u: tuple[np.ndarray, ...], *,
                     deadline: float | None) -> float | None:
    r"""The least :math:`L_\sigma - \sigma H` over the multipliers :math:`\sigma` tried (module notes).

    ``own``, ``first`` (K,) bool: the level's services and level 1's (weighted 1 and :math:`\sigma`, summed
    where both); ``held``: :math:`H`, level 1's value with its existing facilities; ``target``,
    ``first_target``: the plan's final-year values of the two (Polyak targets, combined with each
    :math:`\sigma`); ``own_u``, ``first_u``: multipliers to start from (level 1's in its own units; either may
    be empty). The first :math:`\sigma` always runs (at least one step, whatever the deadline); None when no
    :math:`\sigma` gave a finite value.
    """
    starts = [np.zeros_like(s.value) for s in reach.services]
    for k in range(len(reach.services)):
        if own[k] and own_u:
            starts[k] = own_u[k]
        elif first[k] and first_u:
            starts[k] = first_u[k]
        elif own[k] or first[k]:
            starts[k] = 0.5 * reach.services[k].value
    tried: dict[float, float] = {}
    best_u: dict[float, list[np.ndarray]] = {}

    def run(sigma: float) -> float:
        near = min(best_u, key=lambda s: tried[s]) if best_u else None
        # the level's part from the best search so far, level 1's from its own search times sigma (rescaling the
        # best search's instead ends the same: 20k policy, 0.1198 either way)
        base = [sigma * starts[k] if first[k] else (starts[k] if near is None else best_u[near][k])
                for k in range(len(starts))]
        now = time.perf_counter()
        left = SIGMA_TRIES - len(tried)
        until = None if deadline is None else now + (deadline - now) / max(1, left)
        weights = own.astype(float) + sigma * first
        found = lagrange_bound(scaled(reach, weights), params, counts, target=target + sigma * first_target,
                               deadline=until, max_iterations=SIGMA_ITERATIONS, start=base)
        value = found.bound - sigma * held
        # a non-finite value is no bound: it must neither be kept nor steer the walk
        tried[sigma] = value if np.isfinite(value) else np.inf
        if np.isfinite(value):
            best_u[sigma] = list(found.multipliers)
        return tried[sigma]

    def room() -> bool:
        return len(tried) < SIGMA_TRIES and (deadline is None or time.perf_counter() < deadline)

    low, high = SIGMA_RANGE
    sigma = SIGMA_START
    run(sigma)
    # double while the bound falls; if the first doubling does not help, halve instead
    for factor in (2.0, 0.5):
        moved = False
        while room():
            step = sigma * factor
            if not low <= step <= high:
                break
            if run(step) >= tried[sigma]:
                break
            sigma, moved = step, True
        if moved:
            break
    # the geometric midpoints beside the best
    best = min(tried, key=lambda s: tried[s])
    for step in (best * math.sqrt(2.0), best / math.sqrt(2.0)):
        if room() and step not in tried and low <= step <= high:
            run(step)
    least = min(tried.values())
    return float(least) if np.isfinite(least) else None
