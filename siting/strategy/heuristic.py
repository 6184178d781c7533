"""The heuristic phase: greedy, local search and a Lagrangian bound with repairs, per model."""
from __future__ import annotations

import time
from typing import Any

from ..backends.base import Backend
from ..heuristics import CoverArrays, greedy, local_search
from ..options import SolveOptions
from ..problem import CoverageProblem, ModelType
from .best import _Best
from .cover import _cover_phase
from .mclp import _volume_phase
from .partial import MclpSolver, _partial_phase

#: below this heuristic time the volume algorithm rarely reaches a repair step (measured at 60k x 3k)
VOLUME_REPAIR_MIN_S = 20.0


def _heuristic_phase(q: CoverageProblem, options: SolveOptions, time_s: float | None, iterations: int,
                     stats: dict[str, Any], *, dives: bool = True, backend: str | Backend = "highs",
                     solve_mclp: MclpSolver | None = None) -> _Best:
    """Greedy, local search (30 % of ``time_s``), then each model's bound and plan search (the rest).

    LSCP goes to :func:`siting.strategy.cover._cover_phase`; MCLP continues after local search with
    :func:`siting.strategy.mclp._volume_phase`, partial covering with :func:`siting.strategy.partial._partial_phase`
    (its budget search asks ``solve_mclp``; none without it).
    """
    t0 = time.perf_counter()
    arr = CoverArrays.of(q)
    if q.model is ModelType.LSCP:
        return _cover_phase(q, arr, options, time_s, iterations, stats, dives=dives)
    x = greedy(q, arrays=arr, seed=options.seed)
    stats["greedy_value"] = None if x is None else q.value_of(x)
    stats["greedy_seconds"] = time.perf_counter() - t0
    if x is not None:
        t1 = time.perf_counter()
        # MCLP: the volume repairs run local search again from better starts, so this one gets less time —
        # unless the limit is too short for the volume run to reach its repairs
        long_enough = time_s is None or time_s >= VOLUME_REPAIR_MIN_S
        share = 0.1 if q.model is ModelType.MCLP and long_enough else 0.3
        x = local_search(q, x, arrays=arr, seed=options.seed,
                         time_limit_s=None if time_s is None else share * time_s)
        stats["local_search_value"] = q.value_of(x)
        stats["local_search_seconds"] = time.perf_counter() - t1
    left = None if time_s is None else max(0.0, time_s - (time.perf_counter() - t0))
    if q.model is ModelType.MCLP:
        return _volume_phase(q, arr, x, options, left, iterations, stats, backend)
    return _partial_phase(q, arr, x, options, left, iterations, stats, solve_mclp if dives else None)
