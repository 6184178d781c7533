"""Reduction protocol and typed inverse data of the presolve chain.

A reduction maps a :class:`~siting.problem.CoverageProblem` to a smaller one with the same optimal value
(after the constant terms it records) and returns *inverse data* that maps a site mask of the reduced
problem back to the site space it was applied to. :func:`siting.presolve.chain.presolve` runs a chain of them (cvxpy style) and
:class:`PresolveResult` inverts a reduced plan back to the original site space.

"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from ..errors import InfeasibleError
from ..problem import CoverageProblem

__all__ = ["SiteMap", "RowMap", "Reduction", "PresolveResult", "Inverse", "take_rows", "take_sites"]


@dataclass(frozen=True)
class SiteMap:
    """Inverse data of a column reduction.

    n_before : number of sites before the reduction
    kept : (n_after,) int, position in the before-space of each kept site
    opened : (n_before,) bool, removed sites that are open in every plan (fixed open and absorbed)
    """

    n_before: int
    kept: np.ndarray
    opened: np.ndarray

    def expand(self, open_sites: np.ndarray) -> np.ndarray:
        """The plan in the site space before the reduction (removed sites closed, fixed ones open)."""
        out = self.opened.copy()
        out[self.kept] = np.asarray(open_sites, dtype=bool)
        return out


@dataclass(frozen=True)
class RowMap:
    """Inverse data of a row reduction (the site space is unchanged).

    n_before : number of demand rows before the reduction
    group : (n_before,) int, the reduced row that now stands for each row, -1 when it was removed
    """

    n_before: int
    group: np.ndarray

    def expand(self, open_sites: np.ndarray) -> np.ndarray:
        """Row reductions leave the site space unchanged."""
        return np.asarray(open_sites, dtype=bool)


Inverse = SiteMap | RowMap


class Reduction(Protocol):
    """``reduction(problem) -> (reduced problem, inverse data)``; its ``__name__`` labels its counts."""

    __name__: str

    def __call__(self, problem: CoverageProblem) -> tuple[CoverageProblem, Inverse]:
        """The reduced problem and the inverse data that maps its plans back."""


def take_rows(problem: CoverageProblem, keep: np.ndarray, *, weight: np.ndarray | None = None,
              coverage: sp.csr_matrix | None = None) -> CoverageProblem:
    """The problem restricted to rows ``keep`` (bool mask), optionally with new weights / matrix."""
    cov = problem.coverage[keep] if coverage is None else coverage
    w = problem.demand_weight[keep] if weight is None else weight
    return problem.with_(coverage=sp.csr_matrix(cov), demand_weight=w)


def take_sites(problem: CoverageProblem, keep: np.ndarray, *, opened: np.ndarray | None = None
               ) -> tuple[CoverageProblem, SiteMap]:
    """Remove the sites not in ``keep`` (bool mask); ``opened`` (subset of removed) are open for good.

    The cost and the limit count of ``opened`` sites are taken off ``budget`` and ``max_sites``.
    Raises :class:`~siting.errors.InfeasibleError` when that makes either negative.
    """
    n = problem.n_sites
    opened = np.zeros(n, bool) if opened is None else (opened & ~keep)
    budget, max_sites = problem.budget, problem.max_sites
    if opened.any():
        if budget is not None:
            budget = float(budget - problem.site_cost[opened].sum())
            if budget < -1e-9 * max(1.0, abs(float(problem.budget or 0.0))):
                raise InfeasibleError("the sites that must be open cost more than the budget")
            budget = max(budget, 0.0)
        if max_sites is not None:
            max_sites = int(max_sites - np.count_nonzero(opened & problem.counts_toward_limit))
            if max_sites < 0:
                raise InfeasibleError("more sites must be open than max_sites allows")
    origin = problem.site_origin if problem.site_origin is not None else np.arange(n, dtype=np.int64)
    kept = np.flatnonzero(keep)
    reduced = problem.with_(
        coverage=sp.csr_matrix(problem.coverage[:, kept]) if kept.size < n else problem.coverage,
        site_cost=problem.site_cost[kept],
        fixed_open=problem.fixed_open[kept],
        fixed_closed=problem.fixed_closed[kept],
        counts_toward_limit=problem.counts_toward_limit[kept],
        budget=budget,
        max_sites=max_sites,
        site_origin=origin[kept],
    )
    return reduced, SiteMap(n, kept, opened)


@dataclass(frozen=True)
class PresolveResult:
    """A reduced problem and how to go back.

    problem : the reduced :class:`CoverageProblem`
    inverses : inverse data of every applied reduction, in application order
    stats : ``{name: {"rows_removed", "cols_removed", "cols_fixed", "seconds"}}`` summed over rounds
    cost_offset : total cost of the sites removed as "open for good" (add to reduced LSCP/partial costs)
    n_sites_original : size of the original site space
    """

    problem: CoverageProblem
    inverses: tuple[Inverse, ...]
    stats: dict[str, dict[str, float]]
    cost_offset: float
    n_sites_original: int
    infeasible: str | None = None
    uncoverable_rows: int = 0

    def expand(self, open_sites: np.ndarray) -> np.ndarray:
        """Map a reduced site mask back to the original site space (undo every reduction)."""
        mask = np.asarray(open_sites, dtype=bool)
        for inv in reversed(self.inverses):
            mask = inv.expand(mask)
        return mask

    @property
    def forced_open(self) -> np.ndarray:
        """(n_sites_original,) bool: sites presolve fixed open (open in every expanded plan)."""
        return self.expand(np.zeros(self.problem.n_sites, bool))
