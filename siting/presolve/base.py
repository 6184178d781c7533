"""Reduction protocol, typed inverse data and the presolve chain.

A reduction maps a :class:`~siting.problem.CoverageProblem` to a smaller one with the same optimal value
(after the constant terms it records) and returns *inverse data* that maps a site mask of the reduced
problem back to the site space it was applied to. :func:`presolve` runs a chain of them (cvxpy style) and
:class:`PresolveResult` inverts a reduced plan back to the original site space.

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.problem import CoverageProblem, ModelType
>>> a = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]], dtype=bool))
>>> p = CoverageProblem(ModelType.MCLP, a, np.array([1.0, 2.0, 5.0]), np.ones(3), np.zeros(3, bool),
...                     np.zeros(3, bool), np.ones(3, bool), budget=1.0, total_weight=8.0)
>>> res = presolve(p)
>>> res.problem.n_sites, res.problem.n_demand
(1, 1)
>>> res.expand(np.array([True]))
array([ True, False, False])
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence, Union

import numpy as np
import scipy.sparse as sp

from ..errors import InfeasibleError
from ..problem import CoverageProblem

__all__ = ["SiteMap", "RowMap", "Reduction", "PresolveResult", "presolve", "take_rows", "take_sites"]


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
        return np.asarray(open_sites, dtype=bool)


Inverse = Union[SiteMap, RowMap]


class Reduction(Protocol):
    """``apply(problem) -> (reduced problem, inverse data)``; ``name`` labels its counts."""

    name: str

    def __call__(self, problem: CoverageProblem) -> tuple[CoverageProblem, Inverse]: ...


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
            if budget < -1e-9 * max(1.0, abs(problem.budget)):
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


def _with_origin(problem: CoverageProblem) -> CoverageProblem:
    coverage = problem.coverage
    if not sp.isspmatrix_csr(coverage) or coverage.dtype != np.bool_:
        coverage = sp.csr_matrix(coverage, dtype=bool)
    coverage.sum_duplicates()
    coverage.eliminate_zeros()
    coverage.sort_indices()
    origin = problem.site_origin
    if origin is None:
        origin = np.arange(problem.n_sites, dtype=np.int64)
    return problem.with_(
        coverage=coverage,
        demand_weight=np.asarray(problem.demand_weight, dtype=np.float64),
        site_cost=np.asarray(problem.site_cost, dtype=np.float64),
        fixed_open=np.asarray(problem.fixed_open, dtype=bool),
        fixed_closed=np.asarray(problem.fixed_closed, dtype=bool) & ~np.asarray(problem.fixed_open, dtype=bool),
        counts_toward_limit=np.asarray(problem.counts_toward_limit, dtype=bool),
        site_origin=origin,
    )


def presolve(problem: CoverageProblem, *, reductions: Sequence[Callable] | None = None,
             rounds: int = 2) -> PresolveResult:
    """Run a chain of reductions (``rounds`` passes, stopping early when a pass changes nothing).

    Parameters
    ----------
    problem : CoverageProblem
    reductions : callables ``problem -> (problem, inverse)`` with a ``name``; default
        :func:`siting.presolve.default_reductions` for the problem's model
    rounds : maximum number of passes over the chain

    Returns
    -------
    PresolveResult
        With ``infeasible`` set (and the problem as reduced so far) when a reduction proved infeasibility.

    Notes
    -----
    Every reduction keeps the optimal value (up to ``base_covered_weight`` for MCLP/partial, which the
    reduced problem carries, and ``cost_offset`` for LSCP/partial), so a bound on the reduced problem
    is a bound on the original one. Cost: each pass is ``O(nnz log nnz)`` plus the bounded dominance work.
    """
    from .reductions import default_reductions

    n_original = problem.n_sites
    current = _with_origin(problem)
    chain = list(reductions) if reductions is not None else default_reductions(current.model)
    inverses: list[Inverse] = []
    stats: dict[str, dict[str, float]] = {}
    cost_offset = 0.0
    uncoverable = 0
    infeasible = None
    for _ in range(max(1, rounds)):
        changed = False
        for reduction in chain:
            t0 = time.perf_counter()
            rows0, cols0 = current.n_demand, current.n_sites
            fixed0 = int(current.fixed_open.sum())
            try:
                reduced, inverse = reduction(current)
            except InfeasibleError as exc:
                infeasible = str(exc)
                break
            entry = stats.setdefault(reduction.name, {"rows_removed": 0, "cols_removed": 0, "cols_fixed": 0,
                                                      "seconds": 0.0})
            entry["rows_removed"] += rows0 - reduced.n_demand
            entry["cols_removed"] += cols0 - reduced.n_sites
            entry["cols_fixed"] += max(0, int(reduced.fixed_open.sum()) - fixed0)
            entry["seconds"] += time.perf_counter() - t0
            if isinstance(inverse, SiteMap) and inverse.opened.any():
                cost_offset += float(current.site_cost[inverse.opened].sum())
            if reduction.name == "drop_uncoverable_demand":
                uncoverable += rows0 - reduced.n_demand
            if (rows0, cols0) != (reduced.n_demand, reduced.n_sites) or int(reduced.fixed_open.sum()) != fixed0:
                changed = True
            inverses.append(inverse)
            current = reduced
        if infeasible is not None or not changed:
            break
    return PresolveResult(current, tuple(inverses), stats, cost_offset, n_original, infeasible, uncoverable)
