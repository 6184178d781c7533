"""``siting.solve(instance, model=NAME, **params)``: any registered model, validated like the CLI.

Examples
--------
>>> import pandas as pd
>>> from siting.data import instance_from_frames
>>> demand = pd.DataFrame({"id": ["a", "b", "c"], "population": [50, 30, 40], "x": [0, 1, 2], "y": [0, 0, 0]})
>>> sites = pd.DataFrame({"id": ["s1", "s2"], "cost": [10.0, 10.0], "x": [0, 2], "y": [0, 0]})
>>> times = pd.DataFrame({"demand_id": ["a", "b", "b", "c"], "candidate_id": ["s1", "s1", "s2", "s2"],
...                       "minutes": [1.0, 9.0, 4.0, 2.0]})
>>> inst = instance_from_frames(demand, sites, times)
>>> res = solve(inst, model="mclp", threshold_min=5, budget=10)
>>> res.status.value, res.selected, res.covered_weight
('optimal', ('s2',), 70.0)
>>> solve(inst, model="mclp", threshold_min=5, budget=-1)
Traceback (most recent call last):
...
siting.models.params.ParamError: parameter 'budget': must be at least 0, got -1
"""
from __future__ import annotations

from typing import Any

from .data.instance import Instance
from .models.base import Model
from .models.driver import solve_model
from .models.registry import get_model
from .options import SolveOptions
from .result import Result

__all__ = ["solve"]


def solve(instance: Instance, model: str | Model[Any] = "mclp", *, backend: str = "auto", strategy: str = "auto",
          options: SolveOptions | None = None, **params: Any) -> Result:
    """Solve a registered model on ``instance`` and return a verified :class:`~siting.result.Result`.

    Parameters
    ----------
    instance : Instance
    model : a name from :data:`siting.models.MODELS` (``mclp``, ``lscp``, ``partial``, ``pmedian``, ...)
    backend : ``auto`` or a backend name (``highs``, ``cbc``, ``scipy``, ``ortools``)
    strategy : ``auto``, ``exact``, ``hybrid`` or ``heuristic`` (coverage models)
    options : SolveOptions; ``time_limit_s`` caps the whole call
    **params : the fields of the model's parameter dataclass (``threshold_min``, ``budget``, ``p``, ...)

    Raises
    ------
    ParamError
        one line naming an unknown, missing or invalid parameter, backend, strategy or option.
    """
    spec = get_model(model)
    return solve_model(spec, instance, spec.params.from_kwargs(params), backend=backend, strategy=strategy,
                       options=options)
