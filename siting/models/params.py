"""Model parameters: frozen dataclasses that validate themselves, the one place every entry point checks.

A model's parameters are a ``kw_only`` frozen dataclass derived from :class:`ModelParams`; each field is
declared with :func:`param`, which records its check, its documentation and the scenario key it is read
from (``threshold_min`` is ``threshold_minutes`` in a TOML file). Construction runs every check, so the
Python API (``siting.solve(instance, model="mclp", budget=-1)``), the scenario loader and the CLI all
reject the same values with the same one-line :class:`ParamError`.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, kw_only=True)
... class Toy(ModelParams):
...     budget: float | None = param(None, check=number(gt=0), doc="cost limit")
>>> Toy(budget=5).budget
5.0
>>> Toy(budget=-1)
Traceback (most recent call last):
...
siting.models.params.ParamError: parameter 'budget': must be greater than 0, got -1
"""
from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from ..errors import InputError
from ..rules import Limits

__all__ = [
    "ModelParams", "ParamError", "param", "number", "integer", "text", "boolean", "choice", "path", "text_list",
    "anything", "Check",
]

#: a check takes the raw value and returns it coerced, or raises ValueError with the problem
Check = Callable[[Any], Any]


class ParamError(InputError):
    """A model parameter is missing, unknown or out of range; names the parameter."""

    def __init__(self, problem: str, *, param: str, model: str | None = None) -> None:
        self.param = param
        self.model = model
        super().__init__(f"parameter '{param}': {problem}")


def number(*, gt: float | None = None, ge: float | None = None, le: float | None = None) -> Check:
    """A finite real number (bool is not a number here) within the given bounds."""

    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(f"expected a number, got {v!r}")
        f = float(v)
        if not math.isfinite(f):
            raise ValueError(f"expected a finite number, got {v!r}")
        if gt is not None and not f > gt:
            raise ValueError(f"must be greater than {gt:g}, got {v!r}")
        if ge is not None and not f >= ge:
            raise ValueError(f"must be at least {ge:g}, got {v!r}")
        if le is not None and not f <= le:
            raise ValueError(f"must be at most {le:g}, got {v!r}")
        return f
    return check


def integer(*, ge: int | None = None) -> Check:
    """A whole number (``3.0`` is accepted as 3, ``1.5`` and bools are not)."""

    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(f"expected a whole number, got {v!r}")
        if isinstance(v, numbers.Integral):
            i = int(v)
        elif math.isfinite(float(v)) and float(v).is_integer():
            i = int(v)
        else:
            raise ValueError(f"expected a whole number, got {v!r}")
        if ge is not None and i < ge:
            raise ValueError(f"must be at least {ge}, got {i}")
        return i
    return check


def text() -> Check:
    """A non-empty text value, stripped."""

    def check(v: Any) -> str:
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"expected a text value, got {v!r}")
        return v.strip()
    return check


def choice(options: tuple[str, ...]) -> Check:
    """One of ``options`` (case-insensitive), with a "did you mean" hint."""

    def check(v: Any) -> str:
        if not isinstance(v, str):
            raise ValueError(f"expected one of {', '.join(options)}, got {v!r}")
        low = v.strip().lower()
        if low not in options:
            guess = difflib.get_close_matches(low, options, n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            raise ValueError(f"unknown value {v!r}{hint}; allowed: {', '.join(options)}")
        return low
    return check


def boolean() -> Check:
    """``true`` / ``false`` (numbers are not booleans here)."""

    def check(v: Any) -> bool:
        if not isinstance(v, (bool, np.bool_)):
            raise ValueError(f"expected true or false, got {v!r}")
        return bool(v)
    return check


def path() -> Check:
    """A file path (existence is checked where the path is resolved: the scenario loader or the model)."""

    def check(v: Any) -> Path:
        if not isinstance(v, (str, Path)) or not str(v).strip():
            raise ValueError(f"expected a file path, got {v!r}")
        return Path(v)
    return check


def text_list() -> Check:
    """A non-empty list of text values."""

    def check(v: Any) -> tuple[str, ...]:
        if isinstance(v, str) or not isinstance(v, (list, tuple)) or not v:
            raise ValueError(f"expected a list of names, got {v!r}")
        out = tuple(text()(x) for x in v)
        if len(set(out)) != len(out):
            raise ValueError(f"names repeat in {list(out)}")
        return out
    return check


def anything() -> Check:
    """No check here: the model validates the value against the instance (arrays, catalogs)."""
    return lambda v: v


_REQUIRED: Any = MISSING


def param(default: Any = _REQUIRED, *, check: Check, doc: str, key: str | None = None,
          scenario: bool = True, is_path: bool = False) -> Any:
    """Declare a parameter field.

    Parameters
    ----------
    default : the default; omitted = required
    check : validates and coerces the value (see :func:`number`, :func:`integer`, ...); None skips it
    doc : one line for the CLI help, README and error messages (units in words)
    key : its scenario ``[model]`` key when it differs from the field name (``threshold_minutes``)
    scenario : False for Python-only values (arrays, catalog objects) that no TOML key sets
    is_path : the scenario loader resolves it relative to the TOML file
    """
    meta = {"check": check, "doc": doc, "key": key, "scenario": scenario, "is_path": is_path}
    if default is _REQUIRED:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, kw_only=True)
class ModelParams:
    """Base of every model's parameters: checks each field on construction, then :meth:`check_together`."""

    model_name: ClassVar[str] = "model"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.default is None:
                continue                      # optional and not given
            check = f.metadata.get("check")
            if check is None:
                continue
            try:
                coerced = check(value)
            except ValueError as exc:
                raise ParamError(str(exc), param=f.name, model=self.model_name) from None
            # frozen dataclass: coercion (3.0 -> 3, "MCLP" -> "mclp") happens once, here, before anyone reads it
            object.__setattr__(self, f.name, coerced)
        self.check_together()

    def check_together(self) -> None:
        """Cross-field checks (a model overrides this); raise :class:`ParamError` naming one field."""

    def require_a_limit(self) -> None:
        """Maximising models need ``budget`` or ``max_sites``: without a limit every usable site opens."""
        if getattr(self, "budget", None) is None and getattr(self, "max_sites", None) is None:
            raise ParamError(f"{self.model_name} maximises coverage and needs a limit: give budget, max_sites or "
                             "both (without one every usable site opens)", param="budget", model=self.model_name)

    def limits(self) -> Limits:
        """The plan limits these parameters set (``budget`` and ``max_sites`` when the model has them)."""
        return Limits(budget=getattr(self, "budget", None), max_sites=getattr(self, "max_sites", None))

    def thresholds_min(self) -> dict[str, float]:
        """The walking-time thresholds these parameters use, keyed by their scenario key (cutoff checks)."""
        out: dict[str, float] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("threshold_min") and value is not None:
                out[f.metadata.get("key") or f.name] = float(value)
        return out

    # ----------------------------------------------------------------- construction from outside
    @classmethod
    def param_fields(cls) -> tuple[Field[Any], ...]:
        """The dataclass fields of these parameters, in declaration order."""
        return tuple(fields(cls))

    @classmethod
    def scenario_keys(cls) -> dict[str, str]:
        """``{scenario key: field name}`` for the fields a TOML ``[model]`` table may set."""
        return {(f.metadata.get("key") or f.name): f.name for f in fields(cls) if f.metadata.get("scenario", True)}

    @classmethod
    def required(cls) -> tuple[str, ...]:
        """Names of the fields without a default (a solve must give them)."""
        return tuple(f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING)

    @classmethod
    def from_kwargs(cls, values: Mapping[str, Any]) -> Self:
        """Build from Python keyword arguments (field names); unknown or missing names are one-line errors."""
        names = [f.name for f in fields(cls)]
        for name in values:
            if name not in names:
                guess = difflib.get_close_matches(name, names, n=1)
                hint = f" (did you mean '{guess[0]}'?)" if guess else ""
                raise ParamError(f"unknown parameter for model '{cls.model_name}'{hint}; accepted: "
                                 f"{', '.join(names)}", param=name, model=cls.model_name)
        for name in cls.required():
            if values.get(name) is None:
                raise ParamError(f"required by model '{cls.model_name}'", param=name, model=cls.model_name)
        return cls(**values)

    def described(self) -> dict[str, Any]:
        """The parameters as JSON-ready values (for ``solution.json``)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if not f.metadata.get("scenario", True):
                continue
            out[f.metadata.get("key") or f.name] = _json_ready(getattr(self, f.name))
        return out


def _json_ready(value: Any) -> Any:
    """Paths as text, parameter records (phases, budget groups) as tables."""
    if isinstance(value, Path):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _json_ready(v) for k, v in asdict(value).items()}
    if isinstance(value, tuple) and value and all(is_dataclass(v) for v in value):
        return [_json_ready(v) for v in value]
    return value


def scenario_value_error(cls: type[ModelParams], exc: ParamError) -> str:
    """The scenario key of the field a :class:`ParamError` names (for ``model.<key>`` messages)."""
    by_field = {v: k for k, v in cls.scenario_keys().items()}
    return by_field.get(exc.param, exc.param)


# ---------------------------------------------------------------------------------- shared fields
def budget_param(default: Any = None, *, doc: str = "limit on what the plan pays for conversions") -> Any:
    """The ``budget`` field: a number >= 0 (yuan), ``None`` for no budget row."""
    # 0 is a real question ("what do the existing facilities alone reach?"), e.g. the first point of a sweep
    return param(default, check=number(ge=0), doc=doc)


def max_sites_param(default: Any = None) -> Any:
    """The ``max_sites`` field: an integer >= 0, ``None`` for no limit on new sites."""
    return param(default, check=integer(ge=0), doc="limit on new sites (existing sites are free and not counted)")


def weight_column_param() -> Any:
    """The ``weight_column`` field: the demand column that weights the objective (default ``population``)."""
    return param("population", check=text(), doc="demand column that weights the objective (population or a group)")


def threshold_param(*, doc: str = "a demand point is covered by an open site within this many minutes") -> Any:
    """The required ``threshold_min`` field (scenario key ``threshold_minutes``): minutes > 0."""
    return param(check=number(gt=0), key="threshold_minutes", doc=doc)


def speed_group_param() -> Any:
    """The ``speed_group`` field: which speed group's travel table a single-service model walks on."""
    return param(None, check=text(), doc="travel table of this speed group (e.g. elderly); \"default\": the default "
                                         "rows on purpose; required when weight_column names a speed group")


__all__ += ["budget_param", "max_sites_param", "weight_column_param", "threshold_param", "speed_group_param"]
