"""Priority levels: maximise the first level, hold it, then the next, and the program's own objective last.

A plan that puts elderly care first is the best plan for elderly care; among those, the best for the second
level; and so on (lexicographic optimisation). :func:`solve_levels` runs one solve per level before the last,
each on the program with the earlier levels held by a row ``level @ x + offset >= best - slack``, where the
slack is ``tolerance * |best|`` (``[model] priority_tolerance``) or, at tolerance 0, the float slack of
:func:`siting.formulations.lexicographic.keep_slack`. It returns the program with every level held; the driver
solves that with the model's objective, warm-started from the last level's plan (which satisfies every row).
:func:`check_levels` re-checks the held values on the verified plan.

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.program import LinearProgram, Sense
>>> p = LinearProgram(Sense.MAXIMIZE, np.array([1.0, 1.0]), sp.csr_matrix(np.ones((1, 2))), np.array([-np.inf]),
...                   np.array([1.0]), np.zeros(2), np.ones(2), np.ones(2, bool))
>>> held, x, info = hold_level(p, Level(1, ("a",), np.array([0.0, 1.0])), x=np.array([0.0, 1.0]), tolerance=0.0)
>>> held.n_rows, info["value"]
(2, 1.0)
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..backends import get_backend
from ..errors import VerificationError
from ..formulations.lexicographic import keep_slack
from ..program import LinearProgram, Sense
from ..status import Termination, relative_gap
from .base import Level, SolveContext

__all__ = ["solve_levels", "hold_level", "check_levels", "unproven_levels"]


def hold_level(program: LinearProgram, level: Level, *, x: np.ndarray, tolerance: float) -> tuple[
        LinearProgram, np.ndarray, dict[str, Any]]:
    """``program`` with one more row holding ``level`` at its value in ``x`` (less the tolerance)."""
    value = float(level.objective @ x + level.offset)
    slack = max(tolerance * abs(value), keep_slack(level.objective, value))
    # share objectives have coefficients of ~1e-3: the row is scaled so its smallest one is 1 (a person),
    # or the solvers' absolute feasibility tolerance (1e-6) would be a visible share of the level
    nonzero = np.abs(level.objective[level.objective != 0])
    scale = 1.0 / float(nonzero.min()) if nonzero.size and nonzero.min() < 1.0 else 1.0
    row = sp.csr_matrix(scale * level.objective.reshape(1, -1))
    held = replace(program, constraints=sp.vstack([program.constraints, row], format="csr"),
                   row_lower=np.concatenate([program.row_lower, [scale * (value - slack - level.offset)]]),
                   row_upper=np.concatenate([program.row_upper, [np.inf]]))
    return held, x, {"level": level.number, "services": list(level.services), "value": value,
                     "held_at": value - slack, "tolerance": tolerance}


def solve_levels(program: LinearProgram, levels: tuple[Level, ...], ctx: SolveContext, *, tolerance: float,
                 polish: Callable[[np.ndarray], np.ndarray] | None = None, start: np.ndarray | None = None,
                 level_bound: Callable[[int], float | None] | None = None) -> tuple[
                     LinearProgram, np.ndarray | None, Termination, list[dict[str, Any]], str]:
    """Solve the levels in order; the program with all of them held, the last level's plan and what happened.

    Returns ``(program, x, termination, stats, message)``. ``message`` is set when a level found no plan
    (then ``termination`` says why: infeasible, time limit, error); ``x`` is the last level's plan, None
    when it found none or sits just outside a held row (no warm start then); a level stopped by a limit keeps its plan, and
    the termination is that limit (no optimality is claimed for the whole). ``polish`` (the model's
    :attr:`~siting.models.base.Built.polish`) makes each stage's vector exact before its level is held.
    ``start`` (a feasible point of ``program``, e.g. the model's warm start) starts the first level; a stage
    keeps the start when the solver returns nothing better for its level, so a re-plan stopped early still
    holds each level at least at the start's value. ``level_bound(number)`` (the model's
    :attr:`~siting.models.base.Model.level_bound`) gives a level a bound when its stage proves none or a looser
    one (at city size the stages get seconds, without a root LP); a bound below the value reached is a bug.
    """
    backend = get_backend(ctx.backend)
    held = program
    if start is not None and program.max_violation(start, relative=True) > 1e-7:
        raise VerificationError(f"{program.name}: the warm start of the priority levels violates the program")
    worst = Termination.OPTIMAL
    info: list[dict[str, Any]] = []
    for i, level in enumerate(levels):
        stage = replace(held, sense=Sense.MAXIMIZE, objective=level.objective, objective_offset=level.offset,
                        name=f"{program.name}_level{level.number}")
        # each level gets an equal share of what is left, the model's own objective counting as one more
        options = ctx.options_now(share=0.9 / (len(levels) - i + 1))
        began = time.perf_counter()
        sol = backend.solve(stage, options, warm_start=start)
        if sol.x is None and (start is None or sol.termination in (Termination.INFEASIBLE, Termination.UNBOUNDED)):
            return held, None, sol.termination, info, (
                f"priority level {level.number} ({', '.join(level.services)}): {sol.message or sol.termination}")
        if sol.termination is not Termination.OPTIMAL:
            worst = sol.termination if sol.termination is not Termination.ERROR else Termination.TIME_LIMIT
        # a stage stopped before any plan keeps the previous level's plan, which satisfies every held row
        x = start if sol.x is None else (polish(sol.x) if polish is not None else sol.x)
        assert x is not None
        reached = float(level.objective @ x)
        if start is not None and float(level.objective @ start) > reached + 1e-9 * max(1.0, abs(reached)):
            x = start       # a solver stopped early may return a point worse than the one it started from
        held, start, row = hold_level(held, level, x=x, tolerance=tolerance)
        if held.max_violation(start, relative=True) > 1e-7:
            start = None        # the solver's tolerance left it just outside a held row: no warm start
        # the stage's own bound: how much more this level could reach with the earlier ones held (None: none)
        bound = None if sol.bound is None or not np.isfinite(sol.bound) else max(float(sol.bound), row["value"])
        cheap = None if level_bound is None else level_bound(level.number)
        if cheap is not None:
            if cheap < row["value"] - 1e-7 * max(1.0, abs(row["value"])):
                raise VerificationError(f"{program.name}: the bound {cheap:.10g} of priority level {level.number} is "
                                        f"below the {row['value']:.10g} its stage reached")
            row["model_bound"] = cheap
            bound = max(cheap, row["value"]) if bound is None else max(min(bound, cheap), row["value"])
        row.update(termination=str(sol.termination), seconds=time.perf_counter() - began, bound=bound,
                   gap=relative_gap(row["value"], bound))
        info.append(row)
    return held, start, worst, info, ""


def check_levels(stats: list[dict[str, Any]], values: dict[int, float]) -> None:
    """Every level's recomputed value keeps what its stage held (a bug otherwise).

    ``values``: ``{level number: value recomputed from the raw inputs}``.
    """
    for row in stats:
        got = values.get(int(row["level"]))
        if got is None:
            continue
        if got < float(row["held_at"]) - 1e-7 * max(1.0, abs(float(row["value"]))):
            raise VerificationError(f"priority level {row['level']}: the plan reaches {got:.9g}, below the "
                                    f"{float(row['held_at']):.9g} held after its stage")


def unproven_levels(stats: list[dict[str, Any]]) -> list[str]:
    """One line per priority level its stage did not prove, with how far its own bound is.

    The levels after it, and the model's objective, are optimised with it held at the value reached (less
    ``priority_tolerance``); the result's gap is theirs. A planner who said "elderly first" must see when elderly care itself is short
    of what the money could reach (at city size the stages get seconds, and the level keeps the warm start's
    value).
    """
    lines = []
    for row in stats:
        if row.get("termination") == str(Termination.OPTIMAL):
            continue
        services = ", ".join(row.get("services", ()))
        value, bound = float(row["value"]), row.get("bound")
        # a level at 0 has no relative gap worth printing (relative_gap divides by 1e-9 there)
        gap = row.get("gap") if abs(value) > 1e-9 else None
        reach = ("no bound" if bound is None else
                 f"its bound is {bound:.6g} (gap {100 * gap:.1f} %)" if gap is not None else f"its bound is {bound:.6g}")
        # with priority_tolerance the later levels may take the level down to held_at, not the value reached
        held = (f"{float(row['held_at']):.6g} (its stage reached {value:.6g} less priority_tolerance "
                f"{row['tolerance']:g})" if row.get("tolerance", 0.0) * abs(value) > 0 and "held_at" in row
                else f"{value:.6g}")
        lines.append(f"priority level {row['level']} ({services}) not proven ({row.get('termination')}): held at "
                     f"{held}, {reach}; the result's gap is that of the levels after it")
    return lines
