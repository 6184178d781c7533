r"""The multi-service program: one budget, buildings converted once, several services per building.

Formulation only (it never calls a solver); the model and its notation are in
:func:`build_multiservice` and ``models/multiservice.md``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..data.instance import Instance
from ..errors import InfeasibleError
from ..program import Sense
from ..rules import SiteRules
from .base import Built, Plan
from .multiservice_inputs import MultiserviceParams, service_data
from .parts import Rows, milp

__all__ = ["build_multiservice"]

@dataclass(frozen=True)
class _Cover:
    """A service's cover columns from ``start``: ``v`` per demand row in ``active``, or ``z`` per pair."""

    start: int
    within: sp.csr_matrix | None = None        # a^k_ij over all sites (uncapacitated)
    pre_covered: np.ndarray | None = None      # demand within r_k of an existing k facility (uncapacitated)
    active: np.ndarray | None = None           # demand indices with a v column (uncapacitated)
    pairs: tuple[np.ndarray, np.ndarray] | None = None   # (demand, site) of the z columns (capacitated)


def build_multiservice(instance: Instance, params: MultiserviceParams,
                       rules: SiteRules | None = None) -> Built:
    r"""The co-location program and its decoder to a :class:`Plan`.

    Returns
    -------
    Built
        Columns: block ``"site"`` (``y_j``), ``"service"`` (``s_jk`` for allowed pairs, service by service),
        ``"cover"`` (``v_ik`` per uncovered reachable demand point, or ``z_ijk`` per pair for a capacitated
        service). The decoder gives ``open_sites`` = converted buildings and existing sites,
        ``placements[k]`` = new ``k`` placements and ``assignment[k]`` = a sparse (n_demand, n_sites) matrix
        of assigned shares for each capacitated service.

    Notes
    -----
    ``a^k_ij = [t^{g(k)}_ij <= r_k]`` on service ``k``'s travel table, ``w^k`` its demand column,
    ``lambda_k`` its weight (divided by ``W_k = sum_i w^k_i`` for ``objective="share"``), ``A_k`` its floor
    area, ``f_k`` its fit-out cost, ``F_j`` the building's floor area:

    .. math::

        \max \sum_k \lambda_k \Big( W^0_k + \sum_i w^k_i v_{ik} \Big) \quad\text{s.t.}\quad
        s_{jk} \le y_j \le \sum_k s_{jk},\quad \sum_k A_k s_{jk} \le F_j y_j,\quad
        v_{ik} \le \sum_j a^k_{ij} s_{jk},\quad
        \sum_j c_j y_j + \sum_{j,k} f_k s_{jk} \le B

    ``y_j <= sum_k s_jk`` (every building the plan may convert): no conversion without a service.
    ``W^0_k`` is the weight already within ``r_k`` of an existing ``k`` facility (those rows get no ``v``).
    A capacitated service uses ``z`` instead of ``v``: ``sum_j z_ijk <= 1``,
    ``sum_i w^k_i z_ijk <= cap_k s_jk`` (``<= cap_k`` at existing facilities), ``z_ijk <= s_jk``.
    ``y, s`` binary; ``v, z`` in [0, 1].
    """
    rules = rules or SiteRules.of(instance)
    data, warnings = service_data(instance, params, rules)
    n, n_demand = instance.n_sites, instance.n_demand
    s_sites = [np.flatnonzero(d.allowed) for d in data]
    s_start = n + np.concatenate([[0], np.cumsum([x.shape[0] for x in s_sites])]).astype(np.int64)
    pieces: list[_Cover] = []
    col = int(s_start[-1])
    for d in data:
        if d.service.capacity is None:
            a = d.travel.within(d.service.threshold_minutes).astype(np.float64).tocsr()
            pre = (a @ d.existing.astype(float)) > 0
            reach = (a @ d.allowed.astype(float)) > 0
            active = np.flatnonzero((d.weight > 0) & ~pre & reach)
            pieces.append(_Cover(col, within=a, pre_covered=pre, active=active))
            col += active.shape[0]
        else:
            tr = d.travel
            keep = (tr.minutes <= d.service.threshold_minutes) & (d.weight[tr.demand_index] > 0) & \
                (d.allowed | d.existing)[tr.site_index]
            order = np.lexsort((tr.site_index[keep], tr.demand_index[keep]))
            pieces.append(_Cover(col, pairs=(tr.demand_index[keep][order], tr.site_index[keep][order])))
            col += int(keep.sum())
    n_cols = col
    rows = Rows(n_cols)
    objective = np.zeros(n_cols)
    offset = 0.0
    fit_cols, fit_vals, area_sites, area_cols, area_vals = [], [], [], [], []
    for k, (d, piece) in enumerate(zip(data, pieces, strict=True)):
        v0 = piece.start
        sites_k, m = s_sites[k], s_sites[k].shape[0]
        s_cols = s_start[k] + np.arange(m)
        scol = np.full(n, -1, np.int64)
        scol[sites_k] = s_cols
        rows.add(np.repeat(np.arange(m), 2), np.column_stack([s_cols, sites_k]).ravel(),
                 np.tile([1.0, -1.0], m), m, -np.inf, 0.0)                                   # s_jk <= y_j
        fit_cols.append(s_cols)
        fit_vals.append(np.full(m, d.service.fitout_cost))
        if d.service.min_floor_area_m2 > 0:
            area_sites.append(sites_k)
            area_cols.append(s_cols)
            area_vals.append(np.full(m, d.service.min_floor_area_m2))
        if piece.pairs is None:
            assert piece.within is not None and piece.active is not None and piece.pre_covered is not None
            active = piece.active
            cover = (piece.within[active] @ sp.diags(d.allowed.astype(float))).tocoo()
            cover.eliminate_zeros()
            kk = active.shape[0]
            rows.add(np.concatenate([np.arange(kk), cover.row]), np.concatenate([v0 + np.arange(kk), scol[cover.col]]),
                     np.concatenate([np.ones(kk), -np.ones(cover.nnz)]), kk, -np.inf, 0.0)
            objective[v0:v0 + kk] = d.per_weight * d.weight[active]
            offset += d.per_weight * float(d.weight[piece.pre_covered].sum())
        else:
            dem, site = piece.pairs
            n_pairs = dem.shape[0]
            z = v0 + np.arange(n_pairs)
            _, demand_row = np.unique(dem, return_inverse=True)
            rows.add(demand_row, z, np.ones(n_pairs), int(demand_row.max(initial=-1)) + 1, -np.inf, 1.0)
            hosts = np.flatnonzero(d.allowed | d.existing)       # one capacity row per possible host
            cap_row = np.full(n, -1, np.int64)
            cap_row[hosts] = np.arange(hosts.shape[0])
            cap = float(d.service.capacity or 0.0)
            rows.add(np.concatenate([cap_row[site], cap_row[sites_k]]), np.concatenate([z, scol[sites_k]]),
                     np.concatenate([d.weight[dem], np.full(m, -cap)]), hosts.shape[0], -np.inf,
                     np.where(d.existing[hosts], cap, 0.0))
            new = np.flatnonzero(d.allowed[site] & ~d.existing[site])                       # z_ijk <= s_jk
            rows.add(np.repeat(np.arange(new.shape[0]), 2), np.column_stack([z[new], scol[site[new]]]).ravel(),
                     np.tile([1.0, -1.0], new.shape[0]), new.shape[0], -np.inf, 0.0)
            objective[z] = d.per_weight * d.weight[dem]
    floor = instance.sites.floor_area
    if area_sites and floor is not None:
        known = np.flatnonzero(np.isfinite(floor) & rules.counts)
        area_row = np.full(n, -1, np.int64)
        area_row[known] = np.arange(known.shape[0])
        r = area_row[np.concatenate(area_sites)]
        on = r >= 0
        rows.add(np.concatenate([r[on], np.arange(known.shape[0])]),
                 np.concatenate([np.concatenate(area_cols)[on], known]),
                 np.concatenate([np.concatenate(area_vals)[on], -floor[known]]), known.shape[0], -np.inf, 0.0)
    rows.add_limits(slice(0, n), rules, params.limits(),
                    extra_cost=(np.concatenate(fit_cols), np.concatenate(fit_vals)))
    s_end = int(s_start[-1])
    _add_a_service_per_conversion(rows, rules, s_sites, s_end, instance.sites.ids)
    integer = np.zeros(n_cols, bool)
    integer[:s_end] = True
    program = milp(Sense.MAXIMIZE, objective, rows, np.concatenate([rules.lower, np.zeros(n_cols - n)]),
                   np.concatenate([rules.upper, np.ones(n_cols - n)]), integer, "multiservice",
                   {"site": (0, n), "service": (n, s_end), "cover": (s_end, n_cols)}, offset=offset)

    def decode(x: np.ndarray) -> Plan:
        placements: dict[str, np.ndarray] = {}
        assignment: dict[str, sp.csr_matrix] = {}
        for k, (d, piece) in enumerate(zip(data, pieces, strict=True)):
            placed = np.zeros(n, bool)
            placed[s_sites[k]] = x[s_start[k]:s_start[k + 1]] > 0.5
            placements[d.service.key] = placed
            if piece.pairs is not None:
                share = np.clip(x[piece.start:piece.start + piece.pairs[0].shape[0]], 0.0, 1.0)
                assignment[d.service.key] = sp.csr_matrix((share, piece.pairs), shape=(n_demand, n))
        # Plan.assignment holds {service: sparse shares} here (several capacitated services, one plan)
        return Plan(open_sites=(x[:n] > 0.5) | rules.existing, placements=placements,
                    assignment=assignment or None)

    # the cheapest-plan stage pays conversions and fit-outs alike
    plan_cost = np.zeros(n_cols)
    plan_cost[:n] = rules.cost
    plan_cost[np.concatenate(fit_cols)] = np.concatenate(fit_vals)
    return Built(program, decode, stats={"warnings": warnings}, plan_cost=plan_cost)


def _add_a_service_per_conversion(rows: Rows, rules: SiteRules, s_sites: list[np.ndarray], s_end: int,
                                  ids: np.ndarray) -> None:
    """``y_j <= sum_k s_jk`` for every building the plan may convert: no conversion without a service.

    The ``s`` columns run from ``n`` to ``s_end``, service by service over ``s_sites``.

    Raises
    ------
    InfeasibleError
        when a required building can host none of the enabled services.
    """
    n = rules.usable.shape[0]
    buildable = np.flatnonzero(rules.usable & ~rules.existing)
    hosts = np.zeros(n, bool)
    for sites_k in s_sites:
        hosts[sites_k] = True
    stranded = np.flatnonzero(rules.required & ~hosts)
    if stranded.size:
        raise InfeasibleError(f"multiservice: required building(s) {', '.join(map(str, ids[stranded][:5]))} can "
                              "host none of the enabled services (floor area or allowed services), and a "
                              "conversion must host at least one")
    row_of = np.full(n, -1, np.int64)
    row_of[buildable] = np.arange(buildable.shape[0])
    placed_at = np.concatenate(s_sites)               # allowed sites are buildable: every row_of is set
    rows.add(np.concatenate([np.arange(buildable.shape[0]), row_of[placed_at]]),
             np.concatenate([buildable, np.arange(n, s_end)]),
             np.concatenate([np.ones(buildable.shape[0]), -np.ones(placed_at.shape[0])]),
             buildable.shape[0], -np.inf, 0.0)
