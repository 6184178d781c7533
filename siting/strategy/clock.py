"""The time limit of one :func:`siting.strategy.solve_coverage` call, and the share of it a MIP gets."""
from __future__ import annotations

import time
from dataclasses import replace

from ..interrupt import stop_requested
from ..options import SolveOptions

#: below this many seconds left a MIP is not started when a heuristic plan exists (it could only overrun)
MIN_MIP_TIME_S = 0.05
#: share of the time left that a MIP is given: solvers check their clock coarsely (HiGHS's presolve, CBC's root
#: LP) and overrun by about a second on ~200k nonzeros; the rest also pays for pruning and the mapping back
MIP_TIME_SHARE = 0.85
#: share of the time left that presolve may take: its dominance searches can take seconds on dense covers (12 s on a
#: random 20,000 x 200 cover at 10 %) and find nothing, while the heuristics need the time to reach a plan
PRESOLVE_TIME_SHARE = 0.2


class _Clock:
    """Seconds left of a time limit counted from construction (None: no limit)."""

    def __init__(self, limit_s: float | None) -> None:
        self.started = time.perf_counter()
        self.limit_s = limit_s

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def left(self) -> float | None:
        """Seconds left (None: no limit); none once the caller asked the solve to stop (:mod:`siting.interrupt`)."""
        if stop_requested():
            return 0.0
        return None if self.limit_s is None else max(0.0, self.limit_s - self.elapsed())

    def options(self, options: SolveOptions) -> SolveOptions:
        """``options`` for a MIP: :data:`MIP_TIME_SHARE` of what is left (never below :data:`MIN_MIP_TIME_S`)."""
        left = self.left()
        return options if left is None else replace(options, time_limit_s=max(MIP_TIME_SHARE * left,
                                                                               MIN_MIP_TIME_S))
