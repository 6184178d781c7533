"""The presolve chain: run reductions to a fixed point, keeping the inverse data to map a plan back.

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

import inspect
import time
from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from ..errors import InfeasibleError
from ..interrupt import expired
from ..problem import CoverageProblem, ModelType
from .base import Inverse, PresolveResult, Reduction, SiteMap
from .reductions import default_reductions

__all__ = ["presolve", "LSCP_ROUNDS"]

#: passes of the LSCP chain: a fixed point is usually reached in 3 to 6 (each pass is ``O(nnz log nnz)``)
LSCP_ROUNDS = 30


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


def _takes_deadline(reduction: Reduction) -> bool:
    try:
        return "deadline" in inspect.signature(reduction).parameters
    except (TypeError, ValueError):  # a callable without a signature (a builtin) cannot take one
        return False


def presolve(problem: CoverageProblem, *, reductions: Sequence[Reduction] | None = None,
             rounds: int | None = None, deadline: float | None = None) -> PresolveResult:
    """Run a chain of reductions (``rounds`` passes, stopping early when a pass changes nothing).

    Parameters
    ----------
    problem : CoverageProblem
    reductions : callables ``problem -> (problem, inverse)`` with a ``name``; default
        :func:`siting.presolve.default_reductions` for the problem's model. A reduction with a ``deadline``
        keyword (the dominance searches) is given the chain's deadline.
    rounds : maximum number of passes over the chain; default 2, and for LSCP ``LSCP_ROUNDS`` (set covering
        reductions feed each other: a dropped row can make a site dominated, which can force a site open)
    deadline : :func:`time.perf_counter` value; None (default): no deadline. The first pass always runs every
        reduction (the cheap ones, ``O(nnz log nnz)``, remove closed sites, uncoverable rows and fixed-open
        sites, which the LSCP report counts on; the searches given the deadline return at once once past it);
        after it the chain stops before the next reduction once past the deadline.

    Returns
    -------
    PresolveResult
        With ``infeasible`` set (and the problem as reduced so far) when a reduction proved infeasibility.
        A reduction that returned past the deadline has ``"cut_short": 1.0`` in its ``stats`` entry (its
        search may have stopped early, and later passes were not run).

    Notes
    -----
    Every reduction keeps the optimal value (up to ``base_covered_weight`` for MCLP/partial, which the
    reduced problem carries, and ``cost_offset`` for LSCP/partial), so a bound on the reduced problem
    is a bound on the original one; so does stopping anywhere (after any reduction, or a search after any
    batch: missing a domination is safe). Cost: each pass is ``O(nnz log nnz)`` plus the bounded dominance work.
    """
    n_original = problem.n_sites
    current = _with_origin(problem)
    chain = list(reductions) if reductions is not None else default_reductions(current.model)
    if rounds is None:
        rounds = LSCP_ROUNDS if current.model == ModelType.LSCP else 2
    inverses: list[Inverse] = []
    stats: dict[str, dict[str, float]] = {}
    cost_offset = 0.0
    uncoverable = 0
    infeasible = None
    takes_deadline = [deadline is not None and _takes_deadline(reduction) for reduction in chain]
    cut_short = False
    entry: dict[str, float] = {}
    for round_index in range(max(1, rounds)):
        changed = False
        for reduction, give_deadline in zip(chain, takes_deadline, strict=True):
            if round_index > 0 and expired(deadline):
                entry["cut_short"] = 1.0  # the last reduction run: the chain stops after it
                cut_short = True
                break
            t0 = time.perf_counter()
            rows0, cols0 = current.n_demand, current.n_sites
            fixed0 = int(current.fixed_open.sum())
            try:
                # the Reduction protocol has no deadline: only reductions whose signature takes one get it
                run: Callable[..., tuple[CoverageProblem, Inverse]] = reduction
                reduced, inverse = run(current, deadline=deadline) if give_deadline else run(current)
            except InfeasibleError as exc:
                infeasible = str(exc)
                break
            entry = stats.setdefault(reduction.__name__, {"rows_removed": 0, "cols_removed": 0, "cols_fixed": 0,
                                                      "seconds": 0.0})
            entry["rows_removed"] += rows0 - reduced.n_demand
            entry["cols_removed"] += cols0 - reduced.n_sites
            entry["cols_fixed"] += max(0, int(reduced.fixed_open.sum()) - fixed0)
            entry["seconds"] += time.perf_counter() - t0
            if expired(deadline):
                entry["cut_short"] = 1.0
            if isinstance(inverse, SiteMap) and inverse.opened.any():
                cost_offset += float(current.site_cost[inverse.opened].sum())
            if reduction.__name__ == "drop_uncoverable_demand":
                uncoverable += rows0 - reduced.n_demand
            if (rows0, cols0) != (reduced.n_demand, reduced.n_sites) or int(reduced.fixed_open.sum()) != fixed0:
                changed = True
            inverses.append(inverse)
            current = reduced
        if infeasible is not None or not changed or cut_short:
            break
    return PresolveResult(current, tuple(inverses), stats, cost_offset, n_original, infeasible, uncoverable)
