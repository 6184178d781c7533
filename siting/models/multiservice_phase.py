r"""One year of the multi-service program: conversions, placements and coverage, in local columns.

:func:`phase_block` builds the rows every year of a plan repeats; :mod:`siting.models.multiservice_program`
stacks one block per year and adds what links the years and the policy rows. Local columns: ``y_j``
(``0 .. n``), ``s_jk`` for allowed pairs service by service (``n .. n + S``), then the cover columns.

Demand points of a service whose reachable allowed sites are the same set (and the same community when a
community rule reads them) share one cover column weighted by their sum: they are covered together or not
at all, so the program is the same and smaller (buildings on one street node have identical rows).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..errors import InfeasibleError
from ..rules import SiteRules
from .multiservice_inputs import Inputs, ServiceData
from .parts import Rows

__all__ = ["PhaseBlock", "ServiceCover", "phase_block"]


@dataclass(frozen=True)
class ServiceCover:
    """Where one service sits in the block and how its coverage reads from the columns.

    s_cols : local ``s`` columns of the allowed sites ``sites``
    cover_cols, persons : local cover columns and the target-group persons each one counts when 1
    pre_covered : persons within reach of an existing facility (counted without a column)
    community : community code of each cover column (-1 when unknown), None without a community column
    pre_by_community : pre-covered persons per community code
    pairs : (demand, site) of each ``z`` column (capacitated service), else None
    reach : (cover columns, n_sites) 0/1: which sites cover each ``v`` column (uncapacitated), else None
    """

    data: ServiceData
    sites: np.ndarray
    s_cols: np.ndarray
    cover_cols: np.ndarray
    persons: np.ndarray
    pre_covered: float
    community: np.ndarray | None = None
    pre_by_community: np.ndarray | None = None
    pairs: tuple[np.ndarray, np.ndarray] | None = None
    reach: sp.csr_matrix | None = None

    @property
    def objective(self) -> np.ndarray:
        """Objective coefficients of the cover columns (``lambda_k`` per person)."""
        return self.data.per_weight * self.persons

    @property
    def offset(self) -> float:
        """The objective the existing facilities already earn."""
        return self.data.per_weight * self.pre_covered


@dataclass(frozen=True)
class PhaseBlock:
    """One year's columns and rows (local indices)."""

    n_cols: int
    n_sites: int
    s_end: int
    rows: Rows
    integer: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    cost: np.ndarray            # what each local column costs against the budget
    capital: np.ndarray         # ... of which capital (conversion and fit-out)
    covers: list[ServiceCover] = field(default_factory=list)

    @property
    def objective(self) -> np.ndarray:
        """The year's objective over the local columns."""
        out = np.zeros(self.n_cols)
        for c in self.covers:
            out[c.cover_cols] = c.objective
        return out

    @property
    def offset(self) -> float:
        """The year's objective earned by existing facilities alone."""
        return float(sum(c.offset for c in self.covers))


def _same_rows(pattern: sp.csr_matrix, extra: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Group of each row of ``pattern`` and each group's first row (same column set and ``extra``: one group).

    Two random projections and the row length make the key; the grouping is then checked exactly (a
    collision would only cost the merge, never a wrong program).
    """
    m, n = pattern.shape
    if m == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pattern = pattern.copy()
    pattern.sort_indices()
    pattern.data[:] = 1.0
    rng = np.random.default_rng(20261129)
    proj = rng.random((n, 2))
    keys = np.column_stack([np.diff(pattern.indptr).astype(float), pattern @ proj,
                            np.zeros(m) if extra is None else extra.astype(float)])
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    if (pattern - pattern[first[group]]).count_nonzero():
        return np.arange(m, dtype=np.int64), np.arange(m, dtype=np.int64)
    return group.astype(np.int64), first.astype(np.int64)


def _uncapacitated(d: ServiceData, rows: Rows, start: int, scol: np.ndarray,
                   dem_comm: np.ndarray | None, n_comm: int) -> ServiceCover:
    a = d.travel.within(d.service.threshold_minutes).astype(np.float64).tocsr()
    pre = (a @ d.existing.astype(float)) > 0
    reach = (a @ d.allowed.astype(float)) > 0
    active = np.flatnonzero((d.weight > 0) & ~pre & reach)
    pattern = (a[active] @ sp.diags(d.allowed.astype(float))).tocsr()
    pattern.eliminate_zeros()
    comm = None if dem_comm is None else dem_comm[active]
    group, first = _same_rows(pattern, comm)
    n_groups = first.shape[0]
    reach_of_group = pattern[first].tocsr()
    rep = reach_of_group.tocoo()
    cols = start + np.arange(n_groups)
    rows.add(np.concatenate([np.arange(n_groups), rep.row]), np.concatenate([cols, scol[rep.col]]),
             np.concatenate([np.ones(n_groups), -np.ones(rep.nnz)]), n_groups, -np.inf, 0.0)
    persons = np.bincount(group, weights=d.weight[active], minlength=n_groups)
    pre_by = None
    if dem_comm is not None:
        on = pre & (dem_comm >= 0)
        pre_by = np.bincount(dem_comm[on], weights=d.weight[on], minlength=n_comm)
    return ServiceCover(d, np.flatnonzero(d.allowed), scol[d.allowed], cols, persons,
                        float(d.weight[pre].sum()), None if comm is None else comm[first], pre_by,
                        reach=reach_of_group)


def _capacitated(d: ServiceData, rows: Rows, start: int, scol: np.ndarray, n: int,
                 dem_comm: np.ndarray | None, n_comm: int) -> ServiceCover:
    tr = d.travel
    keep = (tr.minutes <= d.service.threshold_minutes) & (d.weight[tr.demand_index] > 0) & \
        (d.allowed | d.existing)[tr.site_index]
    order = np.lexsort((tr.site_index[keep], tr.demand_index[keep]))
    dem, site = tr.demand_index[keep][order], tr.site_index[keep][order]
    z = start + np.arange(dem.shape[0])
    _, demand_row = np.unique(dem, return_inverse=True)
    rows.add(demand_row, z, np.ones(dem.shape[0]), int(demand_row.max(initial=-1)) + 1, -np.inf, 1.0)
    hosts = np.flatnonzero(d.allowed | d.existing)       # one capacity row per possible host
    cap_row = np.full(n, -1, np.int64)
    cap_row[hosts] = np.arange(hosts.shape[0])
    cap = float(d.service.capacity or 0.0)
    sites_k = np.flatnonzero(d.allowed)
    rows.add(np.concatenate([cap_row[site], cap_row[sites_k]]), np.concatenate([z, scol[sites_k]]),
             np.concatenate([d.weight[dem], np.full(sites_k.shape[0], -cap)]), hosts.shape[0], -np.inf,
             np.where(d.existing[hosts], cap, 0.0))
    new = np.flatnonzero(d.allowed[site] & ~d.existing[site])                       # z_ijk <= s_jk
    rows.add(np.repeat(np.arange(new.shape[0]), 2), np.column_stack([z[new], scol[site[new]]]).ravel(),
             np.tile([1.0, -1.0], new.shape[0]), new.shape[0], -np.inf, 0.0)
    pre_by = None if dem_comm is None else np.zeros(n_comm)
    return ServiceCover(d, sites_k, scol[sites_k], z, d.weight[dem], 0.0,
                        None if dem_comm is None else dem_comm[dem], pre_by, (dem, site))


def site_columns(allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each ``y`` and ``s`` column of one year's block (:func:`phase_block`), in order: its building and service.

    ``allowed`` (n_sites, K) bool. One ``y`` column per building (service -1), then the ``s`` columns service by
    service over the buildings allowed to host it.

    >>> owner, service = site_columns(np.array([[True, False], [True, True]]))
    >>> owner.tolist(), service.tolist()
    ([0, 1, 0, 1, 1], [-1, -1, 0, 0, 1])
    """
    n_sites = allowed.shape[0]
    service, site = np.nonzero(allowed.T)
    return np.concatenate([np.arange(n_sites), site]), np.concatenate([np.full(n_sites, -1), service])


def phase_block(inputs: Inputs, rules: SiteRules, floor_area: np.ndarray | None, ids: np.ndarray) -> PhaseBlock:
    r"""One year's program in local columns (see :func:`~siting.models.multiservice_program.build_multiservice`).

    Rows: ``s_jk <= y_j``; ``y_j <= sum_k s_jk`` for every building the plan may convert; floor area
    ``sum_k A_k s_jk <= F_j y_j``; cover rows ``v <= sum_j a^k_ij s_jk``; for a capacitated service
    ``sum_j z_ijk <= 1``, ``sum_i w_i z_ijk <= cap_k s_jk`` (``cap_k`` at existing hosts), ``z_ijk <= s_jk``.
    """
    data = inputs.services
    n = rules.usable.shape[0]
    n_comm = len(inputs.communities)
    s_sites = [np.flatnonzero(d.allowed) for d in data]
    s_start = n + np.concatenate([[0], np.cumsum([x.shape[0] for x in s_sites])]).astype(np.int64)
    s_end = int(s_start[-1])
    # cover columns come after every s column; their count is known once each service is grouped, so the
    # rows start at an upper bound of the width and are cut to it
    bound = s_end + sum(d.weight.shape[0] if d.service.capacity is None else d.travel.minutes.shape[0]
                        for d in data)
    rows = Rows(bound)
    covers: list[ServiceCover] = []
    col = s_end
    for k, d in enumerate(data):
        scol = np.full(n, -1, np.int64)
        scol[s_sites[k]] = s_start[k] + np.arange(s_sites[k].shape[0])
        if d.service.capacity is None:
            cover = _uncapacitated(d, rows, col, scol, inputs.demand_community, n_comm)
        else:
            cover = _capacitated(d, rows, col, scol, n, inputs.demand_community, n_comm)
        covers.append(cover)
        col += cover.cover_cols.shape[0]
    n_cols = col
    rows.shrink(n_cols)
    cost = np.zeros(n_cols)
    capital = np.zeros(n_cols)
    cost[:n] = capital[:n] = inputs.building_cost
    for k, d in enumerate(data):
        cols = covers[k].s_cols
        m = cols.shape[0]
        rows.add(np.repeat(np.arange(m), 2), np.column_stack([cols, s_sites[k]]).ravel(),
                 np.tile([1.0, -1.0], m), m, -np.inf, 0.0)                                   # s_jk <= y_j
        cost[cols] = d.placement_cost[s_sites[k]]
        capital[cols] = d.capital_cost[s_sites[k]]
    _area_rows(rows, data, s_sites, covers, rules, floor_area, n)
    _a_service_per_conversion(rows, rules, s_sites, s_end, ids)
    integer = np.zeros(n_cols, bool)
    integer[:s_end] = True
    lower = np.concatenate([rules.lower, np.zeros(n_cols - n)])
    upper = np.concatenate([rules.upper, np.ones(n_cols - n)])
    return PhaseBlock(n_cols, n, s_end, rows, integer, lower, upper, cost, capital, covers)


def _area_rows(rows: Rows, data: list[ServiceData], s_sites: list[np.ndarray], covers: list[ServiceCover],
               rules: SiteRules, floor_area: np.ndarray | None, n: int) -> None:
    """``sum_k A_k s_jk - F_j y_j <= 0`` for buildings of known floor area."""
    used = [(s_sites[k], covers[k].s_cols, d.service.min_floor_area_m2) for k, d in enumerate(data)
            if d.service.min_floor_area_m2 > 0]
    if not used or floor_area is None:
        return
    known = np.flatnonzero(np.isfinite(floor_area) & rules.counts)
    area_row = np.full(n, -1, np.int64)
    area_row[known] = np.arange(known.shape[0])
    r = area_row[np.concatenate([u[0] for u in used])]
    cols = np.concatenate([u[1] for u in used])
    vals = np.concatenate([np.full(u[0].shape[0], u[2]) for u in used])
    on = r >= 0
    rows.add(np.concatenate([r[on], np.arange(known.shape[0])]), np.concatenate([cols[on], known]),
             np.concatenate([vals[on], -floor_area[known]]), known.shape[0], -np.inf, 0.0)


def _a_service_per_conversion(rows: Rows, rules: SiteRules, s_sites: list[np.ndarray], s_end: int,
                              ids: np.ndarray) -> None:
    """``y_j <= sum_k s_jk`` for every building the plan may convert: no conversion without a service.

    Raises
    ------
    InfeasibleError
        when a required building can host none of the enabled services.
    """
    n = rules.usable.shape[0]
    hosts = np.zeros(n, bool)
    for sites_k in s_sites:
        hosts[sites_k] = True
    stranded = np.flatnonzero(rules.required & ~hosts)
    if stranded.size:
        raise InfeasibleError(f"multiservice: required building(s) {', '.join(map(str, ids[stranded][:5]))} can "
                              "host none of the enabled services (floor area or allowed services), and a "
                              "conversion must host at least one")
    buildable = np.flatnonzero(rules.usable & ~rules.existing)
    row_of = np.full(n, -1, np.int64)
    row_of[buildable] = np.arange(buildable.shape[0])
    placed_at = np.concatenate(s_sites)               # allowed sites are buildable: every row_of is set
    rows.add(np.concatenate([np.arange(buildable.shape[0]), row_of[placed_at]]),
             np.concatenate([buildable, np.arange(n, s_end)]),
             np.concatenate([np.ones(buildable.shape[0]), -np.ones(placed_at.shape[0])]),
             buildable.shape[0], -np.inf, 0.0)
