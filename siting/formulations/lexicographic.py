"""Second-stage programs: the same rows, the first objective held at its best, a new goal minimised.

A plan is a list of buildings a district pays to convert, so among the plans that reach the best objective
the solver should return the cheapest, and among those the one with the fewest new sites.
:func:`keep_best` adds one row ``c^T x + c_0 >= best - slack`` (``<=`` for a minimisation) to a program and
replaces its objective; :func:`cost_then_count` builds the usual second objective. The slack
(:func:`keep_slack`) is half the unit of the objective's coefficients (half a person for whole populations),
so the row admits exactly the plans that keep ``best``; with coefficients that share no unit it is
``1e-6 * |best|`` and a plan that slipped is rejected when re-verified.

Exactness
---------
``cost_then_count`` minimises ``cost / u + count / (N + 1)`` where ``u`` is the largest power of ten that
divides every cost (1 for whole yuan) and ``N`` the number of countable sites: two plans of different cost
differ by at least 1 in the first term, while the count term stays below 1, so the order is exactly
"cost, then count" whenever the stage is solved to an absolute gap below 1 (``mip_gap`` times the scaled cost;
on the brute-force instances the gap closes to 0). Costs with no common power-of-ten unit (``u`` is None)
use ``u = min positive cost * 1e-6``: then the count decides only between plans whose costs are that close.

Examples
--------
>>> import numpy as np
>>> objective, unit = cost_then_count(np.array([2e6, 1.5e6, 0.0]), np.array([1.0, 1.0, 0.0]))
>>> unit, objective.tolist()
(100000.0, [20.333333333333332, 15.333333333333334, 0.0])
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from ..program import LinearProgram, Sense

__all__ = ["keep_best", "keep_slack", "cost_then_count", "cost_unit", "KEEP_SLACK"]

#: relative tolerance with which a second-stage plan, re-verified from the raw inputs, counts as keeping the
#: first objective (float sums in another order); a plan that lost more is rejected
KEEP_SLACK = 1e-9
#: relative slack of the held row when the objective's coefficients share no power-of-ten unit
_FLOAT_SLACK = 1e-6


def keep_slack(objective: np.ndarray, best: float) -> float:
    """How far the held row may let the first objective slip without admitting a worse plan.

    When every objective coefficient is a multiple of a power of ten ``u`` (whole people, minutes to 0.1),
    plans' objectives differ by ``u`` or more and half of it admits no worse plan; else ``1e-6 * |best|``.
    A thin row (slack ~1e-9 of the objective) makes HiGHS prove wrong optima or infeasibility, so the slack is
    never below ``1e-7 * |best|``.
    """
    scale = max(1.0, abs(float(best)))
    unit = cost_unit(objective)
    if unit is not None and 0.5 * unit >= 1e-7 * scale:
        return 0.5 * unit
    return _FLOAT_SLACK * scale


def cost_unit(cost: np.ndarray) -> float | None:
    """The largest power of ten (1e-6 ... 1e9) that divides every cost exactly, or None."""
    cost = np.abs(np.asarray(cost, dtype=float))
    cost = cost[cost > 0]
    if cost.size == 0:
        return 1.0
    for k in range(9, -7, -1):
        unit = 10.0 ** k
        scaled = cost / unit
        # every value a whole, non-zero multiple of the unit (0.01 is not a multiple of 1e9)
        if np.all(scaled >= 1.0 - 1e-9) and np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(1.0, scaled)):
            return unit
    return None


def cost_then_count(cost: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, float]:
    """Objective ``cost / u + count / (N + 1)`` over the columns (see the module notes) and the unit ``u``."""
    cost = np.asarray(cost, dtype=float)
    count = np.asarray(count, dtype=float)
    unit = cost_unit(cost)
    if unit is None:
        positive = np.abs(cost[cost != 0])
        unit = float(positive.min()) * 1e-6
    n_countable = float(np.count_nonzero(count))
    return cost / unit + count / (n_countable + 1.0), unit


def keep_best(program: LinearProgram, best: float, objective: np.ndarray, *, slack: float | None = None,
              name: str | None = None) -> LinearProgram:
    """``program`` with its objective held at ``best`` (one more row) and ``objective`` minimised instead.

    Parameters
    ----------
    program : the first-stage program (maximisation or minimisation)
    best : the first-stage objective to keep, offset included (a verified value)
    objective : (n_cols,) the second goal, minimised
    slack : how far the first objective may slip (default :func:`keep_slack`)

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> p = LinearProgram(Sense.MAXIMIZE, np.array([1.0, 1.0]), sp.csr_matrix((0, 2)), np.zeros(0), np.zeros(0),
    ...                   np.zeros(2), np.ones(2), np.ones(2, bool))
    >>> q = keep_best(p, 1.0, np.array([3.0, 2.0]))
    >>> q.sense.value, q.n_rows, float(q.row_lower[0]) < 1.0 < float(q.row_upper[0])
    ('minimize', 1, True)
    """
    tol = keep_slack(program.objective, best) if slack is None else float(slack)
    target = float(best) - program.objective_offset
    if program.sense is Sense.MAXIMIZE:
        lower, upper = target - tol, np.inf
    else:
        lower, upper = -np.inf, target + tol
    row = sp.csr_matrix(program.objective.reshape(1, -1))
    return replace(
        program, sense=Sense.MINIMIZE, objective=np.asarray(objective, dtype=float),
        constraints=sp.vstack([program.constraints, row], format="csr"),
        row_lower=np.concatenate([program.row_lower, [lower]]),
        row_upper=np.concatenate([program.row_upper, [upper]]),
        objective_offset=0.0, name=name or f"{program.name}_cheapest",
    )
