"""Location models on one contract (:mod:`siting.models.base`), one registry and one driver."""
from __future__ import annotations

from .base import Built, Evaluation, Model, Outcome, Plan, ScenarioInputs, SolveContext
from .driver import solve_model
from .params import ModelParams, ParamError
from .registry import MODELS, get_model, model_names

__all__ = ["MODELS", "get_model", "model_names", "solve_model", "Model", "ModelParams", "ParamError", "Plan",
           "Built", "Evaluation", "Outcome", "SolveContext", "ScenarioInputs"]
