"""Presolve for coverage problems: a chain of small reductions with typed inverse data.

See ``models/presolve-and-heuristics.md`` for the reductions and why each keeps the optimum.
"""
from __future__ import annotations

from .base import PresolveResult, RowMap, SiteMap, take_rows, take_sites
from .chain import presolve
from .covering import contained_rows, drop_costly_sites, drop_dominated_rows
from .dominance import dominated_sites
from .reductions import (
    absorb_fixed_open,
    default_reductions,
    drop_closed_sites,
    drop_dominated_sites,
    drop_uncoverable_demand,
    drop_useless_sites,
    drop_zero_weight_demand,
    fix_forced_sites,
    merge_identical_rows,
)

__all__ = [
    "PresolveResult", "RowMap", "SiteMap", "presolve", "take_rows", "take_sites", "dominated_sites",
    "absorb_fixed_open", "default_reductions", "drop_closed_sites", "drop_dominated_sites",
    "drop_uncoverable_demand", "drop_useless_sites", "drop_zero_weight_demand", "fix_forced_sites",
    "merge_identical_rows", "contained_rows", "drop_costly_sites", "drop_dominated_rows",
]
