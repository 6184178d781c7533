"""The LSCP MIP in stages: on equal costs CP-SAT's covering search first, then the backend's MIP on the time left.

Set covers with equal costs are where general MIP solvers are weakest: the LP bound stalls a few per cent below
the optimum and branching barely moves it (the 20,000 x 2,000 spopt_compare cover: HiGHS, SCIP with or without
cuts all stopped at 433-435.5 against plans of 440-442 after 60 s). CP-SAT's (OR-Tools, already a dependency)
*core* search does much better: it raises the bound by unsatisfiable cores of the objective (the MaxSAT way: every
cover opens at least one site of each core found, and with equal costs each core found raises the bound by a whole
site). Presolved covers, one process, 2 cores (``/work/scratch/lscp_cmp.py``, 60 s limit), first with the portfolio
of core, max_lp (the LP with CP-SAT's cuts, which found the plans) and one more worker:

=======================================  =========================  ====================================
equal costs                              before (best of HiGHS,     CP-SAT portfolio
                                         SCIP with / without cuts)  (:data:`LSCP_CPSAT_PORTFOLIO`)
=======================================  =========================  ====================================
spopt_compare 5k (480 x 331)             0.86 s                     0.2-0.4 s
8,000 x 800 (938 x 597)                  23 s                       3.8 s
20,000 x 2,000 (1,996 x 1,379)           441 / 435.3 at 60 s        proven optimal (439) in 5.6-9.8 s
... seed 1 (1,935 x 1,329)               442 / 431 (HiGHS)          proven optimal (435) in 18-26 s
clustered 20,000 x 2,000 (2,143 x 1,229) 474 / 462 (HiGHS)          473 / 463-470
8,000 x 800 at 1.5 % / 3 % density       101 / 94, 52 / 46 (HiGHS)  101 / 95-96, 51 / 45-46
=======================================  =========================  ====================================

Once the row-weighting search (:mod:`siting.heuristics.rwls`) gave the plans (the optimum or a site above it in
1-2 s), the core search alone on one worker (:data:`LSCP_CPSAT_PARAMS`) proved more, sooner: it no longer shares
two cores with workers looking for plans (through ``siting.solve``, 60 s limit, load 5: 20k seeds 0 / 1 / 2 proven in
14 / 20 / 31 s; with the portfolio 9.4 s at load 3, 42 s at load 2-3, seed 2 not within 60 s: its proof took 111 s;
8,000 x 800 in 4.1 against 12.3 s at load 5).

With unequal costs the LP bound is strong and HiGHS proves geometric covers at or near its root (lognormal yuan
costs, 20,000 x 2,000: HiGHS 0.24 s, CP-SAT 0.7 s; clustered 1.2 against 2.1 s; OR-Library scpa2 / scpb1, where
SCIP without cuts is quickest: 0.66 / 1.06 s against CP-SAT's 1.2 / 1.8 s). So those keep the older quick stage:
SCIP without cuts (:data:`LSCP_SCIP_PARAMS`) on small covers for a few seconds, then the backend.

The first stage runs whatever the backend (skipped without OR-Tools) for :data:`LSCP_CPSAT_SHARE` of the time
left, from the warm start; when it proves the optimum the MIP ends, otherwise its plan starts the backend's MIP on
the rest and the tighter of the two bounds is kept. CP-SAT is exact only on integer data: equal costs become 1
each, and a user who asks for CP-SAT (``backend_options.ortools.solver = "cp_sat"``) gets costs scaled by the
smallest power of ten that makes them integers (:func:`integral_cost_scale`, down to a tenth of a fen) and, on
unequal costs, the portfolio.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from ..backends.base import Backend
from ..backends.ortools_backend import CHILD_MIN_ENTRIES
from ..backends.ortools_params import sat_parameters
from ..errors import SolverError
from ..options import SolveOptions
from ..problem import CoverageOutcome, CoverageProblem
from ..status import Termination
from .best import _better
from .clock import MIN_MIP_TIME_S
from .exact import solve_exact

__all__ = ["lscp_stages", "integral_cost_scale", "LSCP_CPSAT_PARAMS", "LSCP_CPSAT_PORTFOLIO", "LSCP_CPSAT_SHARE",
           "LSCP_SCIP_PARAMS"]

#: CP-SAT for equal-cost covers: the core search alone, one worker, trying the objective's literals in reverse
#: order. Its plan comes from the row-weighting search before it (``siting.heuristics.rwls``, the warm start), so the
#: portfolio's plan-finding workers are not needed, and they took the core search's CPU (module notes: the 20k
#: spopt_compare cover's seeds 0 / 1 / 2 proven in 14 / 20 / 31 s at load 5; 8,000 x 800: 4.1 against 12.3 s with
#: core + max_lp + one more worker; 5,000 x 500: 1.3 against 2.0 s). One worker is also deterministic.
LSCP_CPSAT_PARAMS: dict[str, Any] = {"subsolvers": ["core"], "num_workers": 1, "max_sat_reverse_assumption_order": True}
#: ... and for the CP-SAT stage a user asks for on unequal costs (scaled to integers): the core and max_lp workers
#: and one more for CP-SAT's neighbourhood searches, since the core search alone has no bound on weighted covers
#: (scp51: 274 / 32 after 60 s). Measured against other sets on 2 cores: all default workers (6: 0.57 s on 5k, 11 s
#: on 8k), core + default_lp + max_lp (0.44 s, 5.5 s), two workers (only one of the two searches runs: scpa2 / scpb1
#: unproven after 60 s)
LSCP_CPSAT_PORTFOLIO: dict[str, Any] = {"subsolvers": ["core", "max_lp"], "num_workers": 3,
                                        "max_sat_reverse_assumption_order": True}
#: ... for this share of the time left; the backend's MIP gets the rest, warm-started with CP-SAT's plan
LSCP_CPSAT_SHARE = 0.8
#: ... on covers of at most this many sites + nonzeros (measured up to a presolved 31,605 x 9,623 cover with 611k
#: nonzeros: 780 / 512 after 60 s, 0.55 GB for the whole process, where HiGHS had not finished its root LP)
LSCP_CPSAT_MAX_ENTRIES = 2_000_000
#: ... and, on covers OR-Tools solves in a child process (CHILD_MIN_ENTRIES), only when its share is at least this
#: long: the child's start-up took the whole of a 1.6 s stage on a 40,000 x 4,000 cover (no plan, no bound)
LSCP_CPSAT_CHILD_MIN_S = 3.0
#: costs are scaled by the first of these that makes them integral (yuan, jiao, fen, a tenth of a fen)
COST_SCALES = (1.0, 10.0, 100.0, 1000.0)
#: ... and the scaled total must stay exact in a double and far inside CP-SAT's int64 objective
MAX_SCALED_TOTAL = 2.0 ** 50
#: SCIP (OR-Tools) options for the LSCP MIP: pseudo-cost branching instead of SCIP's default reliability branching,
#: whose strong-branching LPs cost more than they save on covering (presolved spopt_compare 5k: 1.83 -> 1.51 s;
#: 8,000 x 800: proven in 23 s instead of 42 s)
LSCP_SCIP_PARAMS: dict[str, int] = {"branching/pscost/priority": 100_000}
#: Covers with unequal costs first get SCIP without cutting planes for this share of the time left, this many
#: seconds without a limit (OR-Library scpa2 0.74 s, scpb1 0.95 s against HiGHS's 2.8 / 3.7 s) ...
LSCP_QUICK_SHARE = 0.05
LSCP_QUICK_S = 3.0
#: ... only below this many sites + nonzeros: larger covers need cuts (8,000 x 800, 6k nonzeros: no proof in 60 s
#: without them); from 20,000 entries OR-Tools runs in a child process whose start-up alone outlasts the stage
LSCP_QUICK_MAX_ENTRIES = 20_000


def _whole(x: np.ndarray | float) -> np.ndarray:
    """True where ``x`` is an integer to within a few float steps.

    123.45 * 3500 = 432075.00000000006 is the integer it was meant to be, while 80000000.416 yuan is not a whole
    number of fen (a relative 1e-9 would call it one, and would round a budget of 5e11 + 0.6 fen up to 5e11 + 1).
    """
    x = np.asarray(x, dtype=np.float64)
    return np.abs(x - np.round(x)) <= np.maximum(1e-9, 4 * np.spacing(np.abs(x)))


def _free(problem: CoverageProblem) -> np.ndarray:
    return ~problem.fixed_open & ~problem.fixed_closed


def equal_costs(problem: CoverageProblem) -> bool:
    """True when every site the MIP decides on (neither required nor excluded) costs the same positive amount."""
    cost = np.asarray(problem.site_cost, dtype=np.float64)[_free(problem)]
    return bool(cost.size) and bool(np.isfinite(cost[0])) and cost[0] > 0 and bool(np.all(cost == cost[0]))


def integral_cost_scale(problem: CoverageProblem) -> float | None:
    """A factor that makes the cost of every site the MIP decides on an integer, or None.

    Equal costs ``c`` scale by ``1 / c`` (every site costs 1); others by the smallest of :data:`COST_SCALES` that
    works. Required and excluded sites do not count (:func:`_scaled` gives them cost 0), and the budget need not be
    integral: with integer costs ``sum c_j x_j <= B`` is ``sum c_j x_j <= floor(B)``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from siting.problem import CoverageProblem, ModelType
    >>> def costs(c):
    ...     n = len(c)
    ...     return CoverageProblem(ModelType.LSCP, sp.csr_matrix(np.ones((1, n), bool)), np.ones(1), np.array(c),
    ...                            np.zeros(n, bool), np.zeros(n, bool), np.ones(n, bool))
    >>> integral_cost_scale(costs([3.0, 12.0])), integral_cost_scale(costs([1.25, 3.5])), integral_cost_scale(costs([1 / 3, 1]))
    (1.0, 100.0, None)
    >>> integral_cost_scale(costs([2.5, 2.5]))
    0.4
    """
    cost = np.asarray(problem.site_cost, dtype=np.float64)[_free(problem)]
    if cost.size == 0 or not np.all(np.isfinite(cost)):
        return None
    if equal_costs(problem):
        scale = 1.0 / float(cost[0])
        return scale if math.isfinite(scale) else None   # a cost below 1 / max double: no such scale
    for scale in COST_SCALES:
        scaled = cost * scale
        if float(np.abs(scaled).sum()) >= MAX_SCALED_TOTAL:
            return None
        if np.all(_whole(scaled)):
            return scale
    return None


def _fixed_cost(problem: CoverageProblem) -> float:
    return float(problem.site_cost[problem.fixed_open].sum())


def _scaled(problem: CoverageProblem, scale: float) -> CoverageProblem:
    """``problem`` with the free sites' costs times ``scale`` (integers), the others 0, the budget to match."""
    cost = np.where(_free(problem), np.round(problem.site_cost * scale), 0.0)
    budget = problem.budget
    if budget is not None and math.isfinite(budget):
        b = (budget - _fixed_cost(problem)) * scale
        # above the dearest plan (below the cheapest) a budget is the same constraint as that plan's cost + 1 (- 1),
        # and CP-SAT refuses a huge bound as an invalid model (budget 1e25 on costs of 1: MODEL_INVALID)
        b = min(max(b, float(np.minimum(cost, 0.0).sum()) - 1.0), float(np.maximum(cost, 0.0).sum()) + 1.0)
        budget = float(np.round(b)) if _whole(b) else float(math.floor(b))
    return problem.with_(site_cost=cost, budget=budget)


def _with_ortools(options: SolveOptions, entries: dict[str, Any], time_limit_s: float | None) -> SolveOptions:
    return replace(options, time_limit_s=time_limit_s, backend_options={**options.backend_options, "ortools": entries})


def _cp_sat_stage(problem: CoverageProblem, scale: float, ortools: str | Backend, options: SolveOptions,
                  time_limit_s: float | None, warm: np.ndarray | None, entries: Mapping[str, Any]) -> CoverageOutcome:
    """CP-SAT (``entries``: the OR-Tools table) on ``problem`` with costs times ``scale``, answered in its units."""
    entries = dict(entries)
    params = entries.get("cp_sat_params")
    if options.threads is not None and isinstance(params, Mapping):   # the user's threads are CP-SAT's workers
        entries["cp_sat_params"] = {k: v for k, v in params.items() if k != "num_workers"}
    out = solve_exact(_scaled(problem, scale), backend=ortools, warm_start=warm,
                      options=_with_ortools(options, entries, time_limit_s))
    value = None if out.open_sites is None else problem.value_of(out.open_sites)
    bound = None if out.bound is None else out.bound / scale + _fixed_cost(problem)
    return replace(out, objective=value, bound=bound, method=_method(params))


def _method(params: Any) -> str:
    """``"cp_sat (core)"``: the engine and the workers the parameters name."""
    workers = params.get("subsolvers") if isinstance(params, Mapping) else None
    return f"cp_sat ({' + '.join(map(str, workers))})" if isinstance(workers, list) and workers else "cp_sat"


def _uses(engine: str, backend: str | Backend, options: SolveOptions) -> bool:
    """True when ``backend`` is OR-Tools on ``engine`` (SCIP unless the options name another)."""
    name = backend if isinstance(backend, str) else backend.name
    return name == "ortools" and str(options.for_backend("ortools").get("solver", "scip")).lower() == engine


def _has_ortools() -> bool:
    from ..backends.registry import get_backend

    try:
        return get_backend("ortools").available()
    except Exception:   # an unknown or broken optional backend: no OR-Tools stage
        return False


def lscp_stages(problem: CoverageProblem, backend: str | Backend, options: SolveOptions, warm: np.ndarray | None,
                stats: dict[str, Any]) -> CoverageOutcome:
    """The LSCP MIP: a first stage on OR-Tools (module notes), then the backend's MIP on the time left.

    The first stage ends the MIP when it proves the optimum or that nothing beats the incumbent; otherwise its plan
    starts the backend's MIP and the tighter of the two bounds (both bound the same problem) is kept. With
    ``backend="ortools"`` the user's engine settings decide: ``solver = "cp_sat"`` is one CP-SAT stage with
    :data:`LSCP_CPSAT_PARAMS` under the user's ``cp_sat_params``; on SCIP the stages use :data:`LSCP_SCIP_PARAMS`
    under the user's ``scip_params``, user's ``scip_params`` make both stages SCIP's, and user's ``cuts`` make it
    one SCIP stage.
    """
    user = dict(options.for_backend("ortools"))
    limit = options.time_limit_s
    scale = integral_cost_scale(problem)
    if _uses("cp_sat", backend, options):
        own = user.get("cp_sat_params")
        own = {} if own is None else own
        if isinstance(own, Mapping) and own:
            sat_parameters(dict(own))   # a bad name is reported among the user's names, not merged with ours
        ours = LSCP_CPSAT_PARAMS if equal_costs(problem) else LSCP_CPSAT_PORTFOLIO
        params = {**ours, **own} if isinstance(own, Mapping) else own
        entries = {**user, "cp_sat_params": params}
        if scale is None:   # MathOpt's own scaling of the costs, as the user asked for CP-SAT
            return solve_exact(problem, backend=backend, warm_start=warm, options=_with_ortools(options, entries, limit))
        return _cp_sat_stage(problem, scale, backend, options, limit, warm, entries)
    own = user.get("scip_params")
    own = {} if own is None else own
    on_scip = _uses("scip", backend, options)
    # anything but a table goes to the backend as given, whose one-line SolverError names it
    scip = {**user, "scip_params": {**LSCP_SCIP_PARAMS, **own} if isinstance(own, Mapping) else own} if on_scip \
        else {"solver": "scip", "scip_params": dict(LSCP_SCIP_PARAMS)}
    main = _with_ortools(options, scip, limit) if on_scip else options
    ortools = backend if on_scip else "ortools"
    if (on_scip and "cuts" in user) or not (on_scip or _has_ortools()):
        return solve_exact(problem, backend=backend, options=main, warm_start=warm)
    # who set SCIP's (or CP-SAT's) parameters for SCIP gets SCIP, and its errors if they are wrong
    configured = on_scip and any(key in user for key in ("scip_params", "cp_sat_params"))
    size = problem.n_sites + problem.coverage.nnz
    cp_sat_limit = None if limit is None else max(LSCP_CPSAT_SHARE * limit, MIN_MIP_TIME_S)
    child_too_short = size >= CHILD_MIN_ENTRIES and cp_sat_limit is not None and cp_sat_limit < LSCP_CPSAT_CHILD_MIN_S
    if scale is not None and equal_costs(problem) and not configured and size <= LSCP_CPSAT_MAX_ENTRIES \
            and not child_too_short:
        try:
            first = _cp_sat_stage(problem, scale, ortools, options, cp_sat_limit, warm,
                                  {"solver": "cp_sat", "cp_sat_params": dict(LSCP_CPSAT_PARAMS)})
        except SolverError as exc:
            # the stage is siting's choice, not the user's: its failure leaves the backend's MIP the whole time
            stats["mip_quick"] = {"termination": "error", "method": _method(LSCP_CPSAT_PARAMS), "message": str(exc)}
            return solve_exact(problem, backend=backend, options=main, warm_start=warm)
    elif size < LSCP_QUICK_MAX_ENTRIES:
        first_limit = LSCP_QUICK_S if limit is None else max(LSCP_QUICK_SHARE * limit, MIN_MIP_TIME_S)
        first = solve_exact(problem, backend=ortools, warm_start=warm,
                            options=_with_ortools(options, {**scip, "cuts": "off"}, first_limit))
        first = replace(first, method="scip without cuts")
    else:
        return solve_exact(problem, backend=backend, options=main, warm_start=warm)
    stats["mip_quick"] = {"termination": str(first.termination), "objective": first.objective,
                          "bound": first.bound, "seconds": first.seconds, "method": first.method}
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
                   seconds=first.seconds + second.seconds, method=f"{first.method}, then {second.method}")
