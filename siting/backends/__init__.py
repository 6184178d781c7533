"""Solver backends behind one interface (see :mod:`siting.backends.base`)."""
from __future__ import annotations

from ..interrupt import stop_requested, stopping
from .base import Backend, BackendSolution, Termination
from .registry import available_backends, get_backend

__all__ = ["Backend", "BackendSolution", "Termination", "available_backends", "get_backend", "stop_requested",
           "stopping"]
