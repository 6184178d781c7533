"""siting: budgeted siting of neighbourhood service facilities in idle buildings.

Every model is registered once (:data:`siting.models.MODELS`) and solved by one driver
(:func:`siting.models.solve_model`): data -> formulation (or a model's own search) -> backend ->
verified result.
"""
from .errors import (
    BackendUnavailableError,
    InfeasibleError,
    InputError,
    NoSolutionError,
    ScenarioError,
    SitingError,
    SolverError,
    VerificationError,
)
from .models import MODELS, ModelParams, ParamError, get_model, solve_model
from .options import SolveOptions
from .result import Result, Status
from .solve import solve
from .status import Termination

__version__ = "0.1.0"

__all__ = [
    "solve",
    "SolveOptions",
    "MODELS",
    "get_model",
    "solve_model",
    "ModelParams",
    "ParamError",
    "Result",
    "Status",
    "Termination",
    "SitingError",
    "InputError",
    "ScenarioError",
    "InfeasibleError",
    "BackendUnavailableError",
    "SolverError",
    "VerificationError",
    "NoSolutionError",
]
