"""Solver-neutral options (MathOpt style: common fields plus per-backend escape hatches)."""
from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SolveOptions", "secondary_time_s", "SECONDARY_TIME_FACTOR", "SECONDARY_MIN_S", "SECONDARY_GOALS"]

#: what a solve does once the model's own objective is settled (see ``SolveOptions.secondary``)
SECONDARY_GOALS = ("min_cost", "none")
#: the cheapest-plan stage may use at most this multiple of the first stage's time, and never less than
#: SECONDARY_MIN_S: holding an objective row makes the MIP harder (measured: a 5k MCLP took 7 s, then 23 s more
#: for a plan no cheaper; the demo's multi-service solve 8 s, then 49 s without finishing), and redundant sites
#: are pruned whatever the stage finds
SECONDARY_TIME_FACTOR = 1.0
SECONDARY_MIN_S = 2.0
#: the largest seed: the solvers take 32-bit seeds (HiGHS ignores a larger one with only an error status, CP-SAT
#: refuses it, CBC is given seed + 1)
MAX_SEED = 2**31 - 2


def secondary_time_s(first_stage_s: float, left_s: float | None) -> float:
    """Seconds the cheapest-plan stage may use after a first stage of ``first_stage_s`` with ``left_s`` left.

    Examples
    --------
    >>> secondary_time_s(8.0, None), secondary_time_s(8.0, 3.0), secondary_time_s(0.1, None)
    (8.0, 3.0, 2.0)
    """
    cap = max(SECONDARY_MIN_S, SECONDARY_TIME_FACTOR * first_stage_s)
    return cap if left_s is None else min(cap, left_s)


@dataclass(frozen=True)
class SolveOptions:
    """Options every backend understands.

    time_limit_s : wall-clock limit for the solver, None for no limit
    mip_gap : relative gap at which a MIP solve may stop (0.0 asks for proven optimality)
    threads : solver threads, None for the backend default
    seed : random seed for solvers and heuristics
    verbose : let the solver print its log
    backend_options : ``{"highs": {"presolve": "off"}, ...}``; a backend-specific value wins over a common one
    secondary : ``"min_cost"`` (default): among the plans that keep the best objective found, the cheapest, then
        the one with the fewest new sites (cost-minimising models: the fewest sites, then the most coverage);
        ``"none"``: the first plan the search finds at that objective. Either way no plan keeps a site whose
        removal loses nothing (see ``models/cheapest-plans.md``).
    """

    time_limit_s: float | None = None
    mip_gap: float = 1e-6
    threads: int | None = None
    seed: int = 0
    verbose: bool = False
    backend_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    secondary: str = "min_cost"

    def __post_init__(self) -> None:
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= int(seed) <= MAX_SEED:
            from .errors import InputError

            raise InputError(f"the seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}", column="seed")

    def for_backend(self, name: str) -> Mapping[str, Any]:
        """The backend-specific options of backend ``name`` (a copy; empty when none)."""
        return dict(self.backend_options.get(name, {}))
