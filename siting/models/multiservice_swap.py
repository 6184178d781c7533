r"""Swap moves on a multi-service plan: close one converted building, open another with its best bundle.

The local search of :mod:`siting.models.multiservice_local` empties a building and lets the greedy spend the
money again; the greedy then picks by gain *per yuan* and mostly rebuilds the same plan. A swap instead
compares absolute gains: closing building :math:`j` (every service it hosts, all opened in year :math:`t`)
loses

.. math:: L_j = \sum_{k \in S_j} \sum_{\tau \ge t} \sum_i a^k_{ij} v^k_i [n^k_{i\tau} = 1],

with :math:`n^k_{i\tau}` the providers of :math:`k` reaching point :math:`i` in year :math:`\tau` and
:math:`v^k_i = \lambda_k w^k_i` its value, and opening an unconverted building :math:`j'` with bundle
:math:`S'` in the same year gains :math:`\sum_{k \in S'} g'_{j'k}`, where

.. math:: g'_{j'k} = \sum_{\tau \ge t} \sum_i a^k_{ij'} v^k_i [n^k_{i\tau} - a^k_{ij} s_{jk} = 0]
          = G^t_{j'k} + \sum_{\tau \ge t} \sum_{i: n^k_{i\tau} = 1} a^k_{ij} s_{jk} a^k_{ij'} v^k_i .

:math:`G^t` (the gains with :math:`j` still open) is one sparse product per year and service, computed once
per kept move; the second term touches only the rows of the points :math:`j` alone covers. Money is priced
at :math:`\rho`, the gain per yuan of the best move the plan could still buy (what freed money is worth to
the refill). Each building's bundle is the subset of services (all subsets when there are at most
:data:`MAX_ENUMERATED` services, else a best-ratio prefix) of largest :math:`\sum g' - \rho \cdot` cost that
fits its floor area and the money :math:`j` frees plus what the year may still spend (per year, cumulative
with ``carry_over``, the total budget), among the :data:`CANDIDATES` buildings of largest unconstrained net
gain. The best ``tries`` openings whose net gain beats :math:`L_j - \rho \cdot` (what :math:`j` cost) are
made in turn, the greedy (:func:`~siting.models.multiservice_greedy.fill`) spends what is left, and a move
is kept only when the plan's key rises (:func:`plan_key`: each priority level's value, then the objective,
none of them lower) and ``check`` (the floors) holds; else it is undone. Buildings are tried in increasing
sole loss per yuan; the search stops when a whole pass keeps nothing, after ``max_moves`` kept moves, or at
the deadline.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product
from typing import Any

import numpy as np

from ..interrupt import expired
from ..rules import SiteRules
from .multiservice_greedy import fill
from .multiservice_reach import rows_weighted

__all__ = ["swap_search", "drop_search", "plan_key", "better_key", "year_counts", "saved_point", "keep_or_undo"]

#: bundles are enumerated exactly up to this many services (2**K subsets per candidate building)
MAX_ENUMERATED = 10
#: buildings to open considered per closed one (those of largest gain before the money and floor area)
CANDIDATES = 64
_REL = 1e-12


def year_counts(state: Any, n_years: int) -> list[list[np.ndarray]]:
    """``counts[t][k]``: providers of service ``k`` reaching each demand point in year ``t``."""
    out = []
    for t in range(n_years):
        open_t = (state.year >= 0) & (state.year <= t)
        out.append([s.by_demand @ open_t[:, k].astype(np.int32) for k, s in enumerate(state.reach.services)])
    return out


def plan_key(state: Any, n_years: int, levels: Sequence[Sequence[int]]) -> tuple[float, ...]:
    """Each priority level's value (services ``levels[l]``), then the objective, summed over the years."""
    services = state.reach.services
    # the last year from the greedy's own counts; earlier years (phases only) from one product each
    per_service = np.array([float(s.value[c > 0].sum()) for s, c in zip(services, state.count, strict=True)])
    for t in range(n_years - 1):
        open_t = (state.year >= 0) & (state.year <= t)
        per_service += [float(s.value[(s.by_demand @ open_t[:, k].astype(np.int32)) > 0].sum())
                        for k, s in enumerate(services)]
    return tuple(float(per_service[list(level)].sum()) for level in levels) + (float(per_service.sum()),)


def better_key(new: tuple[float, ...], old: tuple[float, ...]) -> bool:
    """No component lower (to rounding) and one higher."""
    def slack(v: float) -> float:
        return _REL * max(1.0, abs(v))
    return all(a >= b - slack(b) for a, b in zip(new, old, strict=True)) and \
        any(a > b + slack(b) for a, b in zip(new, old, strict=True))


def saved_point(state: Any, money: Any) -> tuple[Any, float, float]:
    """What :func:`keep_or_undo` restores: the plan's snapshot and the greedy's purse."""
    return state.snapshot(), money.left, money.total_left


def keep_or_undo(state: Any, money: Any, saved: tuple[Any, float, float], key: tuple[float, ...], *,
                 n_years: int, levels: Sequence[Sequence[int]], check: Callable[[Any], bool],
                 purse: _Purse | None = None) -> tuple[float, ...] | None:
    """The rule every move is kept by: the plan's new key, or None after putting the plan back.

    A move is kept when the key rises (:func:`better_key`), ``check`` (the floors) holds and, with a ``purse``,
    every budget row does; otherwise the plan and the greedy's purse return to ``saved``.
    """
    new_key = plan_key(state, n_years, levels)
    if better_key(new_key, key) and check(state) and (purse is None or purse.holds(_spend_by_year(state, n_years))):
        return new_key
    snap, money.left, money.total_left = saved
    state.restore(snap)
    return None


def _spend_by_year(state: Any, n_years: int) -> np.ndarray:
    """Money each year spends: a building's conversion in its first year, each placement in its own."""
    reach = state.reach
    placed = state.year >= 0
    first = np.where(placed, state.year, n_years).min(axis=1)
    spend = np.zeros(n_years)
    converted = first < n_years
    np.add.at(spend, first[converted], reach.building_cost[converted])
    np.add.at(spend, state.year[placed], reach.placement_cost[placed])
    return spend


class _Purse:
    """The budget rows of the program, read from the greedy's purse: how much more year ``t`` may spend."""

    def __init__(self, state: Any, money: Any) -> None:
        self.budgets = np.asarray(money.budgets, float)
        self.carry = bool(money.carry)
        self.total = float(money.total_left) + float(_spend_by_year(state, len(self.budgets)).sum())

    def room(self, spend: np.ndarray, t: int) -> float:
        """Extra money year ``t`` may spend with the other years' spending unchanged."""
        if self.carry:
            room = float((np.cumsum(self.budgets) - np.cumsum(spend))[t:].min())
        else:
            room = float(self.budgets[t] - spend[t])
        return min(room, self.total - float(spend.sum()))

    def holds(self, spend: np.ndarray) -> bool:
        """Whether ``spend`` keeps every budget row."""
        return min(self.room(spend, t) for t in range(len(self.budgets))) >= -1e-6

    def sync(self, state: Any, money: Any) -> None:
        """The greedy's purse (its last year) after the plan changed."""
        spend = _spend_by_year(state, len(self.budgets))
        last = len(self.budgets) - 1
        money.left = float(self.budgets.sum() - spend.sum()) if self.carry else float(self.budgets[last] - spend[last])
        money.total_left = self.total - float(spend.sum())


def _bundles(n_services: int) -> np.ndarray:
    """(2**K, K) bool: every subset of the services (the empty one first)."""
    return np.array(list(product([False, True], repeat=n_services)), bool)[:, ::-1]


def _openings(state: Any, gain: np.ndarray, money: float, closed: int, rules: SiteRules, n_new_after: int,
              subsets: np.ndarray | None, price: float, tries: int) -> list[tuple[int, np.ndarray, float, float]]:
    """Up to ``tries`` (building, services, gain, cost) bundles on unconverted buildings within ``money``.

    Each building's bundle maximises its gain less ``price`` per yuan spent; the list is in decreasing order
    of that net gain.
    """
    reach = state.reach
    fit = reach.allowed & (reach.area_need[None, :] <= reach.floor_area[:, None] + 1e-9) & (gain > 0) & \
        (reach.building_cost[:, None] + reach.placement_cost <= money + 1e-9)
    ok = ~state.converted & ~state.blocked & reach.buildable & fit.any(axis=1)
    ok[closed] = False
    if state.max_sites is not None and n_new_after >= state.max_sites:
        ok &= ~rules.counts
    rows = np.flatnonzero(ok)
    if not rows.size:
        return []
    upper = np.where(fit[rows], np.maximum(gain[rows] - price * reach.placement_cost[rows], 0.0), 0.0).sum(axis=1) \
        - price * reach.building_cost[rows]
    if rows.size > CANDIDATES:
        top = np.argpartition(-upper, CANDIDATES)[:CANDIDATES]
        rows = rows[top]
    g = np.where(fit[rows], gain[rows], 0.0)
    cost = reach.placement_cost[rows]
    found: list[tuple[int, np.ndarray, float, float]] = []
    if subsets is not None:
        usable = ~(subsets[None, :, :] & ~fit[rows][:, None, :]).any(axis=2)
        total_gain = g @ subsets.T
        spent = reach.building_cost[rows][:, None] + cost @ subsets.T
        area = subsets @ reach.area_need
        usable &= (spent <= money + 1e-9) & (area[None, :] <= reach.floor_area[rows][:, None] + 1e-9)
        usable[:, 0] = False                      # the empty bundle opens nothing
        net = np.where(usable, total_gain - price * spent, -np.inf)
        which = np.argmax(net, axis=1)
        at = np.arange(rows.shape[0])
        for pos in np.argsort(-net[at, which], kind="stable")[:tries]:
            if np.isfinite(net[pos, which[pos]]):
                found.append((int(rows[pos]), np.flatnonzero(subsets[which[pos]]), float(total_gain[pos, which[pos]]),
                              float(spent[pos, which[pos]])))
        return found
    for pos, j in enumerate(rows):          # many services: the best-ratio prefix, a loop over <= CANDIDATES rows
        order = np.argsort(-(g[pos] / np.maximum(cost[pos], 1e-12)))
        spent_j, area_j, chosen, total = float(reach.building_cost[j]), 0.0, [], 0.0
        for k in order:
            if g[pos, k] <= price * cost[pos, k] or spent_j + cost[pos, k] > money + 1e-9 or \
                    area_j + reach.area_need[k] > reach.floor_area[j] + 1e-9:
                continue
            spent_j, area_j, total = spent_j + cost[pos, k], area_j + reach.area_need[k], total + g[pos, k]
            chosen.append(k)
        if chosen:
            found.append((int(j), np.array(chosen, np.int64), total, spent_j))
    found.sort(key=lambda f: -(f[2] - price * f[3]))
    return found[:tries]


def _money_price(state: Any) -> float:
    """Objective per yuan of the best move the plan could still make with unlimited money (the margin)."""
    move = state.best_move(np.inf)
    return 0.0 if move is None else max(0.0, float(move[2]))


def swap_search(state: Any, money: Any, rules: SiteRules, *, check: Callable[[Any], bool],
                levels: Sequence[Sequence[int]] = (), deadline: float | None = None,
                max_moves: int = 2000, tries: int = 3, money_price: float = 1.0) -> dict[str, int]:
    """Improve ``state`` in place by swaps (see module notes); returns how many were tried and kept."""
    reach = state.reach
    n_years = len(money.budgets)
    n_services = reach.allowed.shape[1]
    subsets = _bundles(n_services) if n_services <= MAX_ENUMERATED else None
    purse = _Purse(state, money)
    key = plan_key(state, n_years, levels)
    tried = kept = 0
    improved = True
    while improved and kept < max_moves:
        improved = False
        counts = year_counts(state, n_years)
        placed = state.year >= 0
        first = np.where(placed, state.year, n_years).min(axis=1)
        last = np.where(placed, state.year, -1).max(axis=1)
        closable = state.converted & ~rules.required & (first == last)
        spend = _spend_by_year(state, n_years)
        cost_of = reach.building_cost + (reach.placement_cost * placed).sum(axis=1)
        sole = np.zeros(placed.shape[0])
        for k, s in enumerate(reach.services):
            alone = np.where(counts[-1][k] == 1, s.value, 0.0)
            sole += np.where(placed[:, k], s.by_site @ alone, 0.0)
        order = np.flatnonzero(closable)
        order = order[np.argsort(sole[order] / np.maximum(cost_of[order], 1e-12), kind="stable")]
        base: dict[int, np.ndarray] = {}
        price = money_price * _money_price(state)
        for j in order:
            if expired(deadline):
                return {"tried": tried, "kept": kept}
            t = int(first[j])
            if t not in base:
                base[t] = np.column_stack([
                    s.by_site @ (s.value * sum((c[k] == 0) for c in counts[t:])) for k, s in enumerate(reach.services)])
            gain = base[t].copy()
            loss = 0.0
            for k in np.flatnonzero(placed[j]).tolist():
                s = reach.services[k]
                row = s.by_site.indices[s.by_site.indptr[j]:s.by_site.indptr[j + 1]]
                years_alone = sum((c[k][row] == 1).astype(float) for c in counts[t:])
                lost = s.value[row] * years_alone
                loss += float(lost.sum())
                points = row[lost > 0]
                if points.size:
                    gain[:, k] += rows_weighted(s.by_demand, points, lost[lost > 0])
            room = purse.room(spend, t) + float(cost_of[j])
            n_new_after = state.n_new - int(rules.counts[j])
            freed = loss - price * float(cost_of[j])
            for at, services, opened, spent_at in _openings(state, gain, room, int(j), rules, n_new_after, subsets,
                                                            price, tries):
                if opened - price * spent_at <= freed + _REL * max(1.0, abs(freed)):
                    break
                tried += 1
                saved = saved_point(state, money)
                for k in np.flatnonzero(placed[j]).tolist():
                    state.remove(int(j), k)
                for k in services:
                    state.place(at, int(k), t)
                purse.sync(state, money)
                fill(state, money, deadline=deadline)
                new_key = keep_or_undo(state, money, saved, key, n_years=n_years, levels=levels, check=check,
                                       purse=purse)
                if new_key is not None:
                    key, kept, improved = new_key, kept + 1, True
                    break
            if improved:
                break
    return {"tried": tried, "kept": kept}


def drop_search(state: Any, money: Any, rules: SiteRules, *, check: Callable[[Any], bool],
                levels: Sequence[Sequence[int]] = (), deadline: float | None = None,
                max_tries: int = 400, patience: int = 30) -> dict[str, int]:
    r"""Improve ``state`` in place by moving single placements: take one out, let the greedy spend the money.

    Placements are tried in increasing sole coverage per yuan (:math:`\sum_i a^k_{ij} v^k_i [n^k_i = 1] /
    e_{jk}`, last year); a building left with no service is unconverted and its conversion refunded. The
    freed service is forbidden at that building for the refill, and the move is kept under the same rule as
    a swap (:func:`plan_key` rises, ``check`` holds); after a kept move the order is computed again, and the
    search stops when the first ``patience`` placements of the order keep nothing.
    """
    reach = state.reach
    n_years = len(money.budgets)
    purse = _Purse(state, money)
    key = plan_key(state, n_years, levels)
    tried = kept = 0
    changed = True
    while changed and tried < max_tries:
        changed = False
        placed = state.year >= 0
        sole = np.zeros(placed.shape, float)
        for k, s in enumerate(reach.services):
            sole[:, k] = s.by_site @ np.where(state.count[k] == 1, s.value, 0.0)
        ratio = np.where(placed, sole / np.maximum(reach.placement_cost, 1e-12), np.inf)
        ratio[rules.required & (placed.sum(axis=1) == 1)] = np.inf     # a required building keeps one service
        order = np.argsort(ratio, axis=None, kind="stable")[:min(patience, int(np.isfinite(ratio).sum()))]
        for flat in order:
            if tried >= max_tries or expired(deadline):
                return {"tried": tried, "kept": kept}
            j, k = divmod(int(flat), placed.shape[1])
            tried += 1
            saved = saved_point(state, money)
            state.remove(j, k)
            purse.sync(state, money)
            was_allowed = reach.allowed[j, k]
            reach.allowed[j, k] = False           # not back where it was taken from (restored below)
            try:
                fill(state, money, deadline=deadline)
            finally:
                reach.allowed[j, k] = was_allowed
            new_key = keep_or_undo(state, money, saved, key, n_years=n_years, levels=levels, check=check,
                                   purse=purse)
            if new_key is not None:
                key, kept, changed = new_key, kept + 1, True
                break
    return {"tried": tried, "kept": kept}
