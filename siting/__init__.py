"""siting: budgeted siting of neighbourhood service facilities in idle buildings.

Data -> coverage structure -> presolve -> formulation -> backend -> verified result.
"""
from .backends.base import Termination
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
from .options import SolveOptions
from .problem import ModelType
from .result import Result, Status
from .solve import solve

__version__ = "0.1.0"

__all__ = [
    "solve",
    "SolveOptions",
    "ModelType",
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
