"""The coverage problem: the domain form shared by presolve, heuristics and formulations.

It is what is left of an :class:`~siting.data.instance.Instance` once a threshold has turned
travel times into a coverage structure, and before any solver sees it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np
import scipy.sparse as sp

from .status import Termination

__all__ = ["ModelType", "CoverageProblem", "CoverageOutcome"]


class ModelType(StrEnum):
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
        return int(self.coverage.shape[0])

    @property
    def n_sites(self) -> int:
        return int(self.coverage.shape[1])

    def with_(self, **changes: object) -> CoverageProblem:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)

    def covered_mask(self, open_sites: np.ndarray) -> np.ndarray:
        """(n_demand,) bool: rows covered by at least one open site. ``open_sites`` is a bool mask."""
        return (self.coverage @ open_sites.astype(np.int64)) > 0

    def covered_weight(self, open_sites: np.ndarray) -> float:
        return float(self.demand_weight[self.covered_mask(open_sites)].sum()) + self.base_covered_weight

    def cost_of(self, open_sites: np.ndarray) -> float:
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
        return self.open_sites is not None
