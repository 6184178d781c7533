"""The MIP phase: the whole (or reduced-cost fixed) problem warm-started with the best heuristic plan."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..backends.base import Backend
from ..heuristics.setcover import restrict_to_better
from ..options import SolveOptions
from ..problem import CoverageProblem, ModelType
from ..status import Termination
from .best import _Best, _better, _certified, _tighter
from .clock import MIN_MIP_TIME_S, _Clock
from .exact import solve_exact
from .lscp_stages import lscp_stages

#: HiGHS options for the LSCP MIP after the set-covering presolve (the user's ``backend_options`` win): HiGHS's own
#: presolve finds little left and its restarts cost time: 1.3-1.7x less CPU on the presolved spopt_compare 5k,
#: OR-Library scpa2 and scpb1 (4.0 -> 2.3, 4.3 -> 2.9, 7.7 -> 5.8 s), the same bound after 60 s on the 20k one
LSCP_HIGHS_OPTIONS = {"presolve": "off"}
#: LSCP MIPs of at most LSCP_SMALL_NNZ nonzeros get this share of the time left (HiGHS stopped within 0.1 s of
#: its limit on the presolved 20k spopt_compare instance, 11k nonzeros)
LSCP_MIP_TIME_SHARE = 0.95
LSCP_SMALL_NNZ = 100_000
def _mip_phase(q: CoverageProblem, best: _Best, backend: str | Backend, options: SolveOptions, clock: _Clock,
               stats: dict[str, Any]) -> _Best:
    """The MIP warm-started with ``best``, under what is left of the time limit; the better of the two.

    LSCP with a Lagrangian dual: the MIP runs on the problem with the sites reduced-cost fixing settles
    (:func:`siting.heuristics.setcover.restrict_to_better`), whose bound ``B`` gives ``min(incumbent, B)``.
    """
    left = clock.left()
    if left is not None and left <= MIN_MIP_TIME_S and best.plan is not None:
        stats["mip"] = {"termination": "skipped", "reason": "no time left after the heuristics"}
        return replace(best, termination=Termination.TIME_LIMIT)
    # MCLP: the incumbent and every optimal plan stay feasible after reduced-cost fixing, so its bound is valid
    mip_problem = q if best.fixed is None else best.fixed
    warm = best.plan
    restricted = best.dual is not None and best.value is not None and best.plan is not None
    if restricted:
        assert best.dual is not None and best.value is not None and best.plan is not None
        fixed_problem, n_fixed = restrict_to_better(q, best.dual, best.value)
        stats["reduced_cost_fixed"] = n_fixed
        if fixed_problem is None:   # no cover cheaper than the incumbent exists
            stats["mip"] = {"termination": "skipped", "reason": "reduced-cost fixing proved the incumbent"}
            return replace(best, bound=best.value, termination=Termination.OPTIMAL)
        mip_problem = fixed_problem
        if np.any(best.plan & mip_problem.fixed_closed) or np.any(mip_problem.fixed_open & ~best.plan):
            warm = None
    mip_options = clock.options(options)
    left = clock.left()
    if q.model is ModelType.LSCP and left is not None and mip_problem.coverage.nnz <= LSCP_SMALL_NNZ:
        # a small covering MIP stops close to its limit: the usual 15 % margin only left time unused (20k: 49 of 60 s)
        mip_options = replace(mip_options, time_limit_s=max(LSCP_MIP_TIME_SHARE * left, MIN_MIP_TIME_S))
    if q.model is ModelType.LSCP:
        highs = {**LSCP_HIGHS_OPTIONS, **mip_options.for_backend("highs")}
        mip_options = replace(mip_options, backend_options={**mip_options.backend_options, "highs": highs})
    if q.model is ModelType.LSCP:
        out = lscp_stages(mip_problem, backend, mip_options, warm, stats)
    else:
        out = solve_exact(mip_problem, backend=backend, options=mip_options, warm_start=warm)
    stats["mip"] = {"termination": str(out.termination), "objective": out.objective, "bound": out.bound,
                    "seconds": out.seconds}
    method = f"{best.method}+{out.method}" if best.method else out.method
    if out.termination == Termination.INFEASIBLE:
        if restricted:  # nothing beats the incumbent
            return replace(best, bound=best.value, termination=Termination.OPTIMAL, method=method)
        return _Best(termination=Termination.INFEASIBLE, method=out.method)
    plan, value = best.plan, best.value
    if _better(q.maximise, out.objective, value):
        plan, value = out.open_sites, out.objective
    mip_bound = out.bound
    if restricted and mip_bound is not None:
        mip_bound = min(float(best.value), mip_bound)  # type: ignore[arg-type]
    # a solver's OPTIMAL may be its own gap limit (SCIP's limits/gap, HiGHS's mip_rel_gap in backend_options)
    proven = out.bound is not None and _certified(out.objective, out.bound, options)
    termination = {Termination.OPTIMAL: Termination.OPTIMAL if proven else Termination.HEURISTIC,
                   Termination.TIME_LIMIT: Termination.TIME_LIMIT}.get(out.termination, Termination.HEURISTIC)
    return _Best(plan, value, _tighter(q.maximise, best.bound, mip_bound), termination, method, best.dual)
