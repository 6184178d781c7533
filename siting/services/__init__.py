"""Service catalog (the life-circle basket) and the candidates' ``services`` column.

The multi-service model itself is :mod:`siting.models.multiservice`; ``solve_multiservice`` is re-exported
here for the 0.1 import path (loaded on first use: the model module imports the catalog from here).
"""
from __future__ import annotations

from typing import Any

from .catalog import CATEGORIES, DEFAULT_SPEED_GROUP, TIERS, Catalog, Service, load_catalog, service_masks

__all__ = ["CATEGORIES", "DEFAULT_SPEED_GROUP", "TIERS", "Catalog", "Service", "load_catalog", "service_masks",
           "solve_multiservice"]


def __getattr__(name: str) -> Any:
    if name == "solve_multiservice":
        from ..models.multiservice import solve_multiservice

        return solve_multiservice
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
