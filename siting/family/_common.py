"""Shared pieces of the classic model family: site bounds, row stacking, decoding and independent checks.

Every model module builds a :class:`~siting.program.LinearProgram` whose first column block is ``"site"``
(one binary ``y_j`` per site, in instance order), solves it through :func:`solve_program`, decodes the open
sites and then *recomputes* its figures from the raw :class:`~siting.data.instance.Instance` with the helpers
here (:func:`nearest_open`, :func:`check_plan`, :func:`agree`). A disagreement raises
:class:`~siting.errors.VerificationError`.

Cutoff behaviour (all models): a (demand, site) pair absent from the travel table is unreachable; it gets
no assignment variable and never covers.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..backends import get_backend
from ..backends.base import BackendSolution, Termination
from ..data.instance import Instance, SiteStatus, TravelTimes
from ..errors import InfeasibleError, InputError, VerificationError
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ..result import Result, status_from

__all__ = [
    "SiteRules",
    "site_rules",
    "Rows",
    "solve_program",
    "nearest_open",
    "demand_weight",
    "check_plan",
    "agree",
    "make_result",
    "no_solution_result",
    "pair_rows",
]

TOL = 1e-6


@dataclass(frozen=True)
class SiteRules:
    """Per-site bounds derived from :class:`SiteStatus`.

    lower : 1.0 for existing and required sites (open in every plan)
    upper : 0.0 for excluded sites
    cost : conversion cost paid by a plan (0 for existing sites)
    counts : True where the site counts toward ``p`` / ``max_sites`` (every status except existing)
    """

    lower: np.ndarray
    upper: np.ndarray
    cost: np.ndarray
    counts: np.ndarray
    existing: np.ndarray
    required: np.ndarray
    excluded: np.ndarray


def site_rules(instance: Instance) -> SiteRules:
    status = np.asarray(instance.sites.status).astype(str)
    existing = status == SiteStatus.EXISTING.value
    required = status == SiteStatus.REQUIRED.value
    excluded = status == SiteStatus.EXCLUDED.value
    lower = (existing | required).astype(float)
    upper = (~excluded).astype(float)
    cost = np.where(existing, 0.0, np.asarray(instance.sites.cost, dtype=float))
    return SiteRules(lower, upper, cost, ~existing, existing, required, excluded)


def demand_weight(instance: Instance, column: str) -> np.ndarray:
    try:
        return np.asarray(instance.demand.weight(column), dtype=float)
    except KeyError:
        have = ", ".join(["population", *instance.demand.groups]) or "population"
        raise InputError(f"unknown demand column {column!r}; available: {have}", file=instance.demand.source) from None


class Rows:
    """Accumulates constraint blocks ``lo <= A x <= up`` and stacks them into one CSR matrix."""

    def __init__(self, n_cols: int) -> None:
        self.n_cols = n_cols
        self._mats: list[sp.csr_matrix] = []
        self._lo: list[np.ndarray] = []
        self._up: list[np.ndarray] = []

    def add(self, rows, cols, vals, n_rows: int, lo, up) -> None:
        """Add ``n_rows`` rows given as COO triples (duplicates are summed)."""
        mat = sp.csr_matrix(
            (np.asarray(vals, dtype=float), (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
            shape=(n_rows, self.n_cols),
        )
        self._mats.append(mat)
        self._lo.append(np.broadcast_to(np.asarray(lo, dtype=float), (n_rows,)).copy())
        self._up.append(np.broadcast_to(np.asarray(up, dtype=float), (n_rows,)).copy())

    def add_limits(self, site_cols: slice, rules: SiteRules, budget: float | None, max_sites: int | None,
                   extra_cost: tuple[np.ndarray, np.ndarray] | None = None, exact: bool = False) -> None:
        """Budget row ``sum c_j y_j (+ extra) <= B`` and count row ``sum_{counts} y_j <= / = p``."""
        start = site_cols.start
        n = rules.cost.shape[0]
        if budget is not None:
            cols = np.arange(start, start + n)
            vals = rules.cost
            if extra_cost is not None:
                cols = np.concatenate([cols, extra_cost[0]])
                vals = np.concatenate([vals, extra_cost[1]])
            self.add(np.zeros(cols.shape[0]), cols, vals, 1, -np.inf, float(budget))
        if max_sites is not None:
            idx = np.flatnonzero(rules.counts)
            self.add(np.zeros(idx.shape[0]), start + idx, np.ones(idx.shape[0]), 1,
                     float(max_sites) if exact else -np.inf, float(max_sites))

    def stack(self) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        if not self._mats:
            return sp.csr_matrix((0, self.n_cols)), np.zeros(0), np.zeros(0)
        return sp.vstack(self._mats, format="csr"), np.concatenate(self._lo), np.concatenate(self._up)


def pair_rows(pair_demand: np.ndarray, n_demand: int) -> tuple[np.ndarray, np.ndarray]:
    """Row index (the demand) and column offset (the pair) of ``sum_j x_ij`` rows, one per demand point."""
    return np.asarray(pair_demand, dtype=np.int64), np.arange(pair_demand.shape[0], dtype=np.int64)


def check_limits(instance: Instance, rules: SiteRules, budget: float | None, max_sites: int | None,
                 model: str, exact: bool = False) -> None:
    """Raise :class:`InfeasibleError` when fixed sites alone break the budget or the site limit."""
    fixed_cost = float(rules.cost[rules.lower > 0].sum())
    if budget is not None and fixed_cost > budget + TOL:
        raise InfeasibleError(f"{model}: required sites cost {fixed_cost:g} > budget {budget:g}")
    n_fixed = int((rules.counts & (rules.lower > 0)).sum())
    if max_sites is not None:
        if n_fixed > max_sites:
            raise InfeasibleError(f"{model}: {n_fixed} required sites > limit {max_sites}")
        if exact and int((rules.counts & (rules.upper > 0)).sum()) < max_sites:
            raise InfeasibleError(f"{model}: fewer usable sites than p={max_sites}")


def solve_program(program: LinearProgram, backend: str, options: SolveOptions,
                  warm_start: np.ndarray | None = None) -> BackendSolution:
    program.check()
    if warm_start is None:
        return get_backend(backend).solve(program, options)
    return get_backend(backend).solve(program, options, warm_start=warm_start)


def open_sites(program: LinearProgram, x: np.ndarray) -> np.ndarray:
    return program.block(x, "site") > 0.5


def nearest_open(travel: TravelTimes, open_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest open site and its minutes for every demand point (``-1`` / ``inf`` when none is reachable).

    Ties are broken toward the lower site index. Vectorised: filter pairs, lexsort, first row per demand.
    """
    keep = open_mask[travel.site_index]
    d, s, t = travel.demand_index[keep], travel.site_index[keep], travel.minutes[keep]
    order = np.lexsort((s, t, d))
    d, s, t = d[order], s[order], t[order]
    first = np.ones(d.shape[0], dtype=bool)
    first[1:] = d[1:] != d[:-1]
    site = np.full(travel.n_demand, -1, dtype=np.int64)
    minutes = np.full(travel.n_demand, np.inf)
    site[d[first]] = s[first]
    minutes[d[first]] = t[first]
    return site, minutes


def check_plan(instance: Instance, rules: SiteRules, open_mask: np.ndarray, *, budget: float | None,
               max_sites: int | None, model: str, exact: bool = False, extra_cost: float = 0.0) -> float:
    """Recompute cost and site count of a plan from the raw sites; raise on any broken rule. Returns the cost."""
    if np.any(open_mask & (rules.upper < 0.5)):
        raise VerificationError(f"{model}: an excluded site is open")
    if np.any(~open_mask & (rules.lower > 0.5)):
        raise VerificationError(f"{model}: an existing or required site is closed")
    cost = float(rules.cost[open_mask].sum()) + extra_cost
    if budget is not None and cost > budget * (1 + TOL) + TOL:
        raise VerificationError(f"{model}: plan cost {cost:g} exceeds budget {budget:g}")
    n = int((open_mask & rules.counts).sum())
    if max_sites is not None and (n > max_sites or (exact and n != max_sites)):
        raise VerificationError(f"{model}: plan opens {n} counted sites, limit {max_sites}")
    return cost


def agree(model: str, label: str, reported: float | None, recomputed: float, *, rel: float = 1e-6,
          direction: str = "eq") -> None:
    """Check a solver figure against its recomputation. ``direction``: "eq", "le" (recomputed <= reported
    is fine, e.g. a p-median assignment that is not nearest) or "ge"."""
    if reported is None:
        return
    tol = rel * max(1.0, abs(recomputed), abs(reported))
    diff = recomputed - reported
    ok = abs(diff) <= tol or (direction == "le" and diff < 0) or (direction == "ge" and diff > 0)
    if not ok:
        raise VerificationError(f"{model}: {label} reported {reported:.10g}, recomputed {recomputed:.10g}")


def _existing(instance: Instance) -> np.ndarray:
    return instance.sites.mask(SiteStatus.EXISTING)


def sites_frame(instance: Instance, open_mask: np.ndarray, rules: SiteRules, **columns) -> pd.DataFrame:
    frame = pd.DataFrame({
        "site_id": instance.sites.ids.astype(str),
        "status": np.asarray(instance.sites.status).astype(str),
        "cost": rules.cost,
        "selected": open_mask & ~_existing(instance),
        "open": open_mask,
    })
    for key, value in columns.items():
        frame[key] = value
    return frame


def coverage_frame(instance: Instance, weight: np.ndarray, site: np.ndarray, minutes: np.ndarray,
                   covered: np.ndarray, **columns) -> pd.DataFrame:
    ids = instance.sites.ids.astype(str)
    frame = pd.DataFrame({
        "demand_id": instance.demand.ids.astype(str),
        "weight": weight,
        "site_id": np.where(site >= 0, ids[np.maximum(site, 0)], None) if ids.shape[0] else None,
        "minutes": minutes,
        "covered": covered,
    })
    for key, value in columns.items():
        frame[key] = value
    return frame


def no_solution_result(model: str, sol: BackendSolution, total_population: float, t0: float,
                       stats: dict | None = None) -> Result:
    return Result(
        model=model, status=status_from(sol.termination, False), termination=sol.termination,
        has_solution=False, objective=None, best_bound=sol.bound, gap=None, selected=(), total_cost=0.0,
        covered_population=0.0, total_population=total_population, solver=sol.backend,
        seconds=time.perf_counter() - t0, stats=dict(stats or {}), message=sol.message,
    )


def gap_of(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None:
        return None
    return abs(bound - objective) / max(abs(objective), 1e-9)


def make_result(model: str, instance: Instance, sol: BackendSolution, open_mask: np.ndarray, *,
                objective: float, bound: float | None, total_cost: float, covered_population: float,
                total_population: float, t0: float, sites: pd.DataFrame, coverage: pd.DataFrame,
                stats: dict | None = None, termination: Termination | None = None) -> Result:
    term = termination or sol.termination
    status = status_from(term, True)  # TIME_LIMIT with has_solution=True: a verified plan without a proof
    info = {"backend_seconds": sol.seconds, **{f"backend_{k}": v for k, v in sol.stats.items()}}
    info.update(stats or {})
    return Result(
        model=model, status=status, termination=term, has_solution=True, objective=float(objective),
        best_bound=bound, gap=gap_of(objective, bound),
        # like every model: the sites to convert, not the existing ones that stay open
        selected=tuple(instance.sites.ids[open_mask & ~_existing(instance)].astype(str).tolist()),
        total_cost=float(total_cost), covered_population=float(covered_population),
        total_population=float(total_population), solver=sol.backend, seconds=time.perf_counter() - t0,
        sites=sites, coverage=coverage, stats=info, message=sol.message,
    )


def lp(sense: Sense, c: np.ndarray, rows: Rows, lower: np.ndarray, upper: np.ndarray, integer: np.ndarray,
       name: str, blocks: dict[str, tuple[int, int]], offset: float = 0.0) -> LinearProgram:
    A, lo, up = rows.stack()
    return LinearProgram(sense, np.asarray(c, dtype=float), A, lo, up, np.asarray(lower, dtype=float),
                         np.asarray(upper, dtype=float), np.asarray(integer, dtype=bool), float(offset), name, blocks)


def within_usable(instance: Instance, threshold_min: float, rules: SiteRules) -> sp.csr_matrix:
    """``a_ij`` = 1 iff the pair is in the table with ``t_ij <= threshold_min`` and site ``j`` is not excluded."""
    a = instance.travel.within(threshold_min).astype(np.float64)
    a = (a @ sp.diags((rules.upper > 0).astype(float))).tocsr()
    a.eliminate_zeros()
    return a


def cover_rows(rows: Rows, a: sp.csr_matrix, active: np.ndarray, v_start: int, n_sites: int) -> None:
    """Rows ``v_i - sum_j a_ij y_j <= 0`` for the demand points ``active`` (v column ``v_start + k``)."""
    sub = a[active].tocoo()
    k = active.shape[0]
    rows.add(np.concatenate([np.arange(k), sub.row]), np.concatenate([v_start + np.arange(k), sub.col]),
             np.concatenate([np.ones(k), -np.ones(sub.nnz)]), k, -np.inf, 0.0)
