"""One scenario, prepared once, re-planned many times: the what-if requests of ``siting serve``.

A :class:`Planner` reads the scenario's tables and walking times once (the travel cache of ``siting solve``),
then turns each request body (:class:`PlanRequest`: budget, locked sites, service overrides, time limit) into
the scenario ``siting solve`` would read — through :meth:`Scenario.with_overrides`, so a bad value gets the
CLI's own one-line message — and solves it with the model's driver. Locks become site statuses (``required`` /
``excluded``), exactly what a candidates file says.

Re-plans start from the previous plan: the model is wrapped (:func:`remembering`) so the solver's final column
vector is kept, and the next solve gets it back through the model's ``warm_start`` hook whenever it fits the
new program (same columns) and satisfies its rows; when it breaks them (a smaller budget, a lock), a short
solve restricted to the previous plan's columns repairs it (:func:`start_for`); otherwise the solve starts cold.
"""
from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..data.instance import Instance, SiteStatus
from ..errors import InputError, ScenarioError
from ..models.base import Built, Model, ScenarioInputs
from ..models.params import ModelParams
from ..models.registry import get_model
from ..program import LinearProgram
from ..result import Result
from ..rules import SiteRules
from ..scenario import Scenario

__all__ = ["Planner", "PlanRequest", "Vectors", "remembering", "start_for", "SERVICE_FIELDS", "REQUEST_FIELDS",
           "REPLAN_TIME_LIMIT_S"]

#: per-service keys a request may change (the catalog validates their values)
SERVICE_FIELDS = ("weight", "min_share", "priority", "enabled")
#: the keys of a ``POST /api/solve`` body
REQUEST_FIELDS = ("budget", "required", "excluded", "services", "time_limit")
#: the page's time limit for re-plans after the first plan (seconds; capped by the scenario's own limit):
#: warm-started from the current plan, a few seconds improve it or certify its gap (benchmarks/serve_bench.py)
REPLAN_TIME_LIMIT_S = 8.0
#: the longest solve a request may ask for when the scenario states no time limit (seconds)
MAX_TIME_LIMIT_S = 600.0
#: how many column vectors a session keeps to warm-start from
_KEEP_VECTORS = 4
#: a kept vector must satisfy the new program to this relative violation (the driver's own check)
_START_TOL = 1e-7
#: a repair of the previous plan gets at most this many seconds (and never less than _MIN_REPAIR_S)
_REPAIR_CAP_S = 10.0
_MIN_REPAIR_S = 0.2


@dataclass(frozen=True)
class PlanRequest:
    """A validated what-if: what changes against the scenario file (None / empty: as the file says)."""

    budget: float | None = None
    required: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    services: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    time_limit_s: float | None = None

    @classmethod
    def from_body(cls, body: Any) -> PlanRequest:
        """Read a JSON body; shapes are checked here, values by the scenario (one-line errors)."""
        if body is None:
            return cls()
        if not isinstance(body, Mapping):
            raise InputError(f"request body: expected a JSON object, got {type(body).__name__}")
        unknown = sorted(set(body) - set(REQUEST_FIELDS))
        if unknown:
            raise InputError(f"request body: unknown field '{unknown[0]}'; known: {', '.join(REQUEST_FIELDS)}")
        services = body.get("services") or {}
        if not isinstance(services, Mapping):
            raise InputError("services: expected an object {service: {field: value}}")
        for key, fields in services.items():
            if not isinstance(fields, Mapping):
                raise InputError(f"services.{key}: expected an object of {', '.join(SERVICE_FIELDS)}")
            bad = sorted(set(fields) - set(SERVICE_FIELDS))
            if bad:
                raise InputError(f"services.{key}: unknown field '{bad[0]}'; known: {', '.join(SERVICE_FIELDS)}")
        return cls(budget=_number(body.get("budget"), "budget"), required=_ids(body.get("required"), "required"),
                   excluded=_ids(body.get("excluded"), "excluded"),
                   services={str(k): dict(v) for k, v in services.items()},
                   time_limit_s=_number(body.get("time_limit"), "time_limit"))

    def as_dict(self) -> dict[str, Any]:
        """The request as a JSON body (what the page sends back)."""
        return {"budget": self.budget, "required": list(self.required), "excluded": list(self.excluded),
                "services": {k: dict(v) for k, v in self.services.items()}, "time_limit": self.time_limit_s}


def _number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{name}: expected a number, got {value!r}")
    return float(value)


def _ids(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{name}: expected a list of site ids, got {value!r}")
    return tuple(dict.fromkeys(value))


class Vectors:
    """The column vectors of a session's recent solves, newest first (warm starts for the next one)."""

    def __init__(self) -> None:
        self._items: list[np.ndarray] = []
        self._lock = threading.Lock()

    def add(self, x: np.ndarray) -> None:
        """Keep ``x`` as the newest vector."""
        with self._lock:
            self._items = [x, *[v for v in self._items if v.shape != x.shape or not np.array_equal(v, x)]]
            del self._items[_KEEP_VECTORS:]

    def items(self) -> list[np.ndarray]:
        """The kept vectors, newest first."""
        with self._lock:
            return list(self._items)


def start_for(program: LinearProgram, vectors: Vectors, *, backend: str | None = None,
              time_limit_s: float = 0.0) -> tuple[np.ndarray | None, str]:
    """A feasible start for ``program`` from the kept vectors, and what it is.

    The newest kept vector that fits (same width) and satisfies the rows, integers rounded and columns clipped
    to the bounds (a lock); else, given a ``backend`` and time, a *repair*: the program with every integer
    column that is 0 in the newest vector fixed at 0 — only the previous plan's buildings and services remain
    free, so the solver drops what a smaller budget or a lock no longer allows — solved within
    ``time_limit_s``. Any point it returns is checked against the full program.
    """
    from ..options import SolveOptions

    fitting = [x for x in vectors.items() if x.shape == (program.n_cols,)]
    for x in fitting:
        start = np.clip(np.where(program.integrality, np.round(x), x), program.col_lower, program.col_upper)
        if program.max_violation(start, relative=True) <= _START_TOL:
            return start, "previous plan"
    if not fitting:
        return None, "none (no kept plan has this program's columns)" if vectors.items() else "none (first plan)"
    if backend is None or time_limit_s < _MIN_REPAIR_S:
        return None, "none (the previous plan breaks the new limits)"
    from ..backends import get_backend

    off = program.integrality & (_used(program, np.round(fitting[0])) < 0.5) & (program.col_lower <= 0)
    restricted = replace(program, col_upper=np.where(off, 0.0, program.col_upper), name=f"{program.name}_repair")
    sol = get_backend(backend).solve(restricted, SolveOptions(time_limit_s=time_limit_s, mip_gap=0.05))
    if sol.x is not None:
        start = np.where(program.integrality, np.round(sol.x), sol.x)
        if program.max_violation(start, relative=True) <= _START_TOL:
            return start, "previous plan, repaired"
    return None, f"none (repairing the previous plan: {sol.termination})"


def _used(program: LinearProgram, x: np.ndarray) -> np.ndarray:
    """Per column, whether the plan uses it in *any* year (multi-year programs), else ``x`` itself.

    A phased program stacks one block of columns per year (block ``"year"``; ``"site"`` is the last year's
    buildings, at the start of the last block). A smaller yearly budget must be free to open a building of the
    previous plan in another year, so the repair fixes only what the previous plan used in no year; columns after
    the years (policy indicators) stay free.
    """
    blocks = program.blocks
    if "year" not in blocks or "site" not in blocks:
        return x
    year_end, site_start = blocks["year"][1], blocks["site"][0]
    width = year_end - site_start
    if width <= 0 or year_end % width:
        return x
    years = x[:year_end].reshape(year_end // width, width)
    out = np.ones_like(x)
    out[:year_end] = np.tile(years.max(axis=0), year_end // width)
    return out


def remembering(model: Model[Any], vectors: Vectors, seen: Callable[[str], None] | None = None, *,
                backend: str | None = None) -> Model[Any]:
    """``model`` whose solves keep their final column vector in ``vectors`` and warm-start from it.

    ``build`` is wrapped so the driver's decoder records the last vector it decodes (the plan's, before any
    redundant site is closed: still a feasible point of that program); the ``warm_start`` hook offers
    :func:`start_for` of the new program (the repair runs on ``backend`` within the hook's deadline), improved by
    the model's ``improve_start`` hook when it has one (the money a larger budget adds, spent). Models
    with a ``search`` hook (the coverage models) are returned unchanged: their heuristics start themselves.
    ``seen(message)`` is told which start was used.
    """
    if model.build is None:
        return model
    build = model.build
    own_start = model.warm_start
    improve = model.improve_start

    def recording_build(instance: Instance, params: ModelParams, rules: SiteRules) -> Built:
        built = build(instance, params, rules)
        decode = built.plan_of

        def decode_and_keep(x: np.ndarray) -> Any:
            plan = decode(x)
            vectors.add(np.asarray(x, dtype=float).copy())
            return plan

        return replace(built, decode=decode_and_keep)

    def previous_plan(instance: Instance, params: ModelParams, rules: SiteRules, built: Built,
                      deadline: float | None) -> np.ndarray | None:
        left = _REPAIR_CAP_S if deadline is None else min(_REPAIR_CAP_S, deadline - time.perf_counter())
        start, what = start_for(built.program, vectors, backend=backend, time_limit_s=left)
        if seen is not None:
            seen(what)
        if start is None and own_start is not None:
            return own_start(instance, params, rules, built, deadline)
        if start is not None and improve is not None:
            # the previous plan (or its repair) may leave room (a larger budget): the model's own search spends
            # it before the solver starts, which from a feasible start rarely adds buildings in seconds
            better = improve(instance, params, rules, built, start, deadline)
            if better is not None and better is not start and not np.array_equal(better, start):
                start = better
                if seen is not None:
                    seen(f"{what}, improved")
        return start

    return replace(model, build=recording_build, warm_start=previous_plan)


class Planner:
    """A scenario prepared once; :meth:`solve` re-plans it for one request.

    Parameters
    ----------
    scenario : Scenario
        The scenario as ``siting solve`` reads it (with the travel cache override already applied).
    """

    def __init__(self, scenario: Scenario) -> None:
        from ..run import scenario_instance

        self.scenario = scenario
        self.model = get_model(scenario.model.type)
        self._tables: dict[tuple[str, ...], Instance] = {}
        self._lock = threading.Lock()

        def load(groups: tuple[str, ...]) -> Instance:
            key = tuple(groups)
            with self._lock:
                if key not in self._tables:
                    self._tables[key] = scenario_instance(scenario, groups=key)
                return self._tables[key]

        self._load = load
        self.params, self.instance = self._prepare(scenario)
        self.site_index = {str(s): j for j, s in enumerate(self.instance.sites.ids)}

    # -- the request as a scenario -------------------------------------------------------------------------

    def scenario_for(self, request: PlanRequest) -> Scenario:
        """The scenario ``siting solve`` would read for ``request`` (values validated by the scenario loader)."""
        base = self.scenario
        raw = copy.deepcopy(base.raw)
        if request.services:
            services = raw.setdefault("services", {})
            for key, fields in request.services.items():
                table = services.setdefault(key, {})
                if not isinstance(table, dict):
                    raise InputError(f"services.{key}: the scenario's [services] entry is not a table")
                for name, value in fields.items():
                    if value is None:
                        table.pop(name, None)    # null: back to the catalog's value
                    else:
                        table[name] = value
        changes: dict[str, Any] = {}
        if request.budget is not None:
            changes["model.budget"] = request.budget
            old = base.model.get("budget")
            if raw.get("phases") and old and request.budget > 0:  # a budget <= 0: the loader's message
                # a phased plan: every year's budget moves in proportion, so a new total changes what is spent
                ratio = request.budget / float(old)
                raw["phases"] = [dict(p, budget=float(p["budget"]) * ratio) for p in raw["phases"]]
        if request.time_limit_s is not None:
            # solves run one at a time for every tab: one request may not hold the worker longer than the
            # scenario's own limit (or MAX_TIME_LIMIT_S when it has none)
            cap = base.solver.time_limit or MAX_TIME_LIMIT_S
            if request.time_limit_s > cap:
                raise ScenarioError(f"at most {cap:g} s for this server (the scenario's [solver] time_limit), "
                                    f"got {request.time_limit_s:g}", key="time_limit")
            changes["solver.time_limit"] = request.time_limit_s
        return replace(base, raw=raw).with_overrides(**changes)

    def statuses(self, request: PlanRequest) -> np.ndarray:
        """The site statuses with the request's locks (one-line errors for unknown or contradictory ids)."""
        status = np.asarray(self.instance.sites.status).astype(object).copy()
        for name, ids in (("required", request.required), ("excluded", request.excluded)):
            unknown = [s for s in ids if s not in self.site_index]
            if unknown:
                raise InputError(f"{name}: unknown site id {unknown[0]!r}"
                                 + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""))
        both = sorted(set(request.required) & set(request.excluded))
        if both:
            raise InputError(f"site {both[0]!r} is both required and excluded")
        for name, ids in (("required", request.required), ("excluded", request.excluded)):
            for site in ids:
                j = self.site_index[site]
                if status[j] == SiteStatus.EXISTING.value:
                    raise InputError(f"{name}: site {site!r} is an existing facility (always open); only idle "
                                     "buildings can be locked")
                status[j] = SiteStatus.REQUIRED.value if name == "required" else SiteStatus.EXCLUDED.value
        return status

    def _prepare(self, scenario: Scenario) -> tuple[ModelParams, Instance]:
        from ..run import check_cutoff

        params = scenario.model.params
        inputs = ScenarioInputs(load_instance=self._load, candidates=scenario.data.candidates,
                                sections={"services": scenario.services, "network": scenario.network},
                                base_dir=scenario.base_dir or Path.cwd())
        if self.model.prepare is None:
            group = getattr(params, "speed_group", None)
            groups: tuple[str, ...] = (group,) if isinstance(group, str) and group != "default" else ()
            instance = inputs.load_instance(groups)
        else:
            params, instance = self.model.prepare(params, inputs)
        check_cutoff(scenario, params)
        return params, instance

    # -- solving -------------------------------------------------------------------------------------------

    def solve(self, request: PlanRequest, vectors: Vectors | None = None,
              seen: Callable[[str], None] | None = None) -> tuple[Result, Scenario]:
        """Solve ``request``; the verified result and the scenario that reproduces it (statuses aside)."""
        from ..models.driver import resolve_backend, solve_model

        scenario = self.scenario_for(request)
        status = self.statuses(request)
        params, instance = self._prepare(scenario)
        instance = replace(instance, sites=replace(instance.sites, status=status))
        model = self.model if vectors is None else remembering(self.model, vectors, seen,
                                                               backend=resolve_backend(scenario.solver.name))
        result = solve_model(model, instance, params, backend=scenario.solver.name,
                             strategy=scenario.solver.strategy, options=scenario.solve_options())
        return result, scenario
