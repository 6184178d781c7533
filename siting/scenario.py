"""Scenario files: one TOML file naming the data, the model and the solver settings.

Example (``scenarios/example/mclp.toml``)::

    [data]
    demand = "demand.csv"            # paths are relative to this TOML file
    candidates = "candidates.csv"
    travel_times = "travel_times.csv"

    [model]
    type = "mclp"
    threshold_minutes = 10
    budget = 2500000

    [solver]
    name = "highs"
    time_limit = 60

Every problem is a one-line :class:`~siting.errors.ScenarioError` naming the file and the
key, e.g. ``x.toml: key 'model.budjet': unknown key (did you mean 'budget'?)``.
The ``[network]``, ``[services]``, ``[sweep]`` and ``[output]`` sections are kept as raw
dicts and validated by their owners. All keys are listed in ``docs/INPUTS.md``.
"""
from __future__ import annotations

import copy
import difflib
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .backends.registry import BACKENDS
from .errors import ScenarioError
from .models.driver import STRATEGIES
from .models.params import ModelParams, ParamError, scenario_value_error
from .models.registry import MODELS
from .options import MAX_SEED, SECONDARY_GOALS, SolveOptions

if TYPE_CHECKING:  # the data layer (pandas) loads only when a scenario's tables are read
    from .data.instance import Demand, Instance, Sites

__all__ = [
    "Scenario", "DataConfig", "ModelConfig", "SolverConfig", "load_scenario", "scenario_from_dict", "data_overrides",
    "MODEL_TYPES", "SOLVER_NAMES", "STRATEGIES",
]

#: derived from the registries: a model or backend added there is a scenario value here
MODEL_TYPES = tuple(MODELS)
SOLVER_NAMES = ("auto", *BACKENDS)
RAW_SECTIONS = ("network", "services", "sweep", "output", "report")
TOP_LEVEL_KEYS = ("name", "description")


@dataclass(frozen=True)
class DataConfig:
    """``[data]``: absolute paths of the input tables (``travel_times`` None when a network is given).

    ``crs`` : the CRS plain x/y are in, and the metric CRS degrees are projected to (when projected);
    ``geometry`` : where walks from a building footprint start, ``"representative_point"`` or ``"street"`` (the
    point of the walking network nearest to it; needs ``[network]``); ``columns`` : ``[data.columns]``, your names of
    the columns siting reads (``{"population": "pop"}``; sub-tables ``demand`` / ``candidates`` for one layer).
    """

    demand: Path
    candidates: Path
    travel_times: Path | None = None
    crs: str | None = None
    geometry: str = "representative_point"
    columns: dict[str, Any] = field(default_factory=dict)

    def read_layers(self, *, target: str | None = None) -> tuple[Demand, Sites]:
        """The demand and candidate layers as this section says (CRS, column names), in one metric CRS.

        ``target`` is the metric CRS to project degrees to when ``crs`` is not projected (e.g. the street
        network's). Footprints stay at their representative points: ``geometry = "street"`` is applied with the
        network (:func:`siting.data.move_to_streets`).
        """
        from .data.load import read_layers

        return read_layers(self.demand, self.candidates, crs=self.crs, columns=self.columns, target=target)


@dataclass(frozen=True)
class ModelConfig:
    """``[model]``: the model type and its validated parameter dataclass.

    The keys a type accepts are the scenario keys of its parameter dataclass
    (:meth:`~siting.models.params.ModelParams.scenario_keys`). ``model.budget``, ``model.threshold_minutes``
    and every other scenario key read as attributes: the value, or None when this type has no such key.
    """

    type: str
    params: ModelParams

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_") or key in ("type", "params"):
            raise AttributeError(key)
        name = type(self.params).scenario_keys().get(key)
        return None if name is None else getattr(self.params, name)

    def get(self, key: str) -> Any:
        """The value of scenario key ``key`` (None when not set or not a key of this type)."""
        return self.__getattr__(key)


@dataclass(frozen=True)
class SolverConfig:
    """``[solver]``: backend name, limits and strategy."""

    name: str = "highs"
    time_limit: float | None = None
    mip_gap: float | None = None
    strategy: str = "auto"
    threads: int | None = None
    seed: int = 0
    secondary: str = "min_cost"


# --------------------------------------------------------------------------- value checks
class _Ctx:
    """Where we are: the file shown in messages and the folder relative paths start from."""

    def __init__(self, shown: str, base: Path) -> None:
        self.shown, self.base = shown, base

    def error(self, problem: str, key: str | None = None) -> ScenarioError:
        return ScenarioError(problem, file=self.shown, key=key)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _number(*, gt: float | None = None, ge: float | None = None, le: float | None = None) -> Callable:
    def check(v: Any, key: str, ctx: _Ctx) -> float:
        if not _is_number(v):
            raise ctx.error(f"expected a number, got {v!r}", key)
        v = float(v)
        if not math.isfinite(v):
            raise ctx.error(f"expected a finite number, got {v}", key)
        if gt is not None and not v > gt:
            raise ctx.error(f"must be greater than {gt:g}, got {v:g}", key)
        if ge is not None and not v >= ge:
            raise ctx.error(f"must be at least {ge:g}, got {v:g}", key)
        if le is not None and not v <= le:
            raise ctx.error(f"must be at most {le:g}, got {v:g}", key)
        return v
    return check


def _integer(*, ge: int, le: int | None = None) -> Callable:
    def check(v: Any, key: str, ctx: _Ctx) -> int:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not isinstance(v, int) or isinstance(v, bool):
            raise ctx.error(f"expected a whole number, got {v!r}", key)
        if v < ge:
            raise ctx.error(f"must be at least {ge}, got {v}", key)
        if le is not None and v > le:
            raise ctx.error(f"must be at most {le}, got {v}", key)
        return v
    return check


def _text(choices: tuple[str, ...] | None = None) -> Callable:
    def check(v: Any, key: str, ctx: _Ctx) -> str:
        if not isinstance(v, str) or not v.strip():
            raise ctx.error(f"expected a text value, got {v!r}", key)
        v = v.strip()
        if choices is not None:
            low = v.lower()
            if low not in choices:
                guess = difflib.get_close_matches(low, choices, n=1)
                hint = f" (did you mean '{guess[0]}'?)" if guess else ""
                raise ctx.error(f"unknown value '{v}'{hint}; allowed: {', '.join(choices)}", key)
            return low
        return v
    return check


def _crs(v: Any, key: str, ctx: _Ctx) -> str:
    """A CRS the inputs' plain x/y are in (``EPSG:32648``), checked by pyproj when it is installed."""
    if not isinstance(v, str) or not v.strip():
        raise ctx.error(f"expected a CRS such as \"EPSG:32648\", got {v!r}", key)
    try:
        from pyproj import CRS
    except ImportError:               # pragma: no cover - pyproj comes with geopandas
        return v.strip()
    try:
        return str(CRS.from_user_input(v.strip()).to_string())
    except Exception:                 # pyproj raises its own CRSError with a multi-line text
        raise ctx.error(f"unknown CRS {v!r} (give e.g. \"EPSG:32648\" or \"EPSG:4326\")", key) from None


def _columns(v: Any, key: str, ctx: _Ctx) -> dict[str, Any]:
    """``[data.columns]``: ``name siting reads = "your column"``; sub-tables ``demand`` / ``candidates``."""
    if not isinstance(v, dict):
        raise ctx.error(f"expected a table such as {{ population = \"pop\" }}, got {v!r}", key)
    out: dict[str, Any] = {}
    for name, column in v.items():
        if isinstance(column, dict) and name in ("demand", "candidates"):
            out[name] = {k: c for k, c in _columns(column, f"{key}.{name}", ctx).items() if isinstance(c, str)}
            nested = [k for k, c in column.items() if isinstance(c, dict)]
            if nested:
                raise ctx.error("expected a column name (text)", f"{key}.{name}.{nested[0]}")
        elif not isinstance(column, str) or not column.strip():
            hint = " (a sub-table is allowed only as demand or candidates)" if isinstance(column, dict) else ""
            raise ctx.error(f"expected a column name (text), got {column!r}{hint}", f"{key}.{name}")
        else:
            out[name] = column.strip()
    return out


def _path(v: Any, key: str, ctx: _Ctx) -> Path:
    if not isinstance(v, (str, os.PathLike)) or not str(v).strip():
        raise ctx.error(f"expected a file path, got {v!r}", key)
    path = Path(os.path.expanduser(str(v).strip()))
    path = (path if path.is_absolute() else ctx.base / path).resolve()
    if not path.exists():
        raise ctx.error(f"file not found: {path}", key)
    if path.is_dir():
        raise ctx.error(f"is a folder, expected a file: {path}", key)
    return path


_SPEC: dict[str, dict[str, Callable]] = {
    "data": {"demand": _path, "candidates": _path, "travel_times": _path, "crs": _crs,
             "geometry": _text(("representative_point", "street")), "columns": _columns},
    "solver": {
        "name": _text(SOLVER_NAMES),
        "time_limit": _number(gt=0),
        "mip_gap": _number(ge=0),
        "strategy": _text(STRATEGIES),
        "threads": _integer(ge=1),
        "seed": _integer(ge=0, le=MAX_SEED),
        "secondary": _text(SECONDARY_GOALS),
    },
}
_REQUIRED = {"data": ("demand", "candidates"), "solver": ()}
_CLASSES = {"data": DataConfig, "solver": SolverConfig}


_SECTIONS = ("data", "model", "solver")


def _keys_of(section: str) -> tuple[str, ...]:
    return tuple(model_keys()) if section == "model" else tuple(_SPEC[section])


def _overridden_path(raw: dict, section: str, name: str) -> bool:
    if section == "model":
        kind = str(raw.get("model", {}).get("type", "")).strip().lower()
        return kind in MODELS and _is_path_key(kind, name)
    return _SPEC.get(section, {}).get(name) is _path


def model_keys() -> dict[str, tuple[str, ...]]:
    """``{scenario key: model types that accept it}`` over every registered model."""
    keys: dict[str, list[str]] = {"type": list(MODELS)}
    for name, model in MODELS.items():
        for key in model.params.scenario_keys():
            keys.setdefault(key, []).append(name)
    return {k: tuple(v) for k, v in keys.items()}


def _is_path_key(kind: str, key: str) -> bool:
    params = MODELS[kind].params
    name = params.scenario_keys().get(key)
    return name is not None and any(f.name == name and f.metadata.get("is_path") for f in params.param_fields())


def _model_section(raw: dict, ctx: _Ctx) -> ModelConfig:
    """``[model]``: the type, then its parameter dataclass built from the keys that type accepts."""
    table = raw.get("model")
    if table is None:
        raise ctx.error("missing [model] section", "model")
    if not isinstance(table, dict):
        raise ctx.error(f"expected a [model] table, got {table!r}", "model")
    if "type" not in table:
        raise ctx.error("missing required key", "model.type")
    kind = _text(MODEL_TYPES)(table["type"], "model.type", ctx)
    params_cls = MODELS[kind].params
    accepted = params_cls.scenario_keys()
    if "phases" in raw:                      # [[phases]] is top-level in the file, a model parameter inside
        if "phases" not in accepted:
            phased = ", ".join(model_keys().get("phases", ()))
            raise ctx.error(f"phased plans apply to type {phased}, not '{kind}'", "phases")
        if "phases" in table:
            raise ctx.error("give the phases once: [[phases]] at the top level or [model] phases", "model.phases")
        table = {**table, "phases": raw["phases"]}
    every = model_keys()
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "type":
            continue
        if key not in accepted:
            owners = every.get(key)
            if owners:
                raise ctx.error(f"not a key of type '{kind}' (it belongs to type {', '.join(owners)}); "
                                f"type '{kind}' accepts: {', '.join(accepted)}", f"model.{key}")
            guess = difflib.get_close_matches(key, list(accepted), n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            raise ctx.error(f"unknown key{hint}; type '{kind}' accepts: {', '.join(accepted)}", f"model.{key}")
        if _is_path_key(kind, key):
            value = _path(value, f"model.{key}", ctx)
        values[accepted[key]] = value
    try:
        params = params_cls.from_kwargs(values)
    except ParamError as exc:
        key = scenario_value_error(params_cls, exc)
        problem = exc.problem.split(": ", 1)[1] if exc.problem.startswith("parameter '") else exc.problem
        if problem.startswith("required by model"):
            problem = f"missing (required for type '{kind}')"
        for toml_key, field_name in accepted.items():  # speak the file's language: threshold_minutes, not _min
            if toml_key != field_name:
                problem = re.sub(rf"\b{re.escape(field_name)}\b", toml_key, problem)
        where = "phases" if key == "phases" and "phases" in raw else f"model.{key}"
        raise ctx.error(problem, where) from None
    return ModelConfig(type=kind, params=params)


def _unknown(ctx: _Ctx, key: str, name: str, choices: Iterable[str]) -> ScenarioError:
    guess = difflib.get_close_matches(name, list(choices), n=1)
    hint = f" (did you mean '{guess[0]}'?)" if guess else ""
    return ctx.error(f"unknown key{hint}", key)


def _section(raw: dict, name: str, ctx: _Ctx) -> Any:
    """The dataclass of section ``name`` (:class:`DataConfig` or :class:`SolverConfig`), validated."""
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise ctx.error(f"expected a [{name}] table, got {table!r}", name)
    spec = _SPEC[name]
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in spec:
            raise _unknown(ctx, f"{name}.{key}", key, spec)
        values[key] = spec[key](value, f"{name}.{key}", ctx)
    for key in _REQUIRED[name]:
        if key not in values:
            if name == "data" and name not in raw:
                raise ctx.error(f"missing [{name}] section", name)
            raise ctx.error("missing required key", f"{name}.{key}")
    return _CLASSES[name](**values)


def _cross_checks(model: ModelConfig, data: DataConfig, raw: dict, ctx: _Ctx) -> None:
    if data.travel_times is None and "network" not in raw:
        raise ctx.error("missing (required unless a [network] section is given)", "data.travel_times")
    if data.geometry == "street" and "network" not in raw:
        raise ctx.error("\"street\" places buildings on the walking network: give a [network] section, or use "
                        "\"representative_point\"", "data.geometry")


# --------------------------------------------------------------------------- scenario
@dataclass(frozen=True)
class Scenario:
    """A validated scenario.

    path : the TOML file (absolute), or None for a scenario built from a dict
    name : ``name`` key or the file stem (``mclp`` for ``mclp.toml``)
    data, model, solver : validated sections
    network, services, sweep, output : raw tables, validated by their owners' modules
    raw : the parsed TOML (relative paths unresolved), used by :meth:`with_overrides`
    """

    path: Path | None
    name: str
    data: DataConfig
    model: ModelConfig
    solver: SolverConfig = field(default_factory=SolverConfig)
    network: dict = field(default_factory=dict)
    services: dict = field(default_factory=dict)
    sweep: dict = field(default_factory=dict)
    output: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)
    description: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)
    base_dir: Path | None = field(default=None, repr=False, compare=False)  # where relative paths start

    def with_overrides(self, **changes: Any) -> Scenario:
        """A copy with some keys changed and re-validated (for sweeps).

        Keys are ``section.key`` (``**{"solver.time_limit": 5}``) or a bare key of
        ``[model]``, ``[solver]`` or ``[data]`` (searched in that order); ``name`` renames the
        scenario. ``None`` removes a key. Relative file paths given here start at the current
        working directory (not at the TOML file's folder).

        Examples
        --------
        >>> s = load_scenario("scenarios/example/mclp.toml").with_overrides(budget=3e6, time_limit=10)
        >>> s.model.budget, s.solver.time_limit
        (3000000.0, 10.0)
        >>> s.with_overrides(budjet=1)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        siting.errors.ScenarioError: .../scenarios/example/mclp.toml: key 'budjet': unknown key (did you mean 'budget'?)
        """
        raw = copy.deepcopy(self.raw)
        ctx = _ctx_for(self)
        for key, value in changes.items():
            section, _, name = key.rpartition(".")
            if not section:
                if name not in TOP_LEVEL_KEYS:
                    found = next((s for s in ("model", "solver", "data") if name in _keys_of(s)), None)
                    if found is None:
                        every = [k for s in ("model", "solver", "data") for k in _keys_of(s)] + list(TOP_LEVEL_KEYS)
                        raise _unknown(ctx, key, name, every)
                    section = found
            elif section not in _SECTIONS and section not in RAW_SECTIONS:
                raise _unknown(ctx, key, section, list(_SECTIONS) + list(RAW_SECTIONS))
            table = raw if not section else raw.setdefault(section, {})
            if value is None:
                table.pop(name, None)
            elif _overridden_path(raw, section, name) and isinstance(value, (str, os.PathLike)):
                # an override comes from Python or the command line: relative to the working directory
                table[name] = str(Path(os.path.expanduser(os.fspath(value))).absolute())
            else:
                table[name] = value
        return _build(raw, self.path, ctx)

    def solve_options(self) -> SolveOptions:
        """The :class:`~siting.options.SolveOptions` of ``[solver]``.

        Examples
        --------
        >>> load_scenario("scenarios/example/mclp.toml").solve_options().time_limit_s
        60.0
        """
        options = SolveOptions(time_limit_s=self.solver.time_limit, threads=self.solver.threads,
                               seed=self.solver.seed, secondary=self.solver.secondary)
        return options if self.solver.mip_gap is None else replace(options, mip_gap=self.solver.mip_gap)

    def load_instance(self, *, group: str | None = None) -> Instance:
        """Read the scenario's three tables into an :class:`~siting.data.instance.Instance`.

        Also checks that ``model.weight_column`` (and ``equity_column``) exist in the demand layer.

        Examples
        --------
        >>> load_scenario("scenarios/example/mclp.toml").load_instance().n_sites
        6
        """
        from .data.load import load_instance

        ctx = _ctx_for(self)
        if self.data.travel_times is None:
            raise ctx.error("no travel-time file; compute travel times from the [network] section "
                            "first", "data.travel_times")
        inst = load_instance(self.data.demand, self.data.candidates, self.data.travel_times,
                             group=group, name=self.name, crs=self.data.crs, columns=self.data.columns)
        self.check_columns(inst.demand)
        return inst

    def check_columns(self, demand: Demand) -> None:
        """Raise when ``weight_column`` / ``equity_column`` are not usable columns of ``demand``."""
        ctx = _ctx_for(self)
        numeric = ["population", *demand.groups]
        weight = self.model.weight_column
        if weight is not None and weight not in numeric:
            if weight in demand.labels:
                raise ctx.error(f"column '{weight}' of {demand.source} is not numeric", "model.weight_column")
            guess = difflib.get_close_matches(weight, numeric, n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            raise ctx.error(f"no column '{weight}' in {demand.source}{hint}; numeric columns: "
                            f"{', '.join(numeric)}", "model.weight_column")
        column = self.model.equity_column
        if column is not None and column not in demand.groups and column not in demand.labels:
            every = [*demand.groups, *demand.labels]
            guess = difflib.get_close_matches(column, every, n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            raise ctx.error(f"no column '{column}' in {demand.source}{hint}", "model.equity_column")


def _ctx_for(scenario: Scenario) -> _Ctx:
    shown = str(scenario.path) if scenario.path is not None else "scenario"
    return _Ctx(shown, scenario.base_dir or Path.cwd())


#: ``[data]`` values the command line sets for every scenario loaded in its call (``siting solve --crs``)
_DATA_OVERRIDES: ContextVar[tuple[tuple[str, Any], ...]] = ContextVar("siting_data_overrides", default=())


@contextmanager
def data_overrides(**values: Any) -> Iterator[None]:
    """Give every scenario loaded within the block these ``[data]`` keys (``crs="EPSG:4547"``).

    They are validated as if written in the file; ``None`` values are ignored.

    ``siting solve --crs`` uses it, so the scenario the travel cache, the solve and the outputs read is one.

    Examples
    --------
    >>> with data_overrides(crs="EPSG:4547"):
    ...     load_scenario("scenarios/example/mclp.toml").data.crs
    'EPSG:4547'
    """
    given = {k: v for k, v in values.items() if v is not None}
    unknown = [k for k in given if k not in _SPEC["data"]]
    if unknown:
        raise ScenarioError("unknown key", key=f"data.{unknown[0]}")
    token = _DATA_OVERRIDES.set(tuple({**dict(_DATA_OVERRIDES.get()), **given}.items()))
    try:
        yield
    finally:
        _DATA_OVERRIDES.reset(token)


def _build(raw: dict, path: Path | None, ctx: _Ctx) -> Scenario:
    forced = dict(_DATA_OVERRIDES.get())
    if forced and isinstance(raw.get("data", {}), dict):
        raw = {**raw, "data": {**raw.get("data", {}), **forced}}
    for key, value in raw.items():
        if key in _SECTIONS or key in RAW_SECTIONS:
            if not isinstance(value, dict):
                raise ctx.error(f"expected a [{key}] table, got {value!r}", key)
        elif key == "phases":
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ctx.error("expected [[phases]] tables, each with year and budget", key)
        elif key in TOP_LEVEL_KEYS:
            if not isinstance(value, str):
                raise ctx.error(f"expected a text value, got {value!r}", key)
        else:
            choices = list(_SECTIONS) + list(RAW_SECTIONS) + list(TOP_LEVEL_KEYS)
            guess = difflib.get_close_matches(key, choices, n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            what = "section" if isinstance(value, dict) else "top-level key"
            raise ctx.error(f"unknown {what}{hint}; allowed sections: {', '.join(choices[:-2])}", key)
    data = _section(raw, "data", ctx)
    model = _model_section(raw, ctx)
    solver = _section(raw, "solver", ctx)
    _cross_checks(model, data, raw, ctx)
    name = raw.get("name") or (path.stem if path is not None else "scenario")
    return Scenario(path=path, name=name, data=data, model=model, solver=solver,
                    **{s: copy.deepcopy(raw.get(s, {})) for s in RAW_SECTIONS},
                    description=raw.get("description", ""), raw=copy.deepcopy(raw), base_dir=ctx.base)


def scenario_from_dict(raw: dict, *, base: str | Path | None = None, name: str = "scenario") -> Scenario:
    """Validate a scenario given as a dict (as parsed from TOML); relative paths start at ``base``.

    Examples
    --------
    >>> data = {"demand": "demand.csv", "candidates": "candidates.csv", "travel_times": "travel_times.csv"}
    >>> s = scenario_from_dict({"data": data, "model": {"type": "lscp", "threshold_minutes": 10}},
    ...                        base="scenarios/example", name="cover-all")
    >>> s.name, s.model.type, s.model.threshold_minutes, s.data.demand.name
    ('cover-all', 'lscp', 10.0, 'demand.csv')
    """
    raw = copy.deepcopy(dict(raw))
    raw.setdefault("name", name)
    ctx = _Ctx("scenario", Path(base).resolve() if base is not None else Path.cwd())
    return _build(raw, None, ctx)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file.

    Raises
    ------
    ScenarioError
        One line naming the file and key: unknown key or section, wrong type, missing file,
        out-of-range value, TOML syntax error (with line and column).

    Examples
    --------
    >>> s = load_scenario("scenarios/example/mclp.toml")
    >>> s.name, s.model.type, s.model.budget
    ('mclp', 'mclp', 2500000.0)
    """
    shown = str(path)
    path = Path(path)
    if not path.exists():
        raise ScenarioError(f"file not found: {path.resolve()}", file=shown)
    try:
        text = path.read_bytes().decode("utf-8-sig")  # tolerate the BOM some Windows editors add
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"invalid TOML: {exc}", file=shown) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read file: {exc}", file=shown) from None
    resolved = path.resolve()
    ctx = _Ctx(shown, resolved.parent)
    return _build(raw, resolved, ctx)
