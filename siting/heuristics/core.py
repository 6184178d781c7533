r"""The core problem of an MCLP: the sites an LP solution leaves undecided, for a small MIP that improves a plan.

After the volume algorithm (:mod:`siting.heuristics.volume`) the averaged primal :math:`\bar x` is close to an
LP solution: most sites sit at 0 or 1 and a few hundred are fractional. The *core* keeps those free and fixes the
rest — open where :math:`\bar x_j \ge 1 - \epsilon` and the plan agrees, closed where :math:`\bar x_j \le \epsilon`
and the plan agrees; every site on which the plan and :math:`\bar x` disagree stays free, so the plan itself is
feasible for the core. Presolve then absorbs the fixed-open sites and their rows, and the MIP that is left is
small (60,000 x 5,000 city, 541,940 nonzeros: 1,047-1,625 rows x 196-259 sites; measured). Its optimum is a
plan of the original problem at least as good as the plan — a heuristic, never a bound (the fixing is not
proven).

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.problem import CoverageProblem, ModelType
>>> a = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool))
>>> p = CoverageProblem(ModelType.MCLP, a, np.array([5.0, 1.0, 1.0, 4.0]), np.ones(3), np.zeros(3, bool),
...                     np.zeros(3, bool), np.ones(3, bool), max_sites=2, total_weight=11.0)
>>> core = core_problem(p, np.array([1.0, 0.0, 0.5]), np.array([True, False, False]))
>>> core.fixed_open.tolist(), core.fixed_closed.tolist()
([True, False, False], [False, True, False])
"""
from __future__ import annotations

import numpy as np

from ..problem import CoverageProblem

__all__ = ["core_problem", "CORE_EPS"]

#: a site whose averaged primal is within this of 0 or 1 is taken as decided by the LP
CORE_EPS = 0.01


def core_problem(problem: CoverageProblem, primal: np.ndarray, plan: np.ndarray, *, eps: float = CORE_EPS
                 ) -> CoverageProblem:
    """``problem`` with the sites ``primal`` and ``plan`` agree on fixed (``site_origin`` = positions in it).

    Parameters
    ----------
    problem : CoverageProblem (MCLP)
    primal : (n_sites,) an (approximate) LP solution in ``[0, 1]``
    plan : (n_sites,) bool, a feasible plan; it stays feasible for the returned problem
    eps : distance to 0 / 1 under which ``primal`` counts as decided
    """
    primal = np.asarray(primal, dtype=np.float64)
    plan = np.asarray(plan, dtype=bool)
    usable = ~problem.fixed_closed & ~problem.fixed_open
    opened = usable & plan & (primal >= 1.0 - eps)
    closed = usable & ~plan & (primal <= eps)
    return problem.with_(fixed_open=problem.fixed_open | opened, fixed_closed=problem.fixed_closed | closed,
                         site_origin=np.arange(problem.n_sites, dtype=np.int64))
