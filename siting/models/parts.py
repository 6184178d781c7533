"""Building blocks every formulation shares: stacked constraint rows, site limits, coverage rows, weights.

Builders assemble constraints as COO triples in bulk (:class:`Rows`) and finish with :func:`milp`;
no builder loops over matrix entries in Python.

Examples
--------
>>> import numpy as np
>>> rows = Rows(3)
>>> rows.add([0, 0], [0, 2], [1.0, 1.0], 1, -np.inf, 1.0)
>>> A, lo, up = rows.stack()
>>> A.toarray().tolist(), up.tolist()
([[1.0, 0.0, 1.0]], [1.0])
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from ..data.instance import Instance, TravelTimes
from ..errors import InputError
from ..program import LinearProgram, Sense
from ..rules import Limits, SiteRules

__all__ = ["Rows", "milp", "demand_weight", "within_usable", "cover_rows", "travel_of"]

ArrayLike = npt.ArrayLike


class Rows:
    """Accumulates constraint blocks ``lo <= A x <= up`` and stacks them into one CSR matrix."""

    def __init__(self, n_cols: int) -> None:
        self.n_cols = n_cols
        self._mats: list[sp.csr_matrix] = []
        self._lo: list[np.ndarray] = []
        self._up: list[np.ndarray] = []

    def add(self, rows: ArrayLike, cols: ArrayLike, vals: ArrayLike, n_rows: int, lo: ArrayLike,
            up: ArrayLike) -> None:
        """Add ``n_rows`` rows given as COO triples (duplicates are summed)."""
        mat = sp.csr_matrix(
            (np.asarray(vals, dtype=float), (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
            shape=(n_rows, self.n_cols),
        )
        self._mats.append(mat)
        self._lo.append(np.broadcast_to(np.asarray(lo, dtype=float), (n_rows,)).copy())
        self._up.append(np.broadcast_to(np.asarray(up, dtype=float), (n_rows,)).copy())

    def add_limits(self, site_cols: slice, rules: SiteRules, limits: Limits,
                   extra_cost: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Budget row ``sum_j c_j y_j (+ extra) <= B`` and count row ``sum_{j counted} y_j <= p`` (``= p`` if exact)."""
        start = site_cols.start
        n = rules.cost.shape[0]
        if limits.budget is not None:
            cols = np.arange(start, start + n)
            vals = rules.cost
            if extra_cost is not None:
                cols = np.concatenate([cols, extra_cost[0]])
                vals = np.concatenate([vals, extra_cost[1]])
            self.add(np.zeros(cols.shape[0]), cols, vals, 1, -np.inf, float(limits.budget))
        if limits.max_sites is not None:
            idx = np.flatnonzero(rules.counts)
            self.add(np.zeros(idx.shape[0]), start + idx, np.ones(idx.shape[0]), 1,
                     float(limits.max_sites) if limits.exact_sites else -np.inf, float(limits.max_sites))

    def shrink(self, n_cols: int) -> None:
        """Cut the width to ``n_cols`` (rows built before the last columns were counted); no entry may lie beyond."""
        for mat in self._mats:
            if mat.nnz and int(mat.indices.max()) >= n_cols:
                raise ValueError(f"a row has an entry in column {int(mat.indices.max())} >= {n_cols}")
        self._mats = [m[:, :n_cols] for m in self._mats]
        self.n_cols = n_cols

    def stack(self) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """All rows added so far as one CSR matrix with their lower and upper bounds."""
        if not self._mats:
            return sp.csr_matrix((0, self.n_cols)), np.zeros(0), np.zeros(0)
        return sp.vstack(self._mats, format="csr"), np.concatenate(self._lo), np.concatenate(self._up)


def milp(sense: Sense, objective: ArrayLike, rows: Rows, lower: ArrayLike, upper: ArrayLike, integer: ArrayLike,
         name: str, blocks: dict[str, tuple[int, int]], offset: float = 0.0) -> LinearProgram:
    """The :class:`LinearProgram` of an objective, stacked rows and column bounds."""
    A, lo, up = rows.stack()
    return LinearProgram(sense, np.asarray(objective, dtype=float), A, lo, up, np.asarray(lower, dtype=float),
                         np.asarray(upper, dtype=float), np.asarray(integer, dtype=bool), float(offset), name, blocks)


def demand_weight(instance: Instance, column: str) -> np.ndarray:
    """The demand weight vector of ``column`` (``population`` or a numeric group), or a one-line error."""
    try:
        return np.asarray(instance.demand.weight(column), dtype=float)
    except KeyError:
        have = ", ".join(["population", *instance.demand.groups])
        hint = " (a text or true/false column cannot weight demand)" if column in instance.demand.labels else ""
        raise InputError(f"unknown weight column {column!r}{hint}; numeric columns: {have}",
                         file=instance.demand.source, column=column) from None


def travel_of(instance: Instance, group: str | None) -> TravelTimes:
    """The travel table of a speed group, or a one-line error naming the groups that were loaded."""
    try:
        return instance.travel_for(group)
    except KeyError as exc:
        raise InputError(str(exc.args[0]), file=instance.travel.source, column="group") from None


def within_usable(travel: TravelTimes, threshold_min: float, rules: SiteRules) -> sp.csr_matrix:
    """``a_ij`` = 1 iff the pair is in the table with ``t_ij <= threshold_min`` and site ``j`` is not excluded."""
    a = travel.within(threshold_min).astype(np.float64)
    a = (a @ sp.diags(rules.usable.astype(float))).tocsr()
    a.eliminate_zeros()
    return a


def cover_rows(rows: Rows, a: sp.csr_matrix, active: np.ndarray, v_start: int, site_cols: Sequence[int] | None = None) -> None:
    """Rows ``v_i - sum_j a_ij y_j <= 0`` for the demand points ``active`` (``v`` column ``v_start + k``)."""
    sub = a[active].tocoo()
    k = active.shape[0]
    cols = sub.col if site_cols is None else np.asarray(site_cols)[sub.col]
    rows.add(np.concatenate([np.arange(k), sub.row]), np.concatenate([v_start + np.arange(k), cols]),
             np.concatenate([np.ones(k), -np.ones(sub.nnz)]), k, -np.inf, 0.0)
