"""Independent verification of a plan against the raw instance.

Nothing here uses the coverage matrix, the presolved problem or the solver's numbers:
coverage is recomputed from the travel-time triples, cost from the site table. A plan that
breaks a constraint, or a solver claim that disagrees with the recomputation, raises
:class:`~siting.errors.VerificationError`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data.instance import Instance, SiteStatus
from .errors import VerificationError
from .problem import ModelType

__all__ = ["PlanCheck", "nearest_open_site", "check_plan", "check_claims", "coverage_table"]

_REL_TOL = 1e-6


@dataclass(frozen=True)
class PlanCheck:
    """Figures recomputed from the raw instance for one plan."""

    open_sites: np.ndarray        # (n_sites,) bool, existing sites included
    new_sites: np.ndarray         # (n_sites,) bool, the sites whose conversion is paid (not existing)
    nearest_site: np.ndarray      # (n_demand,) int, -1 when no open site is reachable
    nearest_minutes: np.ndarray   # (n_demand,) float, inf when unreachable
    covered: np.ndarray           # (n_demand,) bool
    covered_weight: float
    total_weight: float
    total_cost: float
    coverable: np.ndarray         # (n_demand,) bool, reachable within threshold by some non-excluded site


def nearest_open_site(instance: Instance, open_sites: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each demand point, the nearest open site and its travel time (from the raw triples).

    Vectorised: keep pairs whose site is open, sort by (demand, minutes), take the first per demand.
    """
    travel = instance.travel
    keep = open_sites[travel.site_index]
    d = travel.demand_index[keep]
    s = travel.site_index[keep]
    t = travel.minutes[keep]
    nearest = np.full(instance.n_demand, -1, dtype=np.int64)
    minutes = np.full(instance.n_demand, np.inf)
    if d.size:
        order = np.lexsort((s, t, d))
        d, s, t = d[order], s[order], t[order]
        first = np.ones(d.size, dtype=bool)
        first[1:] = d[1:] != d[:-1]
        nearest[d[first]] = s[first]
        minutes[d[first]] = t[first]
    return nearest, minutes


def check_plan(
    instance: Instance,
    selected: np.ndarray,
    *,
    model: ModelType | str,
    threshold_min: float,
    budget: float | None = None,
    max_sites: int | None = None,
    target_coverage: float | None = None,
    weight_column: str = "population",
) -> PlanCheck:
    """Recompute a plan's figures and check every constraint of ``model``.

    ``selected`` is a bool mask over sites; existing sites are treated as open whatever it says
    about them, since they are open in the real world.
    """
    model = ModelType(model)
    sites = instance.sites
    existing = sites.mask(SiteStatus.EXISTING)
    required = sites.mask(SiteStatus.REQUIRED)
    excluded = sites.mask(SiteStatus.EXCLUDED)
    selected = np.asarray(selected, dtype=bool)
    if selected.shape != (len(sites),):
        raise VerificationError(f"plan has {selected.shape} entries for {len(sites)} sites")
    open_sites = selected | existing
    new_sites = open_sites & ~existing
    problems: list[str] = []
    if (open_sites & excluded).any():
        problems.append(f"excluded sites opened: {', '.join(sites.ids[open_sites & excluded][:5])}")
    if (required & ~open_sites).any():
        problems.append(f"required sites not opened: {', '.join(sites.ids[required & ~open_sites][:5])}")
    total_cost = float(sites.cost[new_sites].astype(float).sum())
    if budget is not None and total_cost > budget * (1 + _REL_TOL) + 1e-9:
        problems.append(f"cost {total_cost:,.2f} exceeds budget {budget:,.2f}")
    n_counted = int(new_sites.sum())
    if max_sites is not None and n_counted > max_sites:
        problems.append(f"{n_counted} new sites exceed max_sites {max_sites}")

    weight = np.asarray(instance.demand.weight(weight_column), dtype=float)
    nearest, minutes = nearest_open_site(instance, open_sites)
    covered = minutes <= threshold_min
    covered_weight = float(weight[covered].sum())
    total_weight = float(weight.sum())
    _, usable_minutes = nearest_open_site(instance, ~excluded)
    coverable = usable_minutes <= threshold_min

    if model is ModelType.LSCP and (coverable & ~covered).any():
        missing = instance.demand.ids[coverable & ~covered]
        problems.append(f"{missing.size} coverable demand points left uncovered (e.g. {', '.join(missing[:5])})")
    if model is ModelType.PARTIAL and target_coverage is not None:
        if covered_weight < target_coverage * total_weight * (1 - _REL_TOL) - 1e-9:
            problems.append(
                f"covered share {covered_weight / total_weight:.4%} is below the target {target_coverage:.4%}"
            )
    if problems:
        raise VerificationError("plan fails verification: " + "; ".join(problems))
    return PlanCheck(
        open_sites=open_sites,
        new_sites=new_sites,
        nearest_site=nearest,
        nearest_minutes=minutes,
        covered=covered,
        covered_weight=covered_weight,
        total_weight=total_weight,
        total_cost=total_cost,
        coverable=coverable,
    )


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _REL_TOL * max(1.0, abs(a), abs(b))


def check_claims(
    check: PlanCheck,
    *,
    model: ModelType | str,
    objective: float | None,
    bound: float | None,
    proven_optimal: bool,
) -> float:
    """Compare what the solver path claims with the recomputation; return the verified objective.

    The verified objective is covered weight for MCLP and cost for LSCP / partial. A claim of
    more coverage (or less cost) than recomputed is always an error; a claim of proven optimality
    must match exactly (up to tolerance); a bound on the wrong side of the verified value is an error.
    """
    model = ModelType(model)
    maximise = model is ModelType.MCLP
    verified = check.covered_weight if maximise else check.total_cost
    if objective is not None:
        overclaim = objective - verified if maximise else verified - objective
        if overclaim > _REL_TOL * max(1.0, abs(verified)) or (proven_optimal and not _close(objective, verified)):
            raise VerificationError(
                f"{model}: solver reports objective {objective:,.6g} but the plan recomputed from the "
                f"raw inputs gives {verified:,.6g}"
            )
    if bound is not None:
        wrong_side = verified - bound if maximise else bound - verified
        if wrong_side > _REL_TOL * max(1.0, abs(verified)):
            raise VerificationError(
                f"{model}: bound {bound:,.6g} is on the wrong side of the verified objective {verified:,.6g}"
            )
    return verified


def coverage_table(instance: Instance, check: PlanCheck, weight_column: str = "population") -> pd.DataFrame:
    """Per demand point: covered or not, nearest open site and minutes (NaN when unreachable).

    The weight column the model counted is included next to ``population`` when it differs.
    """
    has = check.nearest_site >= 0
    nearest_ids = np.where(has, instance.sites.ids[np.maximum(check.nearest_site, 0)], None)
    weights = {} if weight_column == "population" else {weight_column: instance.demand.weight(weight_column)}
    return pd.DataFrame(
        {
            "demand_id": instance.demand.ids,
            "population": instance.demand.population,
            **weights,
            "covered": check.covered,
            "nearest_site": nearest_ids,
            "minutes": np.where(has, check.nearest_minutes, np.nan),
            "coverable": check.coverable,
        }
    )
