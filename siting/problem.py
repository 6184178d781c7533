"""The coverage problem: the domain form shared by presolve, heuristics and formulations.

It is what is left of an :class:`~siting.data.instance.Instance` once a threshold has turned
travel times into a coverage structure, and before any solver sees it.

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> a = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 1]], dtype=bool))
>>> p = CoverageProblem(ModelType.PARTIAL, a, np.array([4.0, 1.0, 3.0]), np.array([2.0, 5.0]),
...                     np.zeros(2, bool), np.zeros(2, bool), np.ones(2, bool), target_coverage=0.5,
...                     total_weight=8.0)
>>> plan = np.array([True, False])
>>> p.covered_weight(plan), p.cost_of(plan), p.value_of(plan), p.target_weight
(5.0, 2.0, 2.0, 4.0)
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np
import scipy.sparse as sp

from .errors import InputError
from .status import Termination

__all__ = ["ModelType", "CoverageProblem", "CoverageOutcome"]


class ModelType(StrEnum):
    """Which covering model a :class:`CoverageProblem` states (the value is the model's short name)."""

    MCLP = "mclp"        # maximise covered weight, cost <= budget, optional max_sites
    LSCP = "lscp"        # minimise cost to cover every coverable demand point
    PARTIAL = "partial"  # minimise cost to cover at least target_coverage of total weight


@dataclass(frozen=True)
class CoverageProblem:
    """A covering problem over ``n_demand`` points and ``n_sites`` sites.

    coverage : (n_demand, n_sites) bool CSR; ``a_ij`` = site j covers demand i
    demand_weight : (n_demand,) float ``w_i`` (population, possibly merged rows)
    site_cost : (n_sites,) float ``c_j``
    fixed_open : (n_sites,) bool; sites that must be open (existing or required)
    fixed_closed : (n_sites,) bool; excluded sites
    counts_toward_limit : (n_sites,) bool; sites that count for max_sites (existing do not)
    budget : total cost limit on open sites, None = unlimited
    max_sites : limit on open sites that count toward it, None = unlimited
    target_coverage : share of ``total_weight`` to reach (partial covering)
    total_weight : weight of all original demand, including rows removed by presolve
    base_covered_weight : weight already covered by rows removed in presolve (constant term)
    site_origin : (n_sites,) int; original site position of each column
    """

    model: ModelType
    coverage: sp.csr_matrix
    demand_weight: np.ndarray
    site_cost: np.ndarray
    fixed_open: np.ndarray
    fixed_closed: np.ndarray
    counts_toward_limit: np.ndarray
    budget: float | None = None
    max_sites: int | None = None
    target_coverage: float | None = None
    total_weight: float = 0.0
    base_covered_weight: float = 0.0
    site_origin: np.ndarray | None = None
    notes: dict[str, int] = field(default_factory=dict)

    @property
    def n_demand(self) -> int:
        """Number of demand rows (after presolve, if it ran)."""
        return int(self.coverage.shape[0])

    @property
    def n_sites(self) -> int:
        """Number of site columns."""
        return int(self.coverage.shape[1])

    @property
    def target_weight(self) -> float:
        """Covered weight partial covering must reach, ``base_covered_weight`` included.

        Raises :class:`~siting.errors.InputError` when ``target_coverage`` is not set.
        """
        if self.target_coverage is None:
            raise InputError("parameter 'target_coverage': partial covering needs a target")
        return self.target_coverage * self.total_weight

    def with_(self, **changes: Any) -> CoverageProblem:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)

    def covered_mask(self, open_sites: np.ndarray) -> np.ndarray:
        """(n_demand,) bool: rows covered by at least one open site. ``open_sites`` is a bool mask."""
        return (self.coverage @ open_sites.astype(np.int64)) > 0

    def covered_weight(self, open_sites: np.ndarray) -> float:
        """Weight covered by the plan ``open_sites`` (bool mask), ``base_covered_weight`` included."""
        return float(self.demand_weight[self.covered_mask(open_sites)].sum()) + self.base_covered_weight

    def cost_of(self, open_sites: np.ndarray) -> float:
        """Total ``site_cost`` of the plan ``open_sites`` (bool mask)."""
        return float(self.site_cost[open_sites].sum())

    @property
    def maximise(self) -> bool:
        """True for MCLP (more covered weight is better), False for the cost-minimising models."""
        return self.model is ModelType.MCLP

    def value_of(self, open_sites: np.ndarray) -> float:
        """A plan's objective in model units: covered weight (MCLP) or cost (LSCP, partial)."""
        return self.covered_weight(open_sites) if self.maximise else self.cost_of(open_sites)


@dataclass(frozen=True)
class CoverageOutcome:
    """How a :class:`CoverageProblem` was solved, in the problem's own site space.

    open_sites : (n_sites,) bool mask of the plan, or None when no plan was found
    objective : value of the plan in model units (covered weight for MCLP incl. base_covered_weight, cost otherwise)
    bound : best proven bound on the optimum in the same units (upper for MCLP, lower for LSCP/partial), or None
    method : what produced it, e.g. ``"highs"``, ``"greedy+local_search+lagrangian"``
    stats : counts and timings (presolve reductions, iterations, ...)
    """

    open_sites: np.ndarray | None
    termination: Termination
    objective: float | None
    bound: float | None
    seconds: float
    method: str
    stats: dict = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        """True when a plan was found (``open_sites`` is not None)."""
        return self.open_sites is not None
