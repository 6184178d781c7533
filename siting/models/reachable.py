"""Demand points that reach no usable site: the pairs a model may assign, and what p-median / p-center do.

p-median and p-center assign every demand point of positive weight to an open site, so a point without any
pair to a usable site makes them infeasible. ``unreachable = "error"`` (the default) says so, naming how many
and the first ids; ``unreachable = "drop"`` leaves those points out of the program (they still count in the
total weight, and the model reports them in ``stats["unreachable_demand"]``).

Examples
--------
>>> from siting.data.orlib import instance_from_pairs
>>> inst = instance_from_pairs(np.array([0, 0]), np.array([0, 1]), np.array([3.0, 5.0]),
...                            population=np.array([1.0, 1.0]), cost=np.array([1.0, 1.0]))
>>> rules = SiteRules.of(inst)
>>> reachable_pairs(inst, np.ones(2), rules, "pmedian", unreachable="drop")[0].tolist()
[0, 0]
>>> dropped_demand(inst, np.ones(2), rules, "drop").tolist()
[1]
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..data.instance import Instance
from ..data.travel_table import FIRST_IDS, unreachable_demand
from ..errors import InfeasibleError
from ..rules import SiteRules
from .params import choice, param

__all__ = ["UNREACHABLE", "unreachable_param", "reachable_pairs", "dropped_demand"]

#: what p-median and p-center do with demand points that reach no usable site in the travel table
UNREACHABLE = ("error", "drop")


def unreachable_param() -> Any:
    """The ``unreachable`` field of p-median and p-center (every demand point must be assigned there)."""
    return param("error", check=choice(UNREACHABLE),
                 doc="demand points that reach no usable site: error (stop, naming them) or drop (solve "
                     "without them; listed in unreachable_demand)")


def reachable_pairs(instance: Instance, weight: np.ndarray, rules: SiteRules, model: str, *,
                    unreachable: str = "error") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of positive-weight demand and usable sites.

    A demand point of positive weight that reaches no usable site raises (``unreachable = "error"``, the
    message names how many and the first ids) or simply has no pairs (``"drop"``: the model leaves it out).
    """
    tr = instance.travel
    keep = (weight[tr.demand_index] > 0) & (rules.upper[tr.site_index] > 0)
    d, s, t = tr.demand_index[keep], tr.site_index[keep], tr.minutes[keep]
    order = np.lexsort((s, d))
    d, s, t = d[order], s[order], t[order]
    lost = unreachable_demand(tr, rules.upper > 0, weight)
    if lost.size and unreachable != "drop":
        ids = ", ".join(map(str, instance.demand.ids[lost[:FIRST_IDS]]))
        more = f" and {lost.size - FIRST_IDS} more" if lost.size > FIRST_IDS else ""
        raise InfeasibleError(
            f"{model}: {lost.size} demand point(s): {ids}{more} reach no usable site in the travel table "
            f"{tr.source} (a missing pair is unreachable) and every point must be assigned; set "
            "unreachable = \"drop\" to solve without them (they are listed in solution.json), or extend the "
            "table (network.cutoff_minutes, network.max_snap_m)"
        )
    return d, s, t


def dropped_demand(instance: Instance, weight: np.ndarray, rules: SiteRules, unreachable: str) -> np.ndarray:
    """Positions of the demand points ``unreachable = "drop"`` leaves out (none with ``"error"``)."""
    if unreachable != "drop":
        return np.zeros(0, dtype=np.int64)
    return unreachable_demand(instance.travel, rules.usable, weight)
