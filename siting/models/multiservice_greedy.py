r"""A greedy multi-service plan: buildings converted with bundles of services, year by year, floors first.

The warm start of city-size multi-service programs (:mod:`siting.models.multiservice_heuristic`). Moves are
"convert building :math:`j` with the best-ratio bundle of services" and "add service :math:`k` to a building
already converted"; each step takes the move of highest gain per yuan that the year's money, the total budget,
``max_sites`` and the floor area allow. Gains are kept per (building, service) and updated only where a
placement newly covers demand (rows of the sparse reach), so a step never rescans the whole table.

Notes
-----
Gain of service :math:`k` at building :math:`j`: :math:`g_{jk} = \sum_i a^k_{ij} \pi^k_i [i \text{ uncovered}]`.
The values :math:`\pi^k` are, in turn: the persons of communities / services still below a floor
(``min_share``, ``min_share_per_community``; ``min_providers_per_community`` is met first by the best building
of each short community), then :math:`\lambda_k w^k_i` (the objective). A bundle for an unconverted building
takes its services in decreasing :math:`g_{jk}/e_{jk}` while they fit (floor area, money) and keeps the prefix
of best ratio :math:`\sum g / (c_j + \sum e)`. With ``[[phases]]`` each year spends its own money (plus what is
left with ``carry_over``) before the next year starts; earlier coverage counts in every later year, which the
ratio order already favours.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..interrupt import expired
from ..rules import SiteRules
from .multiservice_params import MultiserviceParams
from .multiservice_reach import Reach, rows_weighted

__all__ = ["GreedyPlan", "greedy_plan", "greedy_state", "loaded_state", "fill", "floors_met", "supported",
           "FLOOR_WEIGHT"]

_EPS = 1e-12
#: while a floor is short, a person short of it is worth this many times its floor share against the objective
FLOOR_WEIGHT = 10.0
#: the bundles of this many unconverted buildings (those of highest ratio bound) are built first; the others only
#: where their bound reaches the best ratio found (150k plain seed 3, the greedy starts' 2,500 searches of ~10,000
#: buildings: 16.2 s -> 11.7 s)
BUNDLE_FIRST = 256


@dataclass(frozen=True)
class GreedyPlan:
    """Placements and the year each opens (-1: never), and whether every floor was met."""

    year: np.ndarray            # (n_sites, K) int
    floors_met: bool

    @property
    def placed(self) -> np.ndarray:
        """(n_sites, K) bool: placed by the last year."""
        return self.year >= 0


def supported(params: MultiserviceParams, reach: Reach) -> str | None:
    """Why the greedy cannot plan for these rules (None: it can)."""
    if any(s.data.service.capacity is not None for s in reach.services):
        return "a capacitated service"
    if params.budget_groups or params.min_complexes or params.all_complexes:
        return "budget groups or complexes"
    if params.min_new_per_community_per_year:
        return "min_new_per_community_per_year"
    return None


class _State:
    """The plan being built and the gains of every (building, service)."""

    def __init__(self, reach: Reach, params: MultiserviceParams, rules: SiteRules) -> None:
        self.reach = reach
        n, k = reach.allowed.shape
        self.year = np.full((n, k), -1, np.int64)
        self.converted = np.zeros(n, bool)
        self.area_left = reach.floor_area.copy()
        self.counts = rules.counts
        self.n_new = 0
        self.max_sites = params.max_sites
        self.uncovered = [s.active.copy() for s in reach.services]
        self.count = [np.zeros(s.active.shape[0], np.int32) for s in reach.services]
        self.weights = [np.zeros_like(s.value) for s in reach.services]
        self.gain = np.zeros((n, k))
        self.blocked = np.zeros(n, bool)      # buildings a local-search move just emptied: not converted again
        self.cost_power = 1.0                 # moves ranked by gain / cost ** cost_power

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """New per-point values; every gain column recomputed (one sparse product per service)."""
        self.weights = weights
        for k, s in enumerate(self.reach.services):
            self.gain[:, k] = s.by_site @ (weights[k] * self.uncovered[k])

    def fits(self) -> np.ndarray:
        """(n, K) bool: not yet placed, allowed and within the floor area left."""
        r = self.reach
        return r.allowed & (self.year < 0) & (r.area_need[None, :] <= self.area_left[:, None] + 1e-9)

    def place(self, j: int, k: int, year: int) -> np.ndarray:
        """Place ``k`` at ``j`` in ``year``; returns the demand points it newly covers."""
        r = self.reach
        if not self.converted[j]:
            self.converted[j] = True
            self.n_new += int(self.counts[j])
        self.year[j, k] = year
        self.area_left[j] -= r.area_need[k]
        s = r.services[k]
        row = s.by_site.indices[s.by_site.indptr[j]:s.by_site.indptr[j + 1]]
        self.count[k][row] += 1
        new = row[self.uncovered[k][row]]
        if new.size:
            self.uncovered[k][new] = False
            self._shift_gain(k, new, -1.0)
        return new

    def remove(self, j: int, k: int) -> None:
        """Take ``k`` out of ``j`` (the building unconverted when it hosts nothing new any more)."""
        r = self.reach
        self.year[j, k] = -1
        self.area_left[j] += r.area_need[k]
        if not (self.year[j] >= 0).any():
            self.converted[j] = False
            self.n_new -= int(self.counts[j])
        s = r.services[k]
        row = s.by_site.indices[s.by_site.indptr[j]:s.by_site.indptr[j + 1]]
        self.count[k][row] -= 1
        lost = row[self.count[k][row] == 0]
        if lost.size:
            self.uncovered[k][lost] = True
            self._shift_gain(k, lost, 1.0)

    def _shift_gain(self, k: int, points: np.ndarray, sign: float) -> None:
        """Gains of every site reaching ``points`` move by their values (the rows of the sparse reach)."""
        self.gain[:, k] += sign * rows_weighted(self.reach.services[k].by_demand, points, self.weights[k][points])

    def value(self) -> float:
        """The objective of the placements (last year, without what existing facilities earn)."""
        return float(sum(s.value[~u & s.active].sum() for s, u in zip(self.reach.services, self.uncovered,
                                                                        strict=True)))

    def snapshot(self) -> dict:
        """Copies of everything a move changes (to undo it)."""
        return {"year": self.year.copy(), "converted": self.converted.copy(), "area_left": self.area_left.copy(),
                "n_new": self.n_new, "uncovered": [u.copy() for u in self.uncovered],
                "count": [c.copy() for c in self.count], "gain": self.gain.copy()}

    def restore(self, snap: dict) -> None:
        """Back to a :meth:`snapshot`."""
        self.year, self.converted, self.area_left = snap["year"], snap["converted"], snap["area_left"]
        self.n_new, self.uncovered, self.count, self.gain = snap["n_new"], snap["uncovered"], snap["count"], \
            snap["gain"]

    def best_move(self, money: float) -> tuple[int, np.ndarray, float] | None:
        """(building, services to place, ratio) of the best affordable move, None when nothing gains."""
        r = self.reach
        fit = self.fits() & (self.gain > _EPS) & (r.placement_cost <= money + 1e-9)
        best: tuple[int, np.ndarray, float] | None = None
        # add a service to a converted building
        add = fit & self.converted[:, None]
        if add.any():
            add_ratio = np.where(add, self.gain / np.maximum(r.placement_cost, _EPS) ** self.cost_power, -np.inf)
            flat = int(np.argmax(add_ratio))
            j, k = divmod(flat, add_ratio.shape[1])
            best = (j, np.array([k]), float(add_ratio[j, k]))
        if self.max_sites is not None and self.n_new >= self.max_sites:
            open_ok = ~self.counts
        else:
            open_ok = np.ones(self.converted.shape[0], bool)
        rows = np.flatnonzero(~self.converted & ~self.blocked & r.buildable & open_ok & fit.any(axis=1)
                              & (r.building_cost <= money + 1e-9))
        if rows.size:
            at, chosen, ratio = self._best_bundle(rows, fit[rows], money)
            if at >= 0 and (best is None or ratio > best[2]):
                best = (at, chosen, ratio)
        return best

    def _best_bundle(self, rows: np.ndarray, fit: np.ndarray, money: float) -> tuple[int, np.ndarray, float]:
        r"""The best-ratio bundle over the unconverted buildings ``rows``: (building, services, ratio).

        A bundle spends at least its building's conversion cost :math:`c_j` (a tighter bound with the fit-outs
        cost as much as it saved), so its ratio is at most :math:`\sum_k g_{jk} / c_j^p` over the fitting
        services: the :data:`BUNDLE_FIRST` buildings of highest bound are searched first, then every other whose
        bound reaches the best ratio found. The answer is the one a search of every building gives (the first
        building of the best ratio, in ``rows`` order).
        """
        r = self.reach
        g = np.where(fit, self.gain[rows], 0.0)
        candidates = np.arange(rows.shape[0])
        if rows.shape[0] > BUNDLE_FIRST and self.cost_power >= 0:
            base = r.building_cost[rows]
            # the margin covers a subset summed in another order than the row's whole sum
            upper = np.where(base > _EPS, g.sum(axis=1) * (1 + 1e-9) / np.maximum(base, _EPS) ** self.cost_power,
                             np.inf)
            first = np.sort(np.argpartition(-upper, BUNDLE_FIRST - 1)[:BUNDLE_FIRST])
            ratio, _, _ = self._bundle_ratios(rows[first], fit[first], g[first], money)
            candidates = np.flatnonzero(upper >= ratio.max())
        ratio, pos, added_at = self._bundle_ratios(rows[candidates], fit[candidates], g[candidates], money)
        if not (pos >= 0).any():
            return -1, np.zeros(0, np.int64), -np.inf
        at = int(np.argmax(ratio))
        chosen = np.flatnonzero(added_at[at] <= pos[at])
        return int(rows[candidates[at]]), chosen, float(ratio[at])

    def _bundle_ratios(self, rows: np.ndarray, fit: np.ndarray, g: np.ndarray, money: float
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each building's best-ratio prefix, one step per service position.

        Returns (best ratio, its prefix's last position, the position each service was added at: K where never).
        """
        r = self.reach
        cost = r.placement_cost[rows]
        order = np.argsort(-(g / np.maximum(cost, _EPS) ** self.cost_power), axis=1, kind="stable")
        m = rows.shape[0]
        idx = np.arange(m)
        spent = r.building_cost[rows].copy()
        area = np.zeros(m)
        total = np.zeros(m)
        added_at = np.full(fit.shape, fit.shape[1], np.int64)
        best_ratio = np.full(m, -np.inf)
        best_pos = np.full(m, -1, np.int64)
        for pos in range(fit.shape[1]):
            k = order[:, pos]
            ok = fit[idx, k] & (area + r.area_need[k] <= r.floor_area[rows] + 1e-9) & \
                (spent + cost[idx, k] <= money + 1e-9)
            spent += np.where(ok, cost[idx, k], 0.0)
            area += np.where(ok, r.area_need[k], 0.0)
            total += np.where(ok, g[idx, k], 0.0)
            added_at[idx[ok], k[ok]] = pos
            ratio = np.where(spent > _EPS, total / np.maximum(spent, _EPS) ** self.cost_power,
                             np.where(total > 0, np.inf, 0.0))
            better = ok & (ratio > best_ratio)
            best_ratio[better] = ratio[better]
            best_pos[better] = pos
        return best_ratio, best_pos, added_at


def _floor_weights(state: _State) -> tuple[list[np.ndarray] | None, tuple]:
    """Per-point values of the persons short of a floor, and a key naming the floors still short.

    The values are in share units (None when every floor is met); they change only when the key does.
    """
    reach = state.reach
    dem_c = reach.inputs.demand_community
    n_comm = len(reach.inputs.communities)
    out: list[np.ndarray] = []
    key: list[tuple] = []
    for k, s in enumerate(reach.services):
        svc, w = s.data.service, s.data.weight
        total = float(w.sum())
        covered = (~state.uncovered[k] & s.active) | s.pre_covered
        vals = np.zeros_like(w)
        if svc.min_share is not None and total > 0 and \
                float(w[covered].sum()) < svc.min_share * total - 1e-9 * total:
            vals += w / total
            key.append((k, -1))
        if svc.min_share_per_community is not None and dem_c is not None and n_comm:
            on = dem_c >= 0
            need = np.bincount(dem_c[on], weights=w[on], minlength=n_comm)
            got = np.bincount(dem_c[on & covered], weights=w[on & covered], minlength=n_comm)
            lacking = (need > 0) & (got < svc.min_share_per_community * need - 1e-9 * need)
            if lacking.any():
                key.append((k, lacking.tobytes()))
                scale = np.where(lacking, 1.0 / np.maximum(need, _EPS), 0.0)
                vals += np.where(on, w * scale[np.maximum(dem_c, 0)], 0.0)
        out.append(vals)
    return (out if key else None), tuple(key)


class _Money:
    """What may be spent now: the year's money (plus carry-over), the total budget left."""

    def __init__(self, params: MultiserviceParams) -> None:
        self.budgets = [ph.budget for ph in params.phases] if params.phases else \
            [np.inf if params.budget is None else float(params.budget)]
        self.total_left = np.inf if params.budget is None else float(params.budget)
        self.carry = params.carry_over
        self.year = 0
        self.left = float(self.budgets[0])

    def now(self) -> float:
        return min(self.left, self.total_left)

    def spend(self, amount: float) -> None:
        self.left -= amount
        self.total_left -= amount

    def next_year(self) -> bool:
        if self.year + 1 >= len(self.budgets):
            return False
        self.year += 1
        self.left = (self.left if self.carry else 0.0) + float(self.budgets[self.year])
        return True


def _providers_first(state: _State, params: MultiserviceParams, money: _Money) -> None:
    """``min_providers_per_community``: in each short community, the best-ratio building that may host it."""
    reach = state.reach
    site_c = reach.inputs.site_community
    n_comm = len(reach.inputs.communities)
    if site_c is None or not n_comm:
        return
    for k, s in enumerate(reach.services):
        need = s.data.service.min_providers_per_community
        if not need:
            continue
        for c in range(n_comm):                   # a loop over communities, each a vectorised choice
            in_c = site_c == c
            have = int(((state.year[:, k] >= 0) | s.data.existing)[in_c].sum())
            for _ in range(max(0, need - have)):
                # a community that cannot be served (no building, no money) leaves the others theirs
                cand = np.flatnonzero(in_c & state.fits()[:, k] & (state.converted | reach.buildable))
                if not cand.size:
                    break
                cost = reach.placement_cost[cand, k] + np.where(state.converted[cand], 0.0,
                                                                reach.building_cost[cand])
                ok = cost <= money.now() + 1e-9
                if not ok.any():
                    break
                ratio = np.where(ok, (state.gain[cand, k] + _EPS) / np.maximum(cost, _EPS), -np.inf)
                j = int(cand[int(np.argmax(ratio))])
                money.spend(float(cost[int(np.argmax(ratio))]))
                state.place(j, k, money.year)


def fill(state: _State, money: _Money, floor_key: tuple | None = None, *, deadline: float | None = None) -> bool:
    """Best moves until none is affordable (or ``deadline``); True when stopped because the short floors changed."""
    reach = state.reach
    while True:
        if expired(deadline):
            return False    # a partial plan is still a plan; the caller checks its floors
        move = state.best_move(money.now())
        if move is None:
            return False
        j, services, _ = move
        money.spend(float((0.0 if state.converted[j] else reach.building_cost[j])
                          + reach.placement_cost[j, services].sum()))
        for k in services:
            state.place(j, int(k), money.year)
        if floor_key is not None and _floor_weights(state)[1] != floor_key:
            return True


def floors_met(state: _State) -> bool:
    """Every floor and provider count of the rules met by the placements."""
    return _floor_weights(state)[0] is None and not _providers_short(state)


def greedy_state(reach: Reach, params: MultiserviceParams, rules: SiteRules, *,
                 floors_from: int = 0, floor_weight: float = FLOOR_WEIGHT, deadline: float | None = None,
                 cost_power: float = 1.0) -> tuple[_State, _Money]:
    """The greedy's final state and purse (for the local search to continue from).

    Floors bind the last year only: the years before ``floors_from`` (a year index) serve the objective
    alone, and from that year on the floors come first.
    While a floor is short, a point's value is ``floor_weight`` times its floor value plus its objective
    value, so the moves that reach the floors also serve the objective. Past ``deadline`` no move is added.
    Moves are ranked by gain per ``cost ** cost_power`` (1: per yuan; below 1 larger buildings and bundles
    come earlier).
    """
    state = _State(reach, params, rules)
    state.cost_power = cost_power
    money = _Money(params)
    for j in np.flatnonzero(rules.required & reach.buildable):         # required buildings: cheapest service
        cand = np.flatnonzero(state.fits()[j])
        if cand.size:
            k = int(cand[np.argmin(reach.placement_cost[j, cand])])
            money.spend(float(reach.building_cost[j] + reach.placement_cost[j, k]))
            state.place(int(j), k, 0)
    objective = [s.value for s in reach.services]
    while money.year < min(floors_from, len(money.budgets) - 1):
        state.set_weights(objective)
        fill(state, money, deadline=deadline)
        money.next_year()

    def values(floors: list[np.ndarray] | None) -> list[np.ndarray]:
        return objective if floors is None else [floor_weight * f + o for f, o in zip(floors, objective, strict=True)]

    while True:
        floors, key = _floor_weights(state)
        state.set_weights(values(floors))
        if _providers_short(state):
            # provider counts are no per-point values: each year their buildings are chosen before the fill
            _providers_first(state, params, money)
        if fill(state, money, key if floors is not None else None, deadline=deadline):
            continue                # other floors short (or none): new values, same year
        if not money.next_year():
            break
    state.set_weights(objective)
    return state, money


def loaded_state(reach: Reach, params: MultiserviceParams, rules: SiteRules, year: np.ndarray, *,
                 deadline: float | None = None) -> tuple[_State, _Money]:
    """The state of a given plan (``year``: each placement's opening year, -1 never), its money left spent greedily.

    Year by year, the plan's placements of that year are made and paid for (a building's conversion in the year
    of its first service), then :func:`fill` spends what the year has left on the objective, with what the plan's
    later years still need held back: their share of the total budget (with ``carry_over``, whatever of their
    placements their own years' money does not pay), their floor area and their new sites (``max_sites``). So
    every later placement stays possible in its year and the plan only gains (a re-plan with a larger budget
    starts from the previous plan). A placement the fill made earlier than the plan is not made again.
    """
    state = _State(reach, params, rules)
    money = _Money(params)
    n_years = len(money.budgets)
    year = np.where(year < n_years, year, n_years - 1)
    opened = np.where(year >= 0, year, n_years).min(axis=1)          # a building's first year (n_years: never)
    objective = [s.value for s in reach.services]
    for t in range(n_years):
        if t:
            money.next_year()
        for j, k in zip(*np.nonzero((year == t) & (state.year < 0)), strict=True):   # the plan's placements
            cost = reach.placement_cost[j, k] + (0.0 if state.converted[j] else reach.building_cost[j])
            money.spend(float(cost))
            state.place(int(j), int(k), t)
        # what the plan's later years still need (a placement the fill already made needs nothing more)
        pending = (year > t) & (state.year < 0)
        unopened = ~state.converted & (opened > t) & (opened < n_years)
        later = np.array([float(reach.placement_cost[pending & (year == u)].sum()
                                + reach.building_cost[unopened & (opened == u)].sum()) for u in range(t + 1, n_years)])
        keep_total = float(later.sum())
        keep_year = 0.0
        if money.carry and later.size:
            keep_year = max(0.0, float(np.cumsum(later - np.asarray(money.budgets[t + 1:], float)).max()))
        keep_area = np.where(pending, reach.area_need[None, :], 0.0).sum(axis=1)
        keep_new = int(rules.counts[unopened].sum())
        money.left -= keep_year
        money.total_left -= keep_total
        state.area_left -= keep_area
        state.n_new += keep_new
        state.set_weights(objective)
        fill(state, money, deadline=deadline)
        money.left += keep_year
        money.total_left += keep_total
        state.area_left += keep_area
        state.n_new -= keep_new
    return state, money


def greedy_plan(reach: Reach, params: MultiserviceParams, rules: SiteRules) -> GreedyPlan:
    """The greedy plan (see module notes); ``floors_met`` False when the money ran out before a floor."""
    state, _ = greedy_state(reach, params, rules)
    return GreedyPlan(state.year, floors_met(state))


def _providers_short(state: _State) -> bool:
    """Whether a community has fewer providers of a service than ``min_providers_per_community``."""
    reach = state.reach
    site_c = reach.inputs.site_community
    n_comm = len(reach.inputs.communities)
    for k, s in enumerate(reach.services):
        need = s.data.service.min_providers_per_community
        if need and site_c is not None and n_comm:
            on = ((state.year[:, k] >= 0) | s.data.existing) & (site_c >= 0)
            if (np.bincount(site_c[on], minlength=n_comm) < need).any():
                return True
    return False
