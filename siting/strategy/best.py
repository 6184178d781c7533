"""The best plan and bound of a solve so far, and how plans and bounds compare."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..heuristics.setcover import CoverDual
from ..options import SolveOptions
from ..problem import CoverageProblem
from ..status import Termination, relative_gap


def _better(maximise: bool, a: float | None, b: float | None) -> bool:
    """True when value ``a`` is strictly better than ``b`` (None is worst)."""
    if a is None:
        return False
    if b is None:
        return True
    return a > b + 1e-9 if maximise else a < b - 1e-9


def _tighter(maximise: bool, a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b) if maximise else max(a, b)


def _certified(objective: float | None, bound: float | None, options: SolveOptions) -> bool:
    gap = relative_gap(objective, bound)
    return gap is not None and gap <= max(options.mip_gap, 1e-9)


@dataclass
class _Best:
    """The best plan and bound so far, in the reduced problem's units."""

    plan: np.ndarray | None = None
    value: float | None = None
    bound: float | None = None
    termination: Termination = Termination.HEURISTIC
    method: str = ""
    dual: CoverDual | None = None  # LSCP: the Lagrangian dual behind ``bound`` (for reduced-cost fixing)
    fixed: CoverageProblem | None = None  # MCLP: the problem after reduced-cost fixing (keeps every plan >= value)
