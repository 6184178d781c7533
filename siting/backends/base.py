"""What a backend is and what it returns.

"Why the solver stopped" (:class:`Termination`) is kept apart from "is there a solution"
(``BackendSolution.x is not None``), as in MathOpt / MathOptInterface.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from ..options import SolveOptions
from ..program import LinearProgram
from ..status import Termination

__all__ = ["Termination", "BackendSolution", "Backend"]


@dataclass(frozen=True)
class BackendSolution:
    """What a backend returns, in the program's own column space.

    x : primal vector, or None when the solver has no feasible point
    objective : c^T x + c_0 of that point as the solver reports it
    bound : best proven bound on the optimum (dual bound), or None
    row_dual : (n_rows,) the row duals of an LP solved to optimality, where the backend gives them, else None
    """

    termination: Termination
    x: np.ndarray | None
    objective: float | None
    bound: float | None
    seconds: float
    backend: str
    message: str = ""
    stats: dict[str, float] = field(default_factory=dict)
    row_dual: np.ndarray | None = None

    @property
    def has_solution(self) -> bool:
        """True when the solver returned a point (``x`` is not None)."""
        return self.x is not None


@runtime_checkable
class Backend(Protocol):
    """A solver adapter. One module per backend; native status codes mapped inside it."""

    name: ClassVar[str]

    def available(self) -> bool:
        """True when the backend's package can be imported here (cheap, cached)."""

    def solve(
        self,
        program: LinearProgram,
        options: SolveOptions,
        *,
        warm_start: np.ndarray | None = None,
    ) -> BackendSolution:
        """Solve ``program`` and map the native status to :class:`Termination`."""
