"""Look up solver backends by name without importing native libraries until a solve.

Example
-------
>>> from siting.backends import available_backends, get_backend
>>> "scipy" in available_backends()
True
>>> get_backend("highs").name
'highs'
"""
from __future__ import annotations

import importlib

from ..errors import BackendUnavailableError
from .base import Backend

__all__ = ["get_backend", "available_backends", "BACKENDS"]

#: name -> (module under siting.backends, class name), in order of preference.
BACKENDS: dict[str, tuple[str, str]] = {
    "highs": ("highs", "HighsBackend"),
    "scipy": ("scipy_milp", "ScipyBackend"),
    "cbc": ("cbc", "CbcBackend"),
    "ortools": ("ortools_backend", "OrtoolsBackend"),
}

_instances: dict[str, Backend] = {}


def _load(name: str) -> Backend | None:
    """The backend instance for ``name`` or None if its adapter module is missing.

    Adapter modules import their solver lazily, so this import is cheap.
    """
    if name in _instances:
        return _instances[name]
    module_name, class_name = BACKENDS[name]
    try:
        module = importlib.import_module(f"{__package__}.{module_name}")
    except ImportError:
        return None
    backend = getattr(module, class_name)()
    _instances[name] = backend
    return backend


def available_backends() -> list[str]:
    """Names of the backends whose solver package is importable here, in order of preference."""
    names = []
    for name in BACKENDS:
        backend = _load(name)
        if backend is not None and backend.available():
            names.append(name)
    return names


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (case-insensitive).

    Raises
    ------
    BackendUnavailableError
        if the name is unknown or its solver is not installed; the message lists the available names.
    """
    key = str(name).strip().lower()
    if key not in BACKENDS:
        raise BackendUnavailableError(
            f"unknown solver backend {name!r}; available: {', '.join(available_backends()) or 'none'}"
        )
    backend = _load(key)
    if backend is None or not backend.available():
        raise BackendUnavailableError(
            f"solver backend {key!r} is not installed here; available: {', '.join(available_backends()) or 'none'}"
        )
    return backend
