"""Pick and run a solution strategy for a coverage problem: exact MIP, hybrid, or heuristic with bounds.

Every strategy runs :func:`siting.presolve.presolve` first, solves the reduced problem, maps the plan back
to the original site space and re-values it there. The result always carries ``bound`` and
``stats["gap"]`` (:func:`siting.status.relative_gap`, the project's one gap). ``options.time_limit_s`` caps the
whole call: presolve, heuristics, the MIP and the mapping back all come out of it.

=========== ======================================================================================
strategy    what runs on the reduced problem
=========== ======================================================================================
exact       the MIP of :func:`solve_exact` (the program of :func:`siting.formulations.coverage.build_program`)
hybrid      greedy + local search, Lagrangian bound and repairs, then the MIP warm-started with the
            best plan under the remaining time limit; bound = tightest of the MIP and Lagrangian bounds
            (MCLP / LSCP: the MIP of the problem after reduced-cost fixing against the best plan)
heuristic   greedy + local search + Lagrangian bound and repairs; no MIP of the whole problem (MCLP: the
            volume bound, then a MIP of the core problem the LP leaves undecided, which only improves the plan)
auto        exact when ``nnz <= EXACT_MAX_NNZ`` and ``n_sites <= EXACT_MAX_SITES`` (preceded by greedy, local
            search and 200 Lagrangian steps: when they already certify the gap the MIP is skipped, otherwise
            they warm-start it); hybrid when ``nnz <= HYBRID_MAX_NNZ``; heuristic above (presolved sizes)
=========== ======================================================================================

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.problem import CoverageProblem, ModelType
>>> a = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 1]], dtype=bool))
>>> p = CoverageProblem(ModelType.MCLP, a, np.array([4.0, 1.0, 3.0]), np.ones(2), np.zeros(2, bool),
...                     np.zeros(2, bool), np.ones(2, bool), max_sites=1, total_weight=8.0)
>>> out = solve_coverage(p, strategy="heuristic")
>>> out.objective, out.bound, out.stats["strategy"]
(5.0, 5.0, 'heuristic')
"""
from __future__ import annotations

# the package is split by phase (what each module holds is in its docstring); every name the single module
# ``siting/strategy.py`` had stays importable from here, the private ones for code and notes that name them
from .best import _Best as _Best
from .best import _better as _better
from .best import _certified as _certified
from .best import _tighter as _tighter
from .cheapest import MIN_SECONDARY_S as MIN_SECONDARY_S
from .cheapest import _cheapest_phase as _cheapest_phase
from .cheapest import _lexi_key as _lexi_key
from .choice import EXACT_MAX_NNZ, EXACT_MAX_SITES, HYBRID_MAX_NNZ, Strategy, choose_strategy
from .choice import HYBRID_DEFAULT_TIME_S as HYBRID_DEFAULT_TIME_S
from .clock import MIN_MIP_TIME_S as MIN_MIP_TIME_S
from .clock import MIP_TIME_SHARE as MIP_TIME_SHARE
from .clock import _Clock as _Clock
from .cover import DIVES as DIVES
from .cover import DIVES_WITHOUT_LIMIT as DIVES_WITHOUT_LIMIT
from .cover import LP_UNLIMITED_MAX_NNZ as LP_UNLIMITED_MAX_NNZ
from .cover import POLISH_STEP as POLISH_STEP
from .cover import POLISH_STEPS as POLISH_STEPS
from .cover import _cover_phase as _cover_phase
from .cover import _equal_costs as _equal_costs
from .exact import solve_exact
from .heuristic import _heuristic_phase as _heuristic_phase
from .mclp import CORE_DEFAULT_TIME_S as CORE_DEFAULT_TIME_S
from .mclp import DUAL_SHARE as DUAL_SHARE
from .mclp import _core_phase as _core_phase
from .mclp import _volume_phase as _volume_phase
from .mip import LSCP_HIGHS_OPTIONS as LSCP_HIGHS_OPTIONS
from .mip import LSCP_MIP_TIME_SHARE as LSCP_MIP_TIME_SHARE
from .mip import LSCP_SMALL_NNZ as LSCP_SMALL_NNZ
from .mip import _mip_phase as _mip_phase
from .orchestrator import _finish as _finish
from .orchestrator import _presolve as _presolve
from .orchestrator import _trivial as _trivial
from .orchestrator import solve_coverage

__all__ = ["Strategy", "choose_strategy", "solve_coverage", "solve_exact", "EXACT_MAX_NNZ", "EXACT_MAX_SITES",
           "HYBRID_MAX_NNZ"]
