"""The one list of models. Everything else (scenario keys, CLI help, ``siting.solve``, README) reads it.

Adding a model: write one module that defines ``MODEL`` (see :mod:`siting.models.base`) and add one line
below.

Examples
--------
>>> "pmedian" in MODELS and get_model("PMedian").name
'pmedian'
"""
from __future__ import annotations

import difflib
from dataclasses import MISSING
from typing import Any

from ..errors import InputError
from . import backup, capacitated, cflp, coverage, equity, gradual, multiservice, pcenter, pmedian
from .base import Model

_MISSING: Any = MISSING

__all__ = ["MODELS", "get_model", "model_names", "models_table", "describe_model", "model_keys_markdown"]

MODELS: dict[str, Model[Any]] = {m.name: m for m in (
    coverage.MCLP, coverage.LSCP, coverage.PARTIAL,
    pmedian.MODEL,
    pcenter.MODEL,
    backup.MODEL,
    gradual.MODEL,
    capacitated.MODEL,
    cflp.MODEL,
    equity.MODEL,
    multiservice.MODEL,
)}


def model_names() -> tuple[str, ...]:
    """The registered model names, in registry order (``mclp``, ``lscp``, ...)."""
    return tuple(MODELS)


def get_model(name: str | Model[Any]) -> Model[Any]:
    """The registered model called ``name`` (case-insensitive), or a one-line error with a suggestion."""
    if isinstance(name, Model):
        return name
    if not isinstance(name, str):
        raise InputError(f"parameter 'model': expected a model name, got {name!r}")
    key = name.strip().lower()
    if key not in MODELS:
        guess = difflib.get_close_matches(key, list(MODELS), n=1)
        hint = f" (did you mean '{guess[0]}'?)" if guess else ""
        raise InputError(f"parameter 'model': unknown model {name!r}{hint}; known: {', '.join(MODELS)}")
    return MODELS[key]


def _default_text(value: Any) -> str:
    """A default as a TOML user reads it (``true``, ``"population"``, none)."""
    if value is _MISSING:
        return "required"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)


def describe_model(model: Model[Any]) -> list[tuple[str, str, str]]:
    """``(scenario key, default, doc)`` for each scenario key of ``model`` (CLI help, ``siting models``)."""
    rows = []
    for f in model.params.param_fields():
        if not f.metadata.get("scenario", True):
            continue
        rows.append((f.metadata.get("key") or f.name, _default_text(f.default), f.metadata.get("doc", "")))
    return rows


def models_table() -> str:
    """The README's models table, generated from the registry (a test keeps README and registry equal)."""
    lines = ["| `[model] type` | what it solves | scenario keys | doc |", "|---|---|---|---|"]
    for name, model in MODELS.items():
        keys = ", ".join(f"`{key}`" + ("*" if default == "required" else "") for key, default, _ in describe_model(model))
        lines.append(f"| `{name}` | {model.summary} | {keys} | [models/{name}.md](models/{name}.md) |")
    return "\n".join(lines)


def model_keys_markdown() -> str:
    """The ``[model]`` keys of every type, one table per type (docs/INPUTS.md embeds it; a test keeps it equal)."""
    parts = []
    for name, model in MODELS.items():
        rows = [f"#### `type = \"{name}\"`", "", model.summary, "", "| key | default | meaning |", "|---|---|---|"]
        rows += [f"| `{key}` | {default} | {doc} |" for key, default, doc in describe_model(model)]
        parts.append("\n".join(rows))
    return "\n\n".join(parts)
