r"""The building subproblem of the multi-service Lagrangian bound, and its exact line search over the budget price.

For prices :math:`p_{jk}` (what covering from building :math:`j` with service :math:`k` earns) and a budget
price :math:`\mu`, each building's term is

.. math::

    t_j(\mu) = \max\Big(0, \max_{S \in \mathcal{F}_j} \sum_{k \in S} (p_{jk} - \mu e_{jk}) - \mu c_j\Big),

:math:`\mathcal{F}_j` the non-empty sets of services building :math:`j` may host whose floor-area needs sum to
at most its floor area. The maximum is taken **exactly** (integral bundles): buildings where every hostable
service fits take every service of positive net price; the others ("tight") take the best of the
:math:`2^K` subsets, from a (tight buildings, subsets) table of the sets that fit, built once. When that
table would be too large (:data:`MAX_EXACT_SERVICES`, :data:`MAX_EXACT_ENTRIES`), tight buildings take the
floor-area knapsack's LP relaxation instead (fractional services by net price per m2): a larger term, so
still a bound, only a looser one. ``max_sites`` keeps the largest terms among the buildings that count.

:func:`line_minimum` minimises the convex piecewise-linear :math:`g(\mu) = \mu B + \sum_j t_j(\mu)` over
:math:`\mu \ge 0` by cutting planes (the meeting point of the tangents either side of the minimum), from a
bracket around the previous :math:`\mu`; every evaluated :math:`g(\mu)` is itself a bound, and the tangents
bound the minimum from below, so the search stops once the two agree.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .multiservice_reach import Reach, rows_weighted

__all__ = ["Buildings", "Choice", "line_minimum", "MAX_EXACT_SERVICES", "MAX_EXACT_ENTRIES"]

#: more services than this: tight buildings take the fractional bundle (2^K subsets per building)
MAX_EXACT_SERVICES = 10
#: more (tight building, subset) entries than this: the fractional bundle (the table is kept in memory)
MAX_EXACT_ENTRIES = 50_000_000


@dataclass(frozen=True)
class Choice:
    """The buildings' best response at one ``mu``."""

    total: float               # sum of the chosen buildings' terms
    chosen: np.ndarray         # (n_sites, K) placements in [0, 1] (0/1 with integral bundles)
    spend: np.ndarray          # (n_sites,) conversion + fit-out cost of the chosen buildings
    term: np.ndarray           # (n_sites,) each chosen building's term, 0 elsewhere


class Buildings:
    """The inner problem: for given per-(building, service) prices, the best buildings and bundles.

    ``exact``: None takes integral bundles when the subset table fits the limits, False always the
    fractional knapsack (for comparisons); ``bundles`` says which one is used.
    """

    def __init__(self, reach: Reach, counts: np.ndarray, max_sites: int | None, exact: bool | None = None) -> None:
        self.reach = reach
        self.counts = counts
        self.max_sites = max_sites
        self.hosts = reach.allowed & reach.buildable[:, None]
        # a service without a floor-area need takes none
        self.need = np.maximum(np.nan_to_num(np.asarray(reach.area_need, float), nan=0.0), 0.0)
        n_sites, n_services = self.hosts.shape
        # the floor area with the slack of a solver's feasibility tolerance (more room: still a bound)
        self.room = reach.floor_area * (1 + 1e-9) + 1e-9
        self.tight = np.flatnonzero((self.hosts * self.need).sum(axis=1) > self.room)
        entries = int(self.tight.shape[0]) * 2 ** n_services
        if exact is None:
            exact = n_services <= MAX_EXACT_SERVICES and entries <= MAX_EXACT_ENTRIES
        self.exact = bool(exact) and self.tight.shape[0] > 0
        self.bundles = "integral" if exact or not self.tight.shape[0] else "fractional"
        if self.exact:
            self.bundle_sets = _maximal_sets(self.hosts[self.tight], self.need, self.room[self.tight])
            # float copy made once: converting the picked rows on every call churned tens of MB at city size
            self.bundle_values = self.bundle_sets.astype(np.float64)
        # each service's (building, demand point) reach with float64 entries: a product with the 0/1 int8
        # matrices converts their data on every call
        self.by_site = [sp.csr_matrix((s.by_site.data.astype(np.float64), s.by_site.indices, s.by_site.indptr),
                                      shape=s.by_site.shape) for s in reach.services]

    def prices(self, u: list[np.ndarray]) -> np.ndarray:
        """(n_sites, K): what each building earns per service at point multipliers ``u`` (one array a service)."""
        return np.column_stack([m @ x for m, x in zip(self.by_site, u, strict=True)])

    def reached(self, chosen: np.ndarray) -> list[np.ndarray]:
        """Per service, how many chosen placements reach each demand point (from the chosen buildings' rows)."""
        out = []
        for k, m in enumerate(self.by_site):
            rows = np.flatnonzero(chosen[:, k])
            out.append(rows_weighted(m, rows, chosen[rows, k]))
        return out

    def best(self, price: np.ndarray, mu: float) -> Choice:
        """The best buildings and bundles at budget price ``mu`` (see module notes)."""
        r = self.reach
        q = np.where(self.hosts, price - mu * r.placement_cost, 0.0)
        chosen = (q > 0).astype(np.float64)
        if self.tight.shape[0]:
            chosen[self.tight] = self._exact(q[self.tight]) if self.exact else _fractional(
                q[self.tight], self.need, self.room[self.tight])
        value = (q * chosen).sum(axis=1)
        term = np.where(chosen.sum(axis=1) > 0, value - mu * r.building_cost, 0.0)
        take = term > 0
        if self.max_sites is not None:
            counted = np.flatnonzero(take & self.counts)
            if counted.shape[0] > self.max_sites:
                drop = counted[np.argpartition(-term[counted], self.max_sites)[self.max_sites:]]
                take[drop] = False
        chosen *= take[:, None]
        spend = np.where(take, r.building_cost + (r.placement_cost * chosen).sum(axis=1), 0.0)
        term = np.where(take, term, 0.0)
        return Choice(float(term.sum()), chosen, spend, term)

    def _exact(self, q: np.ndarray) -> np.ndarray:
        """Each tight building's best fitting set (rows of ``q``) as 0/1 placements: none when nothing earns."""
        # only buildings whose services of positive net price do not all fit need the sets; the best set
        # within a maximal one is its services of positive net price, so the best maximal set decides
        positive = q > 0
        over = np.flatnonzero(positive @ self.need > self.room[self.tight])
        out = positive.astype(np.float64)
        if over.shape[0]:
            sets = self.bundle_values[over]                                          # (o, M, K) 0/1
            value = np.einsum("omk,ok->om", sets, np.maximum(q[over], 0.0))
            pick = np.argmax(value, axis=1)
            out[over] = sets[np.arange(over.shape[0]), pick] * positive[over]
        return out


def _maximal_sets(hosts: np.ndarray, need: np.ndarray, room: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """(n, M, K) bool: each building's maximal sets of hostable services that fit its ``room``, padded empty.

    The best bundle of non-negative prices is found among the maximal fitting sets (a larger set earns no
    less), usually a handful per building against the 2^K subsets.
    """
    n, n_services = hosts.shape
    subsets = np.arange(2 ** n_services)
    bits = (subsets[:, None] >> np.arange(n_services)) & 1                                 # (S, K)
    area = bits @ need
    host_bits = hosts.astype(np.int64) @ (1 << np.arange(n_services))
    rows = []
    for start in range(0, n, chunk):                   # (chunk, S) tables only
        fit = ((subsets[None, :] & ~host_bits[start:start + chunk, None]) == 0) \
            & (area[None, :] <= room[start:start + chunk, None])
        larger = np.zeros_like(fit)
        for k in range(n_services):
            with_k = subsets | (1 << k)
            larger |= fit[:, with_k] & (with_k != subsets)[None, :]
        maximal = fit & ~larger
        width = max(1, int(maximal.sum(axis=1).max(initial=0)))
        # each row's maximal sets first (a stable sort of "not maximal"), the rest padded with the empty set 0
        order = np.argsort(~maximal, axis=1, kind="stable")[:, :width]
        rows.append(np.where(np.take_along_axis(maximal, order, axis=1), order, 0))
    width = max((r.shape[1] for r in rows), default=1)
    index = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]))) for r in rows]) if rows \
        else np.zeros((0, 1), np.int64)
    return bits[index].astype(bool)


def _fractional(q: np.ndarray, need: np.ndarray, floor_area: np.ndarray) -> np.ndarray:
    """The floor-area knapsack's LP relaxation per row: services by net price per m2, the last one in part."""
    positive = q > 0
    need = np.broadcast_to(need, q.shape)
    density = np.where(positive, q / np.maximum(need, 1e-12), -np.inf)
    density = np.where(positive & (need <= 0), np.inf, density)
    order = np.argsort(-density, axis=1, kind="stable")
    rows = np.arange(q.shape[0])[:, None]
    need_sorted = np.where(positive[rows, order], need[rows, order], 0.0)
    before = np.cumsum(need_sorted, axis=1) - need_sorted
    room = floor_area[:, None] - before
    part = np.where(need_sorted > 0, np.clip(room / np.maximum(need_sorted, 1e-12), 0.0, 1.0), 1.0)
    chosen = np.zeros(q.shape)
    chosen[rows, order] = np.where(positive[rows, order], part, 0.0)
    return chosen


def line_minimum(inner: Buildings, price: np.ndarray, money: float, mu0: float, *, scale: float = 0.0,
                 rel_tol: float = 2e-6, max_evaluations: int = 30) -> tuple[float, float, Choice]:
    """Minimum over mu >= 0 of mu * money + inner(mu): (value, mu, the buildings' choice at that mu).

    ``scale``: a magnitude of the whole Lagrangian (the search stops when the tangents prove the value within
    ``rel_tol`` of it and the value of the minimum). ``mu0``: where to start (the previous step's mu).
    """
    def at(mu: float) -> tuple[float, float, Choice]:
        c = inner.best(price, mu)
        # (value, slope = money - spend, choice)
        return mu * money + c.total, money - float(c.spend.sum()), c

    if not np.isfinite(money):
        choice = inner.best(price, 0.0)
        return choice.total, 0.0, choice
    lo: tuple[float, float, float] | None = None      # (mu, value, slope) with slope < 0
    hi: tuple[float, float, float] | None = None      # (mu, value, slope) with slope >= 0
    trial, per_yuan, side = max(mu0, 0.0), 0.0, ""
    best_value, best_mu, best_choice = np.inf, trial, None
    # the bracket grows (shrinks) by 1.1 first from a warm start, then by 4 at a time
    factor = 1.1 if mu0 > 0 else 4.0
    for _ in range(max_evaluations):
        value, slope, choice = at(trial)
        if best_choice is None or value < best_value:
            best_value, best_mu, best_choice = value, trial, choice
        if slope >= 0:
            hi, replaced = (trial, value, slope), "hi"
            if trial == 0.0 or slope == 0.0:
                break                  # the minimum: at 0 with a slope >= 0, or where the slope is 0
        else:
            lo, replaced = (trial, value, slope), "lo"
            if trial == 0.0:
                per_yuan = choice.total / max(float(choice.spend.sum()), 1e-300)
        if hi is None:                 # spends too much at every mu tried: go further
            assert lo is not None
            trial = factor * lo[0] if lo[0] > 0 else (mu0 if mu0 > 0 else per_yuan)
            factor = 4.0
            if not 0 < trial < 1e30:
                break
            continue
        if lo is None:                 # the slope is >= 0 here: the minimum is at a smaller mu (or at 0)
            trial = hi[0] / factor if factor < 8.0 else 0.0
            factor *= 2.0
            continue
        # the tangents at lo and hi meet at the model's minimum, a lower bound of the minimum
        meet = (hi[1] - lo[1] + lo[2] * lo[0] - hi[2] * hi[0]) / (lo[2] - hi[2])
        floor_value = lo[1] + lo[2] * (meet - lo[0])
        if best_value - floor_value <= rel_tol * (abs(scale) + abs(best_value)):
            break
        # one side replaced twice in a row (progress from one side only): bisect instead
        trial = 0.5 * (lo[0] + hi[0]) if replaced == side else min(max(meet, lo[0]), hi[0])
        side = replaced
        if not lo[0] < trial < hi[0]:
            break
    assert best_choice is not None
    return float(best_value), best_mu, best_choice
