"""The MIP phase: the whole (or reduced-cost fixed) problem warm-started with the best heuristic plan."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from ..backends.base import Backend
from ..heuristics.setcover import restrict_to_better
from ..options import SolveOptions
from ..problem import CoverageOutcome, CoverageProblem, ModelType
from ..status import Termination
from .best import _Best, _better, _certified, _tighter
from .clock import MIN_MIP_TIME_S, _Clock
from .exact import solve_exact

#: HiGHS options for the LSCP MIP after the set-covering presolve (the user's ``backend_options`` win): HiGHS's own
#: presolve finds little left and its restarts cost time: 1.3-1.7x less CPU on the presolved spopt_compare 5k,
#: OR-Library scpa2 and scpb1 (4.0 -> 2.3, 4.3 -> 2.9, 7.7 -> 5.8 s), the same bound after 60 s on the 20k one
LSCP_HIGHS_OPTIONS = {"presolve": "off"}
#: LSCP MIPs of at most LSCP_SMALL_NNZ nonzeros get this share of the time left (HiGHS stopped within 0.1 s of
#: its limit on the presolved 20k spopt_compare instance, 11k nonzeros)
LSCP_MIP_TIME_SHARE = 0.95
LSCP_SMALL_NNZ = 100_000
#: SCIP (OR-Tools) options for LSCP: pseudo-cost branching instead of SCIP's default reliability branching, whose
#: strong-branching LPs cost more than they save on covering (presolved spopt_compare 5k: 1.83 -> 1.51 s; 8,000 x 800:
#: proven in 23 s instead of 42 s; 20k at 60 s: 440 / 435.3 against 441 / 435.3)
LSCP_SCIP_PARAMS: dict[str, int] = {"branching/pscost/priority": 100_000}
#: Small covers first get a quick proof attempt: SCIP without cutting planes (whatever the backend; skipped without
#: OR-Tools) for this share of the time left, this many seconds without a limit. Covers of a few thousand nonzeros
#: are proven 2-10x sooner than by HiGHS or by SCIP with its cuts (spopt_compare 5k: 0.86 s against 2.0 / 1.51 s;
#: OR-Library scpa2 0.74 s against 2.8 / 7.7 s, scpb1 0.95 against 3.7 / 9.9 s); what it finds starts the
#: backend's MIP, which gets the rest of the time, and the tighter of the two bounds is kept
LSCP_QUICK_SHARE = 0.05
LSCP_QUICK_S = 3.0
#: ... only below this many sites + nonzeros: larger covers need cuts (8,000 x 800, 6k nonzeros: no proof in 60 s
#: without them) and the backend's cuts did better than SCIP's on denser ones (8,000 x 800 at 3 %: HiGHS 51 / 46
#: against SCIP 59 / 43 after 10 s); from 20,000 entries OR-Tools runs in a child process whose start-up alone
#: outlasts the stage (1-2 s)
LSCP_QUICK_MAX_ENTRIES = 20_000


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
        out = _lscp_stages(mip_problem, backend, mip_options, warm, stats)
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


def _uses_scip(backend: str | Backend, options: SolveOptions) -> bool:
    name = backend if isinstance(backend, str) else backend.name
    return name == "ortools" and str(options.for_backend("ortools").get("solver", "scip")).lower() == "scip"


def _has_scip() -> bool:
    from ..backends.registry import get_backend

    try:
        return get_backend("ortools").available()
    except Exception:   # an unknown or broken optional backend: no quick stage
        return False


def _lscp_stages(problem: CoverageProblem, backend: str | Backend, options: SolveOptions, warm: np.ndarray | None,
                 stats: dict[str, Any]) -> CoverageOutcome:
    """The LSCP MIP: on small covers a quick cut-free SCIP stage, then the backend's MIP (module constants).

    The quick stage (:data:`LSCP_QUICK_SHARE`, :data:`LSCP_QUICK_MAX_ENTRIES`) ends the MIP when it proves the
    optimum or that nothing beats the incumbent; otherwise its plan starts the backend's MIP on the time left and the
    tighter of the two bounds (both bound the same problem) is kept. On SCIP both stages use
    :data:`LSCP_SCIP_PARAMS`; the user's ``scip_params`` win, and the user's ``cuts`` make it one stage.
    """
    user = dict(options.for_backend("ortools"))
    own = user.get("scip_params") or {}
    on_scip = _uses_scip(backend, options)
    # anything but a table goes to the backend as given, whose one-line SolverError names it
    scip = {**user, "scip_params": {**LSCP_SCIP_PARAMS, **own} if isinstance(own, Mapping) else own} if on_scip \
        else {"solver": "scip", "scip_params": dict(LSCP_SCIP_PARAMS)}

    def with_ortools(entries: dict[str, Any], time_limit_s: float | None) -> SolveOptions:
        return replace(options, time_limit_s=time_limit_s,
                       backend_options={**options.backend_options, "ortools": entries})

    main = with_ortools(scip, options.time_limit_s) if on_scip else options
    quick = (problem.n_sites + problem.coverage.nnz < LSCP_QUICK_MAX_ENTRIES and not (on_scip and "cuts" in user)
             and (on_scip or _has_scip()))
    if not quick:
        return solve_exact(problem, backend=backend, options=main, warm_start=warm)
    limit = options.time_limit_s
    first_limit = LSCP_QUICK_S if limit is None else max(LSCP_QUICK_SHARE * limit, MIN_MIP_TIME_S)
    first = solve_exact(problem, backend=backend if on_scip else "ortools",
                        options=with_ortools({**scip, "cuts": "off"}, first_limit),
                        warm_start=warm)
    stats["mip_quick"] = {"termination": str(first.termination), "objective": first.objective,
                          "bound": first.bound, "seconds": first.seconds}
    first = replace(first, method="scip without cuts")
    if first.termination in (Termination.OPTIMAL, Termination.INFEASIBLE):
        return first
    left = None if limit is None else limit - first.seconds
    if left is not None and left <= MIN_MIP_TIME_S:
        return first
    second = solve_exact(problem, backend=backend, options=replace(main, time_limit_s=left),
                         warm_start=first.open_sites if first.open_sites is not None else warm)
    plan, value = second.open_sites, second.objective
    if _better(False, first.objective, value):
        plan, value = first.open_sites, first.objective
    bounds = [b for b in (first.bound, second.bound) if b is not None]
    return replace(second, open_sites=plan, objective=value, bound=max(bounds) if bounds else None,
                   seconds=first.seconds + second.seconds, method=f"scip without cuts, then {second.method}")
