r"""The multi-service program: one budget (or one per year), buildings converted once, several services each.

Formulation only (it never calls a solver). One year's rows are :func:`~siting.models.multiservice_phase.phase_block`;
this module stacks a block per year of ``[[phases]]``, links the years, adds the limits and the policy rows
(:mod:`siting.models.multiservice_policy`) and the priority levels. Notation: ``models/multiservice.md`` and
``models/policy.md``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..data.instance import Instance
from ..program import Sense
from ..rules import SiteRules
from .base import Built, Level, Plan
from .multiservice_inputs import inputs_of
from .multiservice_params import MultiserviceParams, resolved_catalog
from .multiservice_phase import PhaseBlock, phase_block
from .multiservice_policy import add_policy_rows, check_policy_data, extra_columns
from .parts import Rows, milp

__all__ = ["build_multiservice", "year_starts", "last_year"]


def year_starts(built: Built, n_years: int) -> range:
    """The first column of each year's block (``y``, ``s``, cover columns), earliest year first.

    Every year's block has the same width, so year ``t`` starts at ``t * width``; ``n_years`` is
    ``params.n_years`` of the params the program was built with.
    """
    start, stop = built.program.blocks["year"]
    return range(start, stop, (stop - start) // n_years)


def last_year(built: Built) -> slice:
    """The last year's block: its ``y`` columns first (block ``"site"``), then its ``s`` and cover columns."""
    return slice(built.program.blocks["site"][0], built.program.blocks["year"][1])


def build_multiservice(instance: Instance, params: MultiserviceParams,
                       rules: SiteRules | None = None) -> Built:
    r"""The co-location program and its decoder to a :class:`Plan`.

    Returns
    -------
    Built
        Columns: one block per year ``t`` (``y_jt``, ``s_jkt``, cover columns), then the budget-group and
        complex columns. Block ``"site"`` is the last year's ``y``. The decoder gives ``open_sites`` =
        converted buildings and existing sites, ``placements[k]`` = new ``k`` placements (last year),
        ``phase[k]`` = the year index each placement opens (-1: none) and ``assignment[k]`` = a sparse
        (n_demand, n_sites) matrix of assigned shares for each capacitated service (last year).
        ``levels``: one objective per priority level before the last (:class:`~siting.models.base.Level`).

    Notes
    -----
    ``a^k_ij = [t^{g(k)}_ij <= r_k]`` on service ``k``'s travel table, ``w^k`` its demand column,
    ``lambda_k`` its weight (divided by ``W_k = sum_i w^k_i`` for ``objective="share"``), ``A_k`` its floor
    area, ``e_jk`` its placement cost (fit-out, per-m2 area cost, discounted operating cost), ``c_j`` the
    building's conversion cost, ``F_j`` its floor area. For every year ``t``:

    .. math::

        \max \sum_t \sum_k \lambda_k \Big( W^0_k + \sum_i w^k_i v_{ikt} \Big) \quad\text{s.t.}\quad
        s_{jkt} \le y_{jt} \le \sum_k s_{jkt},\quad \sum_k A_k s_{jkt} \le F_j y_{jt},\quad
        v_{ikt} \le \sum_j a^k_{ij} s_{jkt},

    nested years ``y_{jt} <= y_{j,t+1}``, ``s_{jkt} <= s_{jk,t+1}``, and each year's spend
    ``C_t - C_{t-1} <= B_t`` with ``C_t = sum_j c_j y_jt + sum_{jk} e_jk s_jkt`` (``C_t <= sum_{tau<=t} B_tau``
    with ``carry_over``; ``C_T <= budget`` when a total is given). Unphased plans have one year.
    ``W^0_k`` is the weight already within ``r_k`` of an existing ``k`` facility (those rows get no ``v``).
    A capacitated service uses ``z`` instead of ``v``: ``sum_j z_ijk <= 1``,
    ``sum_i w^k_i z_ijk <= cap_k s_jk`` (``<= cap_k`` at existing facilities), ``z_ijk <= s_jk``.
    ``y, s`` binary; ``v, z`` in [0, 1].
    """
    rules = rules or SiteRules.of(instance)
    inputs = inputs_of(instance, params, rules)
    n_phases = params.n_years
    check_policy_data(instance, params, inputs, rules, n_phases)
    block = phase_block(inputs, rules, instance.sites.floor_area, instance.sites.ids)
    width = block.n_cols
    final = (n_phases - 1) * width
    extras = extra_columns(params, inputs, rules, instance.sites.floor_area, n_phases * width)
    n_cols = n_phases * width + extras.n_cols
    rows = Rows(n_cols)
    _stack_years(rows, block, n_phases)
    _limit_rows(rows, params, block, rules, n_phases)
    upper = np.concatenate([np.tile(block.upper, n_phases), np.ones(extras.n_cols)])
    lower = np.concatenate([np.tile(block.lower, n_phases), np.zeros(extras.n_cols)])
    required = np.flatnonzero(rules.required)
    for t in range(n_phases - 1):          # a required building converts by the last year, in any year
        lower[t * width + required] = 0.0
    add_policy_rows(rows, params, inputs, block, n_phases, extras, upper)
    objective = np.concatenate([np.tile(block.objective, n_phases), np.zeros(extras.n_cols)])
    integer = np.concatenate([np.tile(block.integer, n_phases), extras.integer])
    program = milp(Sense.MAXIMIZE, objective, rows, lower, upper, integer, "multiservice",
                   {"site": (final, final + block.n_sites), "year": (0, n_phases * width)},
                   offset=n_phases * block.offset)
    n = instance.n_sites
    n_demand = instance.n_demand

    def decode(x: np.ndarray) -> Plan:
        placements: dict[str, np.ndarray] = {}
        phase: dict[str, np.ndarray] = {}
        assignment: dict[str, sp.csr_matrix] = {}
        years = np.arange(n_phases)
        for cover in block.covers:
            key = cover.data.service.key
            on = np.stack([x[t * width + cover.s_cols] > 0.5 for t in years]) if cover.s_cols.size else \
                np.zeros((n_phases, 0), bool)
            placed = np.zeros(n, bool)
            placed[cover.sites] = on[-1]
            first = np.full(n, -1, np.int64)
            first[cover.sites] = np.where(on.any(axis=0), np.argmax(on, axis=0), -1)
            placements[key] = placed
            phase[key] = first
            if cover.pairs is not None:
                share = np.clip(x[final + cover.cover_cols], 0.0, 1.0)
                assignment[key] = sp.csr_matrix((share, cover.pairs), shape=(n_demand, n))
        # Plan.assignment holds {service: sparse shares} here (several capacitated services, one plan)
        return Plan(open_sites=(x[final:final + n] > 0.5) | rules.existing, placements=placements,
                    assignment=assignment or None, phase=phase if params.phases else None)

    def polish(x: np.ndarray) -> np.ndarray:
        """Binaries rounded, every uncapacitated cover column set to what the placements cover (0 or 1).

        A stage's vector may leave a cover column below 1 where its service is not in that stage's
        objective; the next stage must start from the plan's true value. Covering more only raises the
        objective, the floors and the held levels, so a feasible vector stays feasible.
        """
        out = x.copy()
        for t in range(n_phases):
            base = t * width
            out[base:base + block.s_end] = np.round(out[base:base + block.s_end])
            for cover in block.covers:
                if cover.reach is None or not cover.cover_cols.size:
                    continue
                placed = np.zeros(n)
                placed[cover.sites] = out[base + cover.s_cols]
                out[base + cover.cover_cols] = (cover.reach @ placed > 0.5).astype(float)
        out[extras.start:] = np.where(extras.integer, np.round(out[extras.start:]), out[extras.start:])
        return out

    # the cheapest-plan stage pays the last year's conversions and placements (every year's spend, summed)
    plan_cost = np.zeros(n_cols)
    plan_cost[final:final + width] = block.cost
    new_sites = np.zeros(n_cols)
    new_sites[final:final + n] = rules.counts & (rules.lower == 0)
    return Built(program, decode, stats={"program_years": n_phases, "cover_columns": width - block.s_end},
                 plan_cost=plan_cost, new_sites=new_sites, levels=_levels(params, block, n_phases, n_cols),
                 polish=polish)


def _stack_years(rows: Rows, block: PhaseBlock, n_phases: int) -> None:
    """The year block repeated on the diagonal, and nested years for the binary columns."""
    stacked, lo, up = block.rows.stack()
    a = stacked.tocoo()
    width, m = block.n_cols, a.shape[0]
    t = np.repeat(np.arange(n_phases), a.nnz)
    rows.add(np.tile(a.row, n_phases) + t * m, np.tile(a.col, n_phases) + t * width, np.tile(a.data, n_phases),
             n_phases * m, np.tile(lo, n_phases), np.tile(up, n_phases))
    binary = np.arange(block.s_end)
    for year in range(n_phases - 1):              # x_t <= x_{t+1}: what opens stays open
        k = binary.shape[0]
        rows.add(np.repeat(np.arange(k), 2),
                 np.column_stack([year * width + binary, (year + 1) * width + binary]).ravel(),
                 np.tile([1.0, -1.0], k), k, -np.inf, 0.0)


def _limit_rows(rows: Rows, params: MultiserviceParams, block: PhaseBlock, rules: SiteRules, n_phases: int) -> None:
    """Budgets (per year, cumulative with carry_over, the total) and the count of new buildings."""
    width = block.n_cols
    cols = np.flatnonzero(block.cost)
    cost = block.cost[cols]
    final = (n_phases - 1) * width
    if params.phases:
        budgets = np.array([ph.budget for ph in params.phases])
        for t in range(n_phases):
            if params.carry_over or t == 0:
                rows.add(np.zeros(cols.shape[0]), t * width + cols, cost, 1, -np.inf, float(budgets[:t + 1].sum())
                         if params.carry_over else float(budgets[0]))
            else:
                rows.add(np.zeros(2 * cols.shape[0]), np.concatenate([t * width + cols, (t - 1) * width + cols]),
                         np.concatenate([cost, -cost]), 1, -np.inf, float(budgets[t]))
    if params.budget is not None:
        rows.add(np.zeros(cols.shape[0]), final + cols, cost, 1, -np.inf, float(params.budget))
    if params.max_sites is not None:
        idx = np.flatnonzero(rules.counts)
        rows.add(np.zeros(idx.shape[0]), final + idx, np.ones(idx.shape[0]), 1, -np.inf, float(params.max_sites))


def _levels(params: MultiserviceParams, block: PhaseBlock, n_phases: int, n_cols: int) -> tuple[Level, ...]:
    """One objective per priority level before the last (services without a priority come last)."""
    levels = resolved_catalog(params).priority_levels()
    if len(levels) < 2:
        return ()
    width = block.n_cols
    by_key = {c.data.service.key: c for c in block.covers}
    out = []
    for number, keys in enumerate(levels[:-1], start=1):
        vec = np.zeros(n_cols)
        offset = 0.0
        for key in keys:
            cover = by_key[key]
            for t in range(n_phases):
                vec[t * width + cover.cover_cols] = cover.objective
            offset += n_phases * cover.offset
        out.append(Level(number, tuple(keys), vec, offset))
    return tuple(out)

