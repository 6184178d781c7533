"""Site statuses as bounds, and the plan limits every model shares (budget, number of new sites).

One place turns ``Sites.status`` into per-site bounds (:class:`SiteRules`), one place proves a limit
infeasible before any solver runs (:func:`check_fixed_limits`), and one place checks a decoded plan
against the raw site table (:func:`check_plan_rules`). Builders, heuristics and verification all use them.

Examples
--------
>>> from siting.testing import random_instance
>>> rules = SiteRules.of(random_instance(4, 3, seed=0))
>>> rules.upper.tolist(), rules.counts.tolist()
([1.0, 1.0, 1.0], [True, True, True])
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data.instance import Instance, SiteStatus
from .errors import InfeasibleError, VerificationError

__all__ = ["SiteRules", "Limits", "check_fixed_limits", "check_plan_rules", "REL_TOL"]

#: relative tolerance of every recomputed-versus-claimed comparison (solvers print ~8 digits)
REL_TOL = 1e-6


@dataclass(frozen=True)
class SiteRules:
    """Per-site bounds derived from :class:`~siting.data.instance.SiteStatus`.

    lower : 1.0 for existing and required sites (open in every plan)
    upper : 0.0 for excluded sites
    cost : conversion cost a plan pays (0 for existing sites)
    counts : True where the site counts toward ``p`` / ``max_sites`` (every status except existing)
    existing, required, excluded : the status masks
    """

    lower: np.ndarray
    upper: np.ndarray
    cost: np.ndarray
    counts: np.ndarray
    existing: np.ndarray
    required: np.ndarray
    excluded: np.ndarray

    @classmethod
    def of(cls, instance: Instance) -> SiteRules:
        """The rules of an instance's site table."""
        status = np.asarray(instance.sites.status).astype(str)
        existing = status == SiteStatus.EXISTING.value
        required = status == SiteStatus.REQUIRED.value
        excluded = status == SiteStatus.EXCLUDED.value
        cost = np.where(existing, 0.0, np.asarray(instance.sites.cost, dtype=float))
        return cls((existing | required).astype(float), (~excluded).astype(float), cost, ~existing,
                   existing, required, excluded)

    @property
    def usable(self) -> np.ndarray:
        """Sites that may be open (not excluded)."""
        return self.upper > 0

    @property
    def fixed_open(self) -> np.ndarray:
        """Sites open in every plan (existing and required ones that are not excluded)."""
        return (self.lower > 0.5) & (self.upper > 0.5)

    @property
    def free(self) -> np.ndarray:
        """Sites a plan may open or leave closed."""
        return (self.lower < 0.5) & (self.upper > 0.5)


@dataclass(frozen=True)
class Limits:
    """The limits a plan obeys: ``budget`` on cost, ``max_sites`` on counted (non-existing) sites.

    exact_sites : the count must equal ``max_sites`` (p-median's ``p``) instead of staying at or below it
    """

    budget: float | None = None
    max_sites: int | None = None
    exact_sites: bool = False


def _fmt(amount: float) -> str:
    return f"{amount:,.0f}" if abs(amount) >= 100 else f"{amount:g}"


def check_fixed_limits(rules: SiteRules, limits: Limits, model: str) -> None:
    """Raise :class:`InfeasibleError` when the sites fixed open alone break a limit (proof from the data)."""
    fixed = rules.lower > 0
    fixed_cost = float(rules.cost[fixed].sum())
    if limits.budget is not None and fixed_cost > limits.budget * (1 + 1e-12):
        raise InfeasibleError(f"{model}: budget {_fmt(limits.budget)} is below the cost of the "
                              f"{int((fixed & rules.counts).sum())} required sites ({_fmt(fixed_cost)})")
    n_fixed = int((rules.counts & fixed).sum())
    if limits.max_sites is not None:
        if n_fixed > limits.max_sites:
            raise InfeasibleError(f"{model}: {n_fixed} required sites exceed the limit of {limits.max_sites}")
        usable = int((rules.counts & rules.usable).sum())
        if limits.exact_sites and usable < limits.max_sites:
            raise InfeasibleError(f"{model}: only {usable} usable sites for p={limits.max_sites}")


def check_plan_rules(rules: SiteRules, open_sites: np.ndarray, limits: Limits, *, total_cost: float,
                     model: str, site_ids: np.ndarray | None = None) -> None:
    """Check a plan's open-site mask against statuses and limits; raise :class:`VerificationError`.

    ``total_cost`` is the plan's recomputed cost (conversion plus any fit-out the model adds).
    """
    open_sites = np.asarray(open_sites, dtype=bool)
    if open_sites.shape != rules.cost.shape:
        raise VerificationError(f"{model}: plan has {open_sites.shape} entries for {rules.cost.shape[0]} sites")
    ids = site_ids if site_ids is not None else np.arange(open_sites.shape[0]).astype(str)
    problems = []
    if np.any(open_sites & rules.excluded):
        problems.append(f"excluded sites opened: {', '.join(map(str, ids[open_sites & rules.excluded][:5]))}")
    if np.any(~open_sites & (rules.lower > 0)):
        problems.append(f"existing or required sites closed: {', '.join(map(str, ids[~open_sites & (rules.lower > 0)][:5]))}")
    if limits.budget is not None and total_cost > limits.budget * (1 + REL_TOL) + 1e-9:
        problems.append(f"cost {total_cost:,.2f} exceeds budget {limits.budget:,.2f}")
    n = int((open_sites & rules.counts).sum())
    if limits.max_sites is not None and (n > limits.max_sites or (limits.exact_sites and n != limits.max_sites)):
        problems.append(f"{n} counted sites open, limit {limits.max_sites}")
    if problems:
        raise VerificationError(f"{model}: plan fails verification: " + "; ".join(problems))
