r"""Policy rows of the multi-service program: floors, duties per community, earmarked money, complexes.

Each function adds rows over the *final* year's columns (``final`` = its column offset) unless it says
otherwise; the notation is that of :func:`~siting.models.multiservice_program.build_multiservice`.
:func:`check_policy_data` rejects, before any solve, what the data alone make impossible, with the figure
that proves it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.instance import Instance
from ..errors import InfeasibleError, InputError
from ..rules import SiteRules
from .multiservice_inputs import Inputs, ServiceData
from .multiservice_params import MultiserviceParams
from .multiservice_phase import PhaseBlock
from .params import ParamError
from .parts import Rows

__all__ = ["Extras", "extra_columns", "check_policy_data", "add_policy_rows", "reachable_share", "complex_eligible"]


@dataclass(frozen=True)
class Extras:
    """Columns after the years' blocks: ``u_jg`` per budget group (continuous) and ``x_j`` complexes (binary)."""

    start: int
    groups: list[tuple[np.ndarray, np.ndarray]]     # per group: (host sites, global u columns)
    complex_sites: np.ndarray
    complex_cols: np.ndarray
    n_cols: int

    @property
    def integer(self) -> np.ndarray:
        """Integrality of the extra columns (complexes are binary, group indicators need not be)."""
        out = np.zeros(self.n_cols, bool)
        out[self.complex_cols - self.start] = True
        return out


def complex_eligible(params: MultiserviceParams, inputs: Inputs, rules: SiteRules,
                     floor_area: np.ndarray | None) -> np.ndarray:
    """Buildings that may become an embedded complex: buildable, floor area known and large enough."""
    n = rules.usable.shape[0]
    area = floor_area if floor_area is not None else np.full(n, np.nan)
    hosts = np.zeros(n, bool)
    for d in inputs.services:
        hosts |= d.allowed
    return hosts & np.isfinite(area) & (area >= params.complex_min_area_m2)


def _uses_complexes(params: MultiserviceParams) -> bool:
    return params.min_complexes > 0 or params.all_complexes


def extra_columns(params: MultiserviceParams, inputs: Inputs, rules: SiteRules, floor_area: np.ndarray | None,
                  start: int) -> Extras:
    """Where the budget-group and complex columns go (from ``start``)."""
    col = start
    groups = []
    by_key = {d.service.key: d for d in inputs.services}
    for group in params.budget_groups or ():
        hosts = np.zeros(rules.usable.shape[0], bool)
        for key in group.services:
            hosts |= by_key[key].allowed
        sites = np.flatnonzero(hosts)
        groups.append((sites, col + np.arange(sites.shape[0])))
        col += sites.shape[0]
    sites = np.flatnonzero(complex_eligible(params, inputs, rules, floor_area)) if _uses_complexes(params) \
        else np.zeros(0, np.int64)
    complex_cols = col + np.arange(sites.shape[0])
    col += sites.shape[0]
    return Extras(start, groups, sites, complex_cols, col - start)


def reachable_share(d: ServiceData, sites: np.ndarray, community: np.ndarray | None = None,
                    n_comm: int = 0) -> tuple[float, np.ndarray | None]:
    """Share of the target group within the threshold of ``sites`` (capacity ignored), overall and per community."""
    a = d.travel.within(d.service.threshold_minutes).astype(np.float64).tocsr()
    near = (a @ sites.astype(float)) > 0
    total = float(d.weight.sum())
    share = float(d.weight[near].sum()) / total if total > 0 else 1.0
    if community is None:
        return share, None
    on = community >= 0
    got = np.bincount(community[on & near], weights=d.weight[on & near], minlength=n_comm)
    all_ = np.bincount(community[on], weights=d.weight[on], minlength=n_comm)
    with np.errstate(invalid="ignore", divide="ignore"):
        return share, np.where(all_ > 0, got / all_, 1.0)


def check_policy_data(instance: Instance, params: MultiserviceParams, inputs: Inputs, rules: SiteRules,
                      n_phases: int) -> None:
    """One-line errors for floors nothing can meet, proven from the data before any solve.

    Raises
    ------
    InputError
        a share floor on a service whose demand column totals 0 (a share of nobody).
    ParamError
        a floor on a service that no building may host and that existing facilities do not already meet.
    InfeasibleError
        a floor above what converting every allowed building would reach, a community without enough
        possible providers, fewer buildings able to become complexes than ``min_complexes``, required buildings
        whose least cost (:func:`_check_required_money`) is above the budget.
    """
    _check_required_money(params, inputs, rules, instance.sites.ids)
    labels = inputs.communities
    n_comm = len(labels)
    for d in inputs.services:
        s = d.service
        key = s.key
        if s.min_share is None and s.min_share_per_community is None and not s.min_providers_per_community:
            continue
        if (s.min_share or s.min_share_per_community) and not float(d.weight.sum()) > 0:
            # a share of nobody: the floor's row would read 0 >= 0 and pass whatever the plan does
            n_points = d.weight.shape[0]
            raise InputError(f"service {key!r} has a share floor but its demand column totals 0 over the "
                             f"{n_points} demand points, so no share can be judged (is it the right column?)",
                             file=instance.demand.source, column=s.demand_column)
        now, now_c = reachable_share(d, d.existing, inputs.demand_community, n_comm)
        best, best_c = reachable_share(d, d.existing | d.allowed, inputs.demand_community, n_comm)
        floor = s.min_share or 0.0
        if not d.allowed.any() and floor > now + 1e-12:
            raise ParamError(f"service {key!r} has min_share {floor:g} but no building may host it (floor area, "
                             f"allowed services) and existing facilities cover {now:.3f}",
                             param=f"services.{key}.min_share", model="multiservice")
        if floor > best + 1e-12:
            raise InfeasibleError(f"multiservice: {key} min_share {floor:g} cannot be met: converting every "
                                  f"building allowed to host it reaches {best:.3f} of {s.demand_column}")
        if s.min_share_per_community is not None and best_c is not None:
            worst = int(np.argmin(best_c))
            if best_c[worst] < s.min_share_per_community - 1e-12:
                raise InfeasibleError(f"multiservice: {key} min_share_per_community {s.min_share_per_community:g} "
                                      f"cannot be met in community {labels[worst]}: converting every allowed "
                                      f"building reaches {best_c[worst]:.3f} of its {s.demand_column}")
        if s.min_providers_per_community and inputs.site_community is not None:
            have = _per_community(inputs.site_community, d.existing | d.allowed, n_comm)
            short = np.flatnonzero(have < s.min_providers_per_community)
            if short.size:
                c = int(short[0])
                raise InfeasibleError(f"multiservice: {key} min_providers_per_community "
                                      f"{s.min_providers_per_community} cannot be met in community {labels[c]}: "
                                      f"it has {int(have[c])} existing or possible provider(s)")
    if params.min_new_per_community_per_year and inputs.site_community is not None:
        slots = np.zeros(rules.usable.shape[0])
        for d in inputs.services:
            slots += d.allowed
        room = np.bincount(inputs.site_community[inputs.site_community >= 0],
                           weights=slots[inputs.site_community >= 0], minlength=n_comm)
        need = params.min_new_per_community_per_year * n_phases
        short = np.flatnonzero(room < need)
        if short.size:
            c = int(short[0])
            raise InfeasibleError(f"multiservice: min_new_per_community_per_year {params.min_new_per_community_per_year}"
                                  f" needs {need} placements in community {labels[c]} but only {int(room[c])} are "
                                  "possible")
    if _uses_complexes(params):
        eligible = complex_eligible(params, inputs, rules, instance.sites.floor_area)
        if int(eligible.sum()) < params.min_complexes:
            raise InfeasibleError(f"multiservice: min_complexes {params.min_complexes} but only {int(eligible.sum())}"
                                  f" building(s) have {params.complex_min_area_m2:g} m2 and may host a service")
        if params.all_complexes:
            stuck = np.flatnonzero(rules.required & ~eligible)
            if stuck.size:
                raise InfeasibleError(f"multiservice: all_complexes, but required building "
                                      f"{instance.sites.ids[stuck[0]]} cannot be a complex (floor area below "
                                      f"{params.complex_min_area_m2:g} m2 or unknown)")


def _check_required_money(params: MultiserviceParams, inputs: Inputs, rules: SiteRules, ids: np.ndarray) -> None:
    """Raise when the required buildings cannot all be paid for, whatever else the plan does.

    A required building converts, and a conversion hosts at least one service: each costs at least its
    conversion plus its cheapest service, and their sum above the money over all years is infeasible from the
    data alone.

    Buildings that can host no service are left to the phase block's own error (it names them).
    """
    budget = params.limits().budget
    required = np.flatnonzero(rules.required)
    if budget is None or not required.size:
        return
    cheapest = np.full(required.shape[0], np.inf)
    for d in inputs.services:
        cheapest = np.where(d.allowed[required], np.minimum(cheapest, d.placement_cost[required]), cheapest)
    hostable = np.isfinite(cheapest)
    least = inputs.building_cost[required[hostable]] + cheapest[hostable]
    need = float(least.sum())
    if need > budget * (1 + 1e-12):
        order = np.argsort(-least)[:3]
        named = ", ".join(f"{ids[required[hostable][i]]} {least[i]:,.0f}" for i in order)
        n_required = int(hostable.sum())
        raise InfeasibleError(f"multiservice: the {n_required} required building(s) cost at least "
                              f"{need:,.0f} (conversion plus each one's cheapest service: a conversion hosts at "
                              f"least one; {named}), above the budget of {budget:,.0f}")


def _per_community(site_community: np.ndarray, mask: np.ndarray, n_comm: int) -> np.ndarray:
    on = (site_community >= 0) & mask
    return np.bincount(site_community[on], minlength=n_comm).astype(float)


def add_policy_rows(rows: Rows, params: MultiserviceParams, inputs: Inputs, block: PhaseBlock, n_phases: int,
                    extras: Extras, upper: np.ndarray) -> None:
    r"""Floors, providers, new placements per community and year, budget groups and complexes.

    .. math::

        \sum_i w^k_i v_{ik} \ge m_k W_k - W^0_k \qquad
        \sum_{i \in c} w^k_i v_{ik} \ge m^c_k W_{kc} - W^0_{kc} \qquad
        \sum_{j \in c} s_{jk} \ge N_k - E_{kc}

    Budget group ``g``: ``s_jk <= u_jg <= sum_{k in g} s_jk``, ``lo_g <= sum_j c_j u_jg + sum_{j, k in g} e_jk
    s_jk <= up_g``. Complex ``x_j``: ``x_j <= y_j``, ``sum_k s_jk >= S x_j``, ``sum_{k core} s_jk >= C x_j``,
    ``sum_j x_j >= min_complexes``; ``all_complexes``: ``y_j <= x_j`` and ``y_j = 0`` where no complex fits.
    ``upper`` (global column bounds) is changed in place for the last rule.
    """
    width = block.n_cols
    final = (n_phases - 1) * width
    n_comm = len(inputs.communities)
    for cover in block.covers:
        s = cover.data.service
        total = float(cover.data.weight.sum())
        if s.min_share is not None and total > 0:
            rows.add(np.zeros(cover.cover_cols.shape[0]), final + cover.cover_cols, cover.persons, 1,
                     s.min_share * total - cover.pre_covered - 1e-9 * total, np.inf)
        if s.min_share_per_community is not None and cover.community is not None and n_comm:
            dem_c = inputs.demand_community
            assert dem_c is not None and cover.pre_by_community is not None
            on_d = dem_c >= 0
            need = np.bincount(dem_c[on_d], weights=cover.data.weight[on_d], minlength=n_comm)
            lo = np.where(need > 0, s.min_share_per_community * need - cover.pre_by_community - 1e-9 * need, -np.inf)
            on = cover.community >= 0
            rows.add(cover.community[on], final + cover.cover_cols[on], cover.persons[on], n_comm, lo, np.inf)
        if s.min_providers_per_community and inputs.site_community is not None and n_comm:
            comm = inputs.site_community[cover.sites]
            on = comm >= 0
            have = _per_community(inputs.site_community, cover.data.existing, n_comm)
            rows.add(comm[on], final + cover.s_cols[on], np.ones(int(on.sum())), n_comm,
                     s.min_providers_per_community - have, np.inf)
    if params.min_new_per_community_per_year and inputs.site_community is not None and n_comm:
        comm = np.concatenate([inputs.site_community[c.sites] for c in block.covers])
        cols = np.concatenate([c.s_cols for c in block.covers])
        on = comm >= 0
        for t in range(n_phases):
            r, c, v = [comm[on]], [t * width + cols[on]], [np.ones(int(on.sum()))]
            if t:
                r.append(comm[on])
                c.append((t - 1) * width + cols[on])
                v.append(-np.ones(int(on.sum())))
            rows.add(np.concatenate(r), np.concatenate(c), np.concatenate(v), n_comm,
                     float(params.min_new_per_community_per_year), np.inf)
    _budget_group_rows(rows, params, inputs, block, final, extras)
    _complex_rows(rows, params, block, final, extras, upper, n_phases, inputs)


def _budget_group_rows(rows: Rows, params: MultiserviceParams, inputs: Inputs, block: PhaseBlock, final: int,
                       extras: Extras) -> None:
    by_key = {c.data.service.key: c for c in block.covers}
    n = block.n_sites
    for group, (hosts, ucols) in zip(params.budget_groups or (), extras.groups, strict=True):
        u_of = np.full(n, -1, np.int64)
        u_of[hosts] = ucols
        members = [by_key[k] for k in group.services]
        s_cols = np.concatenate([final + c.s_cols for c in members])
        s_sites = np.concatenate([c.sites for c in members])
        m = s_cols.shape[0]
        rows.add(np.repeat(np.arange(m), 2), np.column_stack([s_cols, u_of[s_sites]]).ravel(),
                 np.tile([1.0, -1.0], m), m, -np.inf, 0.0)                                  # s_jk <= u_jg
        h = np.full(n, -1, np.int64)
        h[hosts] = np.arange(hosts.shape[0])
        rows.add(np.concatenate([np.arange(hosts.shape[0]), h[s_sites]]), np.concatenate([ucols, s_cols]),
                 np.concatenate([np.ones(hosts.shape[0]), -np.ones(m)]), hosts.shape[0], -np.inf, 0.0)
        spend = np.concatenate([inputs.building_cost[hosts], block.cost[s_cols - final]])
        rows.add(np.zeros(hosts.shape[0] + m), np.concatenate([ucols, s_cols]), spend, 1,
                 -np.inf if group.min is None else group.min, np.inf if group.max is None else group.max)


def _complex_rows(rows: Rows, params: MultiserviceParams, block: PhaseBlock, final: int, extras: Extras,
                  upper: np.ndarray, n_phases: int, inputs: Inputs) -> None:
    if not _uses_complexes(params):
        return
    n = block.n_sites
    sites, xcols = extras.complex_sites, extras.complex_cols
    e = sites.shape[0]
    row_of = np.full(n, -1, np.int64)
    row_of[sites] = np.arange(e)
    rows.add(np.repeat(np.arange(e), 2), np.column_stack([xcols, final + sites]).ravel(),
             np.tile([1.0, -1.0], e), e, -np.inf, 0.0)                                       # x_j <= y_j
    all_s = np.concatenate([c.sites for c in block.covers])
    all_cols = np.concatenate([final + c.s_cols for c in block.covers])
    core = np.concatenate([np.full(c.sites.shape[0], bool(c.data.service.complex_core)) for c in block.covers])
    for need, mask in ((params.complex_min_services, np.ones(all_s.shape[0], bool)),
                       (params.complex_min_core, core)):
        if need <= 0:
            continue
        r = row_of[all_s]
        on = mask & (r >= 0)
        rows.add(np.concatenate([np.arange(e), r[on]]), np.concatenate([xcols, all_cols[on]]),
                 np.concatenate([np.full(e, float(need)), -np.ones(int(on.sum()))]), e, -np.inf, 0.0)
    if params.min_complexes:
        rows.add(np.zeros(e), xcols, np.ones(e), 1, float(params.min_complexes), np.inf)
    if params.all_complexes:
        rows.add(np.repeat(np.arange(e), 2), np.column_stack([final + sites, xcols]).ravel(),
                 np.tile([1.0, -1.0], e), e, -np.inf, 0.0)                                    # y_j <= x_j
        buildable = np.zeros(n, bool)
        for c in block.covers:
            buildable[c.sites] = True
        never = np.flatnonzero(buildable & ~np.isin(np.arange(n), sites))
        for t in range(n_phases):
            upper[t * block.n_cols + never] = 0.0
