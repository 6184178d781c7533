r"""The solver-neutral matrix form every formulation produces and every backend consumes.

A :class:`LinearProgram` is

.. math::

    \min / \max \; c^T x + c_0 \quad\text{s.t.}\quad
    r^{lo} \le A x \le r^{up},\; l \le x \le u,\; x_j \in \mathbb{Z}\ \forall j \in I

with ``A`` a ``scipy.sparse.csr_matrix``. Backends hand these arrays to the solver in bulk.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import scipy.sparse as sp

from .errors import SolverError

__all__ = ["Sense", "LinearProgram"]


class Sense(StrEnum):
    """Direction of the objective."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"


@dataclass(frozen=True)
class LinearProgram:
    """A mixed-integer linear program in matrix form.

    Attributes
    ----------
    sense : Sense
    objective : (n_cols,) float array, ``c``
    constraints : (n_rows, n_cols) CSR matrix, ``A``
    row_lower, row_upper : (n_rows,) float arrays; use ``-inf`` / ``inf`` for one-sided rows
    col_lower, col_upper : (n_cols,) float arrays
    integrality : (n_cols,) bool array, True where the column is integer
    objective_offset : constant ``c_0`` added to the objective
    name : label used in logs and files
    blocks : named column ranges ``{"site": (start, stop), ...}`` so decoders slice ``x`` by name

    Examples
    --------
    Maximise ``x0 + 2 x1`` subject to ``x0 + x1 <= 1`` over binaries:

    >>> lp = LinearProgram(Sense.MAXIMIZE, np.array([1.0, 2.0]), sp.csr_matrix(np.ones((1, 2))),
    ...                    np.array([-np.inf]), np.array([1.0]), np.zeros(2), np.ones(2), np.ones(2, bool),
    ...                    blocks={"site": (0, 2)})
    >>> lp.check()
    >>> x = np.array([0.0, 1.0])
    >>> lp.objective_value(x), lp.max_violation(x), lp.max_violation(np.ones(2)), lp.block(x, "site").tolist()
    (2.0, 0.0, 1.0, [0.0, 1.0])
    """

    sense: Sense
    objective: np.ndarray
    constraints: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integrality: np.ndarray
    objective_offset: float = 0.0
    name: str = "program"
    blocks: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def n_cols(self) -> int:
        """Number of columns (variables)."""
        return int(self.objective.shape[0])

    @property
    def n_rows(self) -> int:
        """Number of constraint rows."""
        return int(self.constraints.shape[0])

    def block(self, x: np.ndarray, name: str) -> np.ndarray:
        """The slice of a primal vector ``x`` that belongs to the named column block."""
        start, stop = self.blocks[name]
        return x[start:stop]

    def objective_value(self, x: np.ndarray) -> float:
        """:math:`c^T x + c_0` (the offset included)."""
        return float(self.objective @ x + self.objective_offset)

    def check(self) -> None:
        """Raise :class:`SolverError` if shapes disagree or any number is NaN (inf only in bounds)."""
        n, m = self.n_cols, self.n_rows
        if self.constraints.shape != (m, n):
            raise SolverError(f"{self.name}: constraint matrix shape {self.constraints.shape} != ({m}, {n})")
        for label, arr, size in (
            ("objective", self.objective, n),
            ("col_lower", self.col_lower, n),
            ("col_upper", self.col_upper, n),
            ("integrality", self.integrality, n),
            ("row_lower", self.row_lower, m),
            ("row_upper", self.row_upper, m),
        ):
            if arr.shape != (size,):
                raise SolverError(f"{self.name}: {label} has shape {arr.shape}, expected ({size},)")
        if not np.all(np.isfinite(self.objective)):
            raise SolverError(f"{self.name}: objective has NaN or inf")
        if not np.all(np.isfinite(self.constraints.data)):
            raise SolverError(f"{self.name}: constraint matrix has NaN or inf")
        for label, lo, up in (("row", self.row_lower, self.row_upper), ("col", self.col_lower, self.col_upper)):
            if np.isnan(lo).any() or np.isnan(up).any():
                raise SolverError(f"{self.name}: {label} bounds contain NaN")

    def dual_bound(self, row_dual: np.ndarray) -> float:
        r"""A bound on the LP relaxation's optimum from any row multipliers, whatever their accuracy.

        For a maximisation and multipliers :math:`y` (the sign of each taken where the row's bound allows it,
        else 0; both signs of ``row_dual`` tried, the tighter kept, so either solver convention works):

        .. math::

            c^\top x = (c - A^\top y)^\top x + y^\top A x
            \le \sum_j \max_{l_j \le x_j \le u_j} d_j x_j + \sum_r \max_{L_r \le a \le U_r} y_r a,
            \qquad d = c - A^\top y,

        an upper bound (a lower one for a minimisation); ``inf`` where a column's bound it needs is infinite.
        A solver's duals at its optimum give the optimum up to rounding, safely on the right side.

        >>> lp = LinearProgram(Sense.MAXIMIZE, np.array([1.0, 2.0]), sp.csr_matrix(np.ones((1, 2))),
        ...                    np.array([-np.inf]), np.array([1.0]), np.zeros(2), np.ones(2), np.zeros(2, bool))
        >>> lp.dual_bound(np.array([2.0])), lp.dual_bound(np.array([1.0])), lp.dual_bound(np.array([0.0]))
        (2.0, 2.0, 3.0)
        """
        sign = 1.0 if self.sense is Sense.MAXIMIZE else -1.0
        c = sign * self.objective
        best = np.inf
        for y in (np.asarray(row_dual, float), -np.asarray(row_dual, float)):
            y = np.where(np.isfinite(self.row_upper), np.maximum(y, 0.0), 0.0) + \
                np.where(np.isfinite(self.row_lower), np.minimum(y, 0.0), 0.0)
            d = c - self.constraints.T @ y
            with np.errstate(invalid="ignore"):
                cols = np.where(d > 0, d * self.col_upper, np.where(d < 0, d * self.col_lower, 0.0))
                rows = np.where(y > 0, y * self.row_upper, np.where(y < 0, y * self.row_lower, 0.0))
            best = min(best, float(cols.sum() + rows.sum()))
        return sign * best + self.objective_offset

    def max_violation(self, x: np.ndarray, *, relative: bool = False) -> float:
        """Largest violation of rows, bounds and integrality by ``x`` (0.0 when feasible).

        With ``relative=True`` a row or bound violation is divided by ``max(1, |bound|)``, so a
        target row of 19,000 people is judged like a row of 1 (solvers print ~8 significant digits).
        """

        def scaled(excess: np.ndarray, bound: np.ndarray) -> np.ndarray:
            if not relative:
                return excess
            size = np.where(np.isfinite(bound), np.abs(bound), 0.0)
            return excess / np.maximum(1.0, size)

        ax = self.constraints @ x
        viol = [
            np.max(scaled(self.row_lower - ax, self.row_lower), initial=0.0),
            np.max(scaled(ax - self.row_upper, self.row_upper), initial=0.0),
            np.max(scaled(self.col_lower - x, self.col_lower), initial=0.0),
            np.max(scaled(x - self.col_upper, self.col_upper), initial=0.0),
        ]
        if self.integrality.any():
            xi = x[self.integrality]
            viol.append(float(np.max(np.abs(xi - np.round(xi)), initial=0.0)))
        return float(max(viol))
