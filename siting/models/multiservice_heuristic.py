"""The multi-service model's ``warm_start`` and ``bound`` hooks: a greedy plan and a Lagrangian bound.

At city size (150,000 demand points x 10,000 buildings x 8 services) the program is too large for a MIP solver
to find a good plan or a useful bound within minutes; the driver starts it from the best of several greedy
restarts (:mod:`siting.models.multiservice_greedy`), each improved by moves and swaps
(:mod:`~siting.models.multiservice_local`, :mod:`~siting.models.multiservice_swap`), then by neighbourhood
sub-MIPs (:mod:`~siting.models.multiservice_regions`), and reports the tighter of the solver's bound and the Lagrangian
one (:mod:`siting.models.multiservice_lagrange`); after the bound, aggregated core MIPs on the plan's and the bound's
best buildings use the rest of the warm start's time (:mod:`~siting.models.multiservice_core`). With priority levels
each level's own cores come first (:mod:`~siting.models.multiservice_level_core`), and the last of that time goes
to each level's own bound and the objective's with level 1 held (:mod:`~siting.models.multiservice_level_bound`),
from the plan the core MIPs leave. All of it runs in the
warm start, within its deadline;
the ``bound`` hook returns the bound of the same solve (the driver calls it after the backend, with no time
left to spare). The plan is encoded as the program's column vector and checked against the program itself;
rules the greedy does not plan for (capacitated services, budget groups, complexes, new placements per
community and year) or a floor it cannot reach leave the solver without a start, as before.
"""
from __future__ import annotations

import threading
import time
import weakref
from dataclasses import replace
from typing import Any

import numpy as np

from ..data.instance import Instance
from ..rules import SiteRules
from .base import Built
from .beside import Beside
from .multiservice_components import ComponentTurns, Shortfalls
from .multiservice_core import core_search
from .multiservice_greedy import FLOOR_WEIGHT, GreedyPlan, supported
from .multiservice_hull import hull_beside
from .multiservice_lagrange import lagrange_bound
from .multiservice_level_bound import held_bounds, held_level, level_bounds, scaled
from .multiservice_level_core import ahead, level_search
from .multiservice_local import improved_plan, refilled_plan
from .multiservice_params import MultiserviceParams
from .multiservice_phase import site_columns
from .multiservice_program import year_starts
from .multiservice_reach import Reach, reach_of
from .multiservice_regions import neighbourhood_search

__all__ = ["warm_start", "improve_start", "warm_start_share", "bound", "level_bound", "level_bounds", "encode",
           "decode_years", "last_run"]

#: programs with fewer nonzeros go to the solver alone: the heuristics would only take its time (the demo
#: district, 32,655 columns and 165,871 nonzeros with two priority levels, 120 s: HiGHS alone 3.0949, gap 0.69 %;
#: after the greedy start and its search 3.0245, gap 4.7 %; after the greedy start alone 3.0312, 4.3 %)
MIN_NNZ = 200_000
#: the greedy starts' share of the warm start's time (the core MIPs do better with the rest: 150k plain at 300 s,
#: 0.4 -> 0.2: plan 0.8205 -> 0.8218, the restarts' plan 0.8111 either way; 20k policy gap 36.2 -> 33.2 %)
_SEARCH_SHARE = 0.2
#: the bound's share of what the search left, when a core MIP follows it (:mod:`~siting.models.multiservice_core`)
_BOUND_SHARE = 0.5
#: each core MIP round's share of the core's time left (150k plain bench case, 300 s: 0.5 -> 0.35 gave 0.8218 -> 0.8226,
#: gap 1.09 -> 0.98 %; 20k plain unchanged at 0.8073, 20k policy 1.3811 -> 1.3709)
_CORE_ROUND_SHARE = 0.35

#: programs of at least this many nonzeros give the warm start (and its core MIPs) WARM_SHARE_LARGE of the time: the
#: whole-program HiGHS run after it found no better plan in any bench run at 20k (250,000 nonzeros plain, 821,000
#: policy) or 150k (1.6 M); 150k plain at 300 s: gap 1.29 % with half the time, 1.11 % with 95 %
LARGE_NNZ = 200_000
WARM_SHARE_LARGE = 0.95

#: with priority levels the warm start searches a weighted objective: level ``l`` of ``L`` held levels counts
#: LEVEL_WEIGHT ** (L - l + 1) times, the rest once. The greedy and the core MIPs otherwise maximise the plain
#: sum with each level only kept at the greedy's value, and at city size the driver's level stages get seconds:
#: 8,000 x 800 generated city, elderly care first, 60 s: level 1 held at 0.172 where it alone reaches 0.397
LEVEL_WEIGHT = 10.0

#: reach entries (demand point, building, service) from which the bound runs beside the greedy search (without
#: levels): 150k plain (2.4 M) greedy 43-48 s alone, 41.6 s beside the bound, the core MIPs 199 -> 225 s, seeds
#: 0 / 4 / 7 0.98-1.03 / 1.40-1.46 / 1.095 -> 0.909 / 1.340 / 0.893 %, seeds 1-3 within their spread; 20k (0.31 M:
#: small arrays, the GIL shared) greedy 10.3 -> 14.6 s, bound 4.5 -> 9.1 s, plan 0.8070 -> 0.8065-0.8067, gap
#: 0.73 -> 0.77-0.79 %; 60k (0.94 M) 180 s: 0.973 / 1.002 % (this code / the code before) -> 0.827 %
BOUND_BESIDE_MIN_ENTRIES = 500_000
#: the share of the time the bound leaves to the core MIPs that each priority level's own bound, and the objective's
#: with level 1 held, keep back for after them (at most LEVEL_BOUNDS_MAX_SHARE together). 150k policy, before the
#: objective's bound, when the levels' bounds ran before the core MIPs: two levels in 0.15 together: level 1's
#: bound 0.6073, in 0.15 each 0.5801 (seed 0; 0.579-0.583 over runs), in 0.3 each (half for both) 0.5784, level
#: 2's 0.1297 -> 0.1261, the plan no worse (0.7728 -> 0.7734); seed 1 0.4798 -> 0.4794, 0.1265 -> 0.1252; 20k
#: converges either way (0.5772)
LEVEL_BOUND_SHARE = 0.3
#: at most this share for the levels' bounds and the objective's with level 1 held together (150k policy, 300 s:
#: 0.75 gave the objective's bound 1.0827 in 114 s where 0.5 gave 1.0952 in 78 s, before the sigma walk's tries
#: left time to continue the best one)
LEVEL_BOUNDS_MAX_SHARE = 0.5

#: with priority levels, the share of the core MIPs' time each level's own cores take first
#: (:mod:`~siting.models.multiservice_level_core`)
LEVEL_CORE_SHARE = 0.4

#: the core MIPs solve a second ball beside each ball once the hull LPs leave the other core to them (True: at once;
#: they always do when the plan is too large for a city-wide core). 150k plain, budget x3, seed 0, pairs at once:
#: gap 2.03 -> 1.81 %; at the bench's budget seed 3 1.04 % (1.02-1.09 % before), but seed 4 1.52 % against 1.43 %
#: without pairs (1.34-1.46 % before): there the city-wide rounds gain most, and a third solver slows them
PAIR_BESIDE_HULL = False

#: the last warm start's figures, for benchmarks (:func:`last_run`; one slot)
_LAST: dict[str, Any] = {}


class _Kept:
    """Recent warm starts' bounds for the driver's hooks, each answering only for its own solve.

    A solve is its (instance, params, rules) objects, held by weak reference (nothing outlives its solve; a
    bound of other site rules, another lock or budget in serve, is no bound of this solve). Several solves at
    once in threads each find their own; the oldest of more than :attr:`SIZE` is dropped (its hook then says
    None, never another solve's value).
    """

    SIZE = 8

    def __init__(self) -> None:
        self._entries: list[tuple[tuple[weakref.ref, ...], dict[str, Any]]] = []
        self._lock = threading.Lock()

    @staticmethod
    def _is(refs: tuple[weakref.ref, ...], objs: tuple[object, ...]) -> bool:
        return all(ref() is obj for ref, obj in zip(refs, objs, strict=True))

    def forget(self, *objs: object) -> None:
        """Drop what was kept for this solve (a new warm start of it begins) and for solves that are gone."""
        with self._lock:
            self._entries = [(refs, kept) for refs, kept in self._entries
                             if not self._is(refs, objs) and all(ref() is not None for ref in refs)]

    def put(self, objs: tuple[object, ...], key: str, value: Any) -> None:
        with self._lock:
            for refs, kept in self._entries:
                if self._is(refs, objs):
                    kept[key] = value
                    return
            self._entries.append((tuple(weakref.ref(o) for o in objs), {key: value}))
            del self._entries[:-self.SIZE]

    def get(self, objs: tuple[object, ...], key: str) -> Any:
        with self._lock:
            return next((kept.get(key) for refs, kept in self._entries if self._is(refs, objs)), None)


_KEPT = _Kept()


def last_run() -> dict[str, Any]:
    """What the last warm start did: seconds per step, the greedy's value, the bound, why no start was given."""
    return {k: v for k, v in _LAST.items() if not k.startswith("_")}


def encode(plan: GreedyPlan, reach: Reach, rules: SiteRules, built: Built, n_phases: int) -> np.ndarray:
    """The program's column vector of ``plan`` (cover columns from the built program's own ``polish``)."""
    program = built.program
    n = plan.year.shape[0]
    x = np.zeros(program.n_cols)
    owner, service = site_columns(reach.allowed)
    placement = np.flatnonzero(service >= 0)
    for t, base in enumerate(year_starts(built, n_phases)):
        on = (plan.year >= 0) & (plan.year <= t)
        x[base:base + n] = on.any(axis=1) | (rules.existing & (rules.lower > 0))     # existing: open every year
        x[base + placement] = on[owner[placement], service[placement]]
    return built.polish(x) if built.polish is not None else x


def _last_year_value(plan: GreedyPlan, reach: Reach) -> float:
    placed = plan.placed
    return float(sum(s.value[(s.by_demand @ placed[:, k].astype(np.int8)) > 0].sum()
                     for k, s in enumerate(reach.services)))


def _level_factor(built: Built, number: int) -> float:
    """The search objective's weight of held level ``number`` (see :data:`LEVEL_WEIGHT`)."""
    return float(LEVEL_WEIGHT ** (len(built.levels) - number + 1))


def level_weights(built: Built, reach: Reach) -> np.ndarray | None:
    """(K,) weight of each service in the search objective (see :data:`LEVEL_WEIGHT`); None without levels."""
    if not built.levels:
        return None
    weights = np.ones(len(reach.services))
    for level in built.levels:
        for k, s in enumerate(reach.services):
            if s.key in level.services:
                weights[k] = _level_factor(built, level.number)
    return weights


def weighted(built: Built, reach: Reach, weights: np.ndarray | None) -> tuple[Built, Reach]:
    """The program and the reach with each service's objective times its weight (unchanged for None)."""
    if weights is None:
        return built, reach
    program = built.program
    objective = program.objective.copy()
    offset = program.objective_offset
    for level in built.levels:
        factor = _level_factor(built, level.number)
        objective += (factor - 1.0) * level.objective
        offset += (factor - 1.0) * level.offset
    return replace(built, program=replace(program, objective=objective, objective_offset=offset)), \
        scaled(reach, weights)


def warm_start_share(built: Built) -> float:
    """The share of the time left the driver gives :func:`warm_start`: most of it on large programs, else half."""
    return WARM_SHARE_LARGE if built.program.constraints.nnz >= LARGE_NNZ else 0.5


def warm_start(instance: Instance, params: MultiserviceParams, rules: SiteRules, built: Built,
               deadline: float | None) -> np.ndarray | None:
    """The greedy plan as the program's vector (None when it is not a feasible start), and the bound kept."""
    _LAST.clear()
    _KEPT.forget(instance, params, rules)
    if built.program.constraints.nnz < MIN_NNZ:
        return None
    return _search(instance, params, rules, built, deadline)


def improve_start(instance: Instance, params: MultiserviceParams, rules: SiteRules, built: Built,
                  x: np.ndarray, deadline: float | None) -> np.ndarray:
    """A start no worse than the feasible vector ``x`` (a re-plan's previous plan); ``x`` when none is found.

    ``x``'s placements are kept and the money they leave (a larger budget) spent by the greedy, year by year;
    the local search follows (:func:`~.multiservice_local.refilled_plan`). Programs of at least :data:`MIN_NNZ`
    nonzeros then go on as :func:`warm_start` does (neighbourhoods, each level's cores, bound, core MIPs); smaller
    ones are left to the solver. The start is never *lexicographically* behind ``x`` (its priority levels in order,
    then the objective, as the driver ranks plans), else ``x`` itself is returned: a level core may lower a later
    level to raise an earlier one, as the policy asks.
    """
    _LAST.clear()
    _KEPT.forget(instance, params, rules)
    if built.program.constraints.nnz >= MIN_NNZ:
        found = _search(instance, params, rules, built, deadline, previous=x)
    else:
        reach = reach_of(instance, params, rules)
        _, search_reach = weighted(built, reach, level_weights(built, reach))
        n_phases = params.n_years
        found = None
        if supported(params, reach) is None:
            plan = refilled_plan(search_reach, params, rules, decode_years(x, reach, built, n_phases),
                                 deadline=deadline)
            if plan.floors_met:
                found = encode(plan, reach, rules, built, n_phases)
    if found is None or built.program.max_violation(found, relative=True) > 1e-7 or ahead(built, x, found):
        return x
    return found


def decode_years(x: np.ndarray, reach: Reach, built: Built, n_phases: int) -> np.ndarray:
    """(n_sites, K) the year each placement of the program's vector ``x`` opens in (-1: never); see :func:`encode`."""
    owner, service = site_columns(reach.allowed)
    placement = np.flatnonzero(service >= 0)
    year = np.full(reach.allowed.shape, -1, np.int64)
    starts = year_starts(built, n_phases)
    for t in range(n_phases - 1, -1, -1):           # the earliest year a placement is on wins
        on = x[starts[t] + placement] > 0.5
        year[owner[placement[on]], service[placement[on]]] = t
    return year


def _search(instance: Instance, params: MultiserviceParams, rules: SiteRules, built: Built,
            deadline: float | None, previous: np.ndarray | None = None) -> np.ndarray | None:
    """:func:`warm_start`'s search; from ``previous`` (a feasible vector) refilled instead of the greedy starts."""
    began = time.perf_counter()
    reach = reach_of(instance, params, rules)
    _LAST["reach_s"] = time.perf_counter() - began
    # with priority levels the plan is searched on the weighted objective (earlier levels first); the bound
    # stays the program's own
    weights = level_weights(built, reach)
    search_built, search_reach = weighted(built, reach, weights)
    n_phases = params.n_years
    why = supported(params, reach)
    x: np.ndarray | None = None
    target = 0.0
    early: Beside | None = None
    if why is None:
        t0 = time.perf_counter()
        # the greedy starts, their local search and the neighbourhood sub-MIPs may use _SEARCH_SHARE of the
        # warm start's time, the bound and the core MIPs the rest
        search_deadline = None if deadline is None else t0 + _SEARCH_SHARE * max(0.0, deadline - t0)
        # with weights, half the search's time, and the floors valued above the heaviest level as they are above
        # the plain objective; should the weighted greedy still miss a floor, the plain sum's gets the rest
        half = None if search_deadline is None or weights is None else t0 + 0.5 * (search_deadline - t0)

        def bound_beside(year: np.ndarray) -> None:
            # without priority levels the bound needs only a plan's value (its Polyak target): at city size it runs
            # beside the rest of the search, mostly in numpy and scipy without the GIL
            nonlocal early
            assert deadline is not None
            began_bound = time.perf_counter()
            early = Beside(lagrange_bound, reach, params, rules.counts,
                           target=_last_year_value(GreedyPlan(year, True), reach),
                           deadline=began_bound + _BOUND_SHARE * max(0.0, deadline - began_bound), name="siting-bound")

        beside = deadline is not None and not built.levels and \
            sum(s.by_demand.nnz for s in reach.services) >= BOUND_BESIDE_MIN_ENTRIES
        if previous is not None:
            plan = refilled_plan(search_reach, params, rules, decode_years(previous, reach, built, n_phases),
                                 deadline=search_deadline)
        else:
            plan = improved_plan(search_reach, params, rules, deadline=half or search_deadline,
                                 floor_weight=FLOOR_WEIGHT * (1.0 if weights is None else float(weights.max())),
                                 on_first=bound_beside if beside else None)
        if weights is not None and not plan.floors_met and previous is None:
            plan = improved_plan(reach, params, rules, deadline=search_deadline)
            search_built, search_reach = built, reach
            _LAST["level_weights"] = "dropped: the weighted greedy missed a floor"
        _LAST["greedy_s"] = time.perf_counter() - t0
        target = _last_year_value(plan, reach)
        if plan.floors_met:
            x = encode(plan, reach, rules, built, n_phases)
            violation = built.program.max_violation(x, relative=True)
            if violation > 1e-7:
                why, x = f"the greedy plan violates the program by {violation:.3g}", None
            else:
                _LAST["greedy_objective"] = built.program.objective_value(x)
                if search_deadline is not None:      # what the starts left: sub-MIPs on neighbourhoods
                    before = built.program.objective_value(x)
                    x, regions = neighbourhood_search(search_built, search_reach, x, n_phases,
                                                      deadline=search_deadline)
                    _LAST.update(regions, lns_objective=built.program.objective_value(x))
                    target += max(0.0, built.program.objective_value(x) - before) / n_phases
        else:
            why = "the greedy plan misses a floor"
        _LAST["search_s"] = time.perf_counter() - t0
    _LAST["no_start"] = why
    t0 = time.perf_counter()
    # with a start, the bound may use half of what is left and the core MIPs the rest (more when it converges
    # sooner); the core ranks buildings by the bound's own scores, so it runs after it
    if deadline is None:
        bound_deadline = None
    elif x is None:
        # no start: the backend must find a plan on its own, so it gets back the driver's half of the time
        bound_deadline = began + min(1.0, 0.5 / warm_start_share(built)) * max(0.0, deadline - began)
    else:
        bound_deadline = t0 + _BOUND_SHARE * max(0.0, deadline - t0)
    if early is not None:          # started beside the search (no levels: it holds none, with or without a start)
        lagrange = early.result()
        _LAST.update(bound_s=early.seconds, bound_beside=True, bound_waited_s=time.perf_counter() - t0)
    else:
        lagrange = lagrange_bound(reach, params, rules.counts, target=target, deadline=bound_deadline,
                                  held=None if x is None else held_level(built, x, params.priority_tolerance))
        _LAST.update(bound_s=time.perf_counter() - t0, bound_beside=False)
    _LAST.update(bound=lagrange.bound, bound_iterations=lagrange.iterations, bound_bundles=lagrange.bundles)
    bound_value = float(lagrange.bound)
    # with priority levels each level's bound, then the objective's with level 1 held, come last: from the plan the
    # core MIPs leave, whose level 1 is no lower (a higher held value, a tighter bound); the core MIPs leave them
    # their share of the time
    held_last = x is not None and bool(built.levels)
    core_deadline = deadline
    if held_last and deadline is not None:
        share = min(LEVEL_BOUNDS_MAX_SHARE, LEVEL_BOUND_SHARE * (len(built.levels) + 1))
        core_deadline = time.perf_counter() + (1.0 - share) * max(0.0, deadline - time.perf_counter())
    if x is not None and core_deadline is not None and built.levels:
        # each level's own cores first: the weighted cores below free every service of a few buildings and hold
        # every level where the greedy (or a re-plan's refill) left it
        t1 = time.perf_counter()
        x, rounds = level_search(built, search_built, reach, x, n_phases,
                                 deadline=t1 + LEVEL_CORE_SHARE * max(0.0, core_deadline - t1))
        _LAST.update(rounds, level_core_s=time.perf_counter() - t1,
                     level_core_objective=built.program.objective_value(x))
    if x is not None and core_deadline is not None and lagrange.site_score is not None:
        shortfalls = Shortfalls.at(reach, lagrange)
        # the components' hull LPs lower the bound beside the search, on the other core
        stop = threading.Event()
        hull = hull_beside(built, reach, params, rules.counts, lagrange, shortfalls, x, deadline=core_deadline,
                           stop=stop)
        try:
            x, core = core_search(search_built, search_reach, x, n_phases, lagrange.site_score,
                                  lagrange.site_services, deadline=core_deadline, round_share=_CORE_ROUND_SHARE,
                                  turns=None if shortfalls is None else ComponentTurns(shortfalls),
                                  pair=lambda: PAIR_BESIDE_HULL or hull is None or hull.done())
        except BaseException:
            stop.set()      # an interrupted search: the LPs beside it start no more
            raise
        _LAST.update(core, core_objective=built.program.objective_value(x))
        if hull is not None:
            lowered = hull.result()
            _LAST.update(hull_bound=lowered.bound, hull_solved=lowered.solved, hull_lowered=lowered.lowered,
                         hull_s=lowered.seconds, hull_components=lowered.components, hull_errors=lowered.errors)
            bound_value = min(bound_value, lowered.bound)
    if held_last:
        assert x is not None
        t1 = time.perf_counter()
        held = held_bounds(built, reach, params, rules.counts, x, deadline=deadline, multipliers=lagrange.multipliers)
        _LAST.update(level_bounds=held.levels, held_objective_bound=held.objective,
                     level_bounds_s=time.perf_counter() - t1)
        _KEPT.put((instance, params, rules), "level_bounds", held.levels)
        if held.objective is not None:
            bound_value = min(bound_value, held.objective)
    _KEPT.put((instance, params, rules), "bound", bound_value)
    return x


def level_bound(instance: Instance, params: MultiserviceParams, rules: SiteRules, number: int) -> float | None:
    """Priority level ``number``'s bound from this solve's warm start (None when it computed none)."""
    found = _KEPT.get((instance, params, rules), "level_bounds")
    return None if found is None else found.get(number)


def bound(instance: Instance, params: MultiserviceParams, rules: SiteRules, known: float | None = None,
          deadline: float | None = None) -> float | None:
    """The Lagrangian bound of this solve's warm start (None when no warm start ran for it); nothing to compute."""
    return _KEPT.get((instance, params, rules), "bound")
