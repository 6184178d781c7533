"""The model contract: what a location model declares so that one driver can solve and verify it.

A model is one module that builds a :class:`Model` and is listed once in :mod:`siting.models.registry`.
It declares

* ``params``: a frozen :class:`~siting.models.params.ModelParams` dataclass (validated, units in names);
* ``build(instance, params, rules) -> Built``: a :class:`~siting.program.LinearProgram` plus how to decode a
  solver vector into a :class:`Plan`; formulation only, it never calls a solver;
* ``evaluate(instance, params, rules, plan) -> Evaluation``: every reported figure recomputed from the raw
  instance (travel triples, site table), raising :class:`~siting.errors.VerificationError` on a broken
  model constraint;
* optional hooks: ``warm_start(instance, params, rules, built, deadline)`` (a feasible column vector for the
  program, found before ``deadline``, a ``time.perf_counter()`` value or None), ``bound(instance, params,
  rules, known, deadline)`` (a valid bound on the optimum in the objective's units, computed before the solve
  with a quarter of the time left, ``known`` = the warm start's value when there is one; used when the solver
  stops before proving a better one), ``level_bound(instance, params, rules, number)`` (the same for priority level
  ``number``'s own objective: a value no plan that keeps the earlier levels at their held values can beat),
  ``improve_start(instance, params, rules, built, x, deadline)`` (a feasible vector no worse than the feasible
  ``x`` — a re-plan's previous plan when the new program gives more room, e.g. a larger budget —, or ``x``
  itself; with priority levels "no worse" is lexicographic, the levels in order, then the objective), ``search`` (a model-specific
  solve that replaces build + backend: the coverage strategies, p-center's bisection, equity's two
  stages) and ``prepare`` (scenario-only inputs such as a service catalog, and which speed groups'
  travel tables it needs);
* optional ``marginal(instance, params, rules, plan) -> Marginal``: what each open site alone adds (the
  "no redundant site" property and the ``marginal_weight`` column); without it the driver re-evaluates
  the plan without each site, which it does only for small plans and within the time limit;
* optional ``marginal_floor(instance, params, rules, plan) -> Marginal``: a cheap, certain lower bound of
  ``marginal`` (``loss`` at most each site's true loss, 0 where unsure; ``weight`` exact or NaN; ``breaks``
  only where certain): a site it shows losing something is not redundant and is not re-evaluated;
* optional ``explain_infeasible(instance, params, rules, ctx, proven) -> str | None``: when the solver proves a
  program infeasible (``proven``), the one line that says why in the data's terms (multi-service: the
  service whose floor the budget cannot reach, with the largest share it can); after a solver error
  (``proven`` False) a line only when the hook proves infeasibility itself.

Cheapest plans (``SolveOptions.secondary = "min_cost"``): for a ``build`` model the driver solves a second
program, the model's rows plus one row holding the objective at its verified best, minimising the plan's
cost (``Built.plan_cost``, default: conversion cost of the ``"site"`` block) and then the number of new
sites (``Built.new_sites``). A ``search`` hook applies ``ctx.options.secondary`` itself (the coverage
strategies, equity's third stage, p-center's last cover). See ``models/cheapest-plans.md``.

:func:`siting.models.driver.solve_model` owns everything else: site rules, limits proven infeasible from
the data, the time limit, the backend call, decoding, the generic plan checks, the claim check, the gap
and the :class:`~siting.result.Result`.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data.instance import Instance
from ..interrupt import stop_requested
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ..rules import SiteRules
from ..status import Termination
from .params import ModelParams

__all__ = ["Plan", "Level", "Built", "Evaluation", "Marginal", "Outcome", "SolveContext", "ScenarioInputs", "Model"]

P = TypeVar("P", bound=ModelParams)


@dataclass(frozen=True)
class Plan:
    """A decoded plan in the instance's site order.

    open_sites : (n_sites,) bool, existing sites included (they are open in the real world)
    placements : {service: (n_sites,) bool} new placements per service (multi-service models), else None
    assignment : the solver's assignment values when the model reports from them (capacitated: one value per
        pair; multi-service: {service: sparse demand x site shares}), else None
    phase : {service: (n_sites,) int} the index of the year each placement opens (-1: not placed) for phased
        plans, else None; a placement counts only where ``placements`` also holds it
    """

    open_sites: np.ndarray
    placements: Mapping[str, np.ndarray] | None = None
    assignment: np.ndarray | Mapping[str, sp.spmatrix] | None = None
    phase: Mapping[str, np.ndarray] | None = None


def _site_block(program: LinearProgram, x: np.ndarray) -> Plan:
    return Plan(open_sites=program.block(x, "site") > 0.5)


@dataclass(frozen=True)
class Level:
    """One priority level of a lexicographic objective: maximised before the later ones, then held.

    number : 1 for the first level
    services : what the level counts (for messages and ``solution.json``)
    objective, offset : the level's objective over the program's columns, ``objective @ x + offset``
    """

    number: int
    services: tuple[str, ...]
    objective: np.ndarray
    offset: float = 0.0


@dataclass(frozen=True)
class Built:
    """A model's program and the decoder from a solver vector to a :class:`Plan`.

    ``decode`` defaults to reading the binary ``"site"`` column block. ``plan_cost`` is the plan's cost as a
    linear function of the program's columns (conversion plus fit-outs, ...); None: ``rules.cost`` on the
    ``"site"`` block. ``new_sites`` counts new conversions the same way; None: ``rules.counts`` on the
    ``"site"`` block. The driver's cheapest-plan stage minimises them (:mod:`siting.models.secondary`).
    ``levels`` are priority levels solved before the program's own objective, each held once solved
    (:mod:`siting.models.levels`); the program's objective comes last. ``polish`` turns a stage's vector
    into the exact vector of its plan (binaries rounded, continuous columns at their plan values) before it
    starts the next stage.
    """

    program: LinearProgram
    decode: Callable[[np.ndarray], Plan] | None = None
    stats: Mapping[str, Any] = field(default_factory=dict)
    plan_cost: np.ndarray | None = None
    new_sites: np.ndarray | None = None
    levels: tuple[Level, ...] = ()
    polish: Callable[[np.ndarray], np.ndarray] | None = None

    def plan_of(self, x: np.ndarray) -> Plan:
        """The :class:`Plan` of a solver vector ``x``."""
        return self.decode(x) if self.decode is not None else _site_block(self.program, x)


@dataclass(frozen=True)
class Evaluation:
    """A plan's figures, recomputed from the raw instance.

    objective : the model's objective in its own units (covered weight, weighted minutes, cost, ...)
    covered_weight : the weight the model counts as served (its meaning is ``Model.covered``)
    total_weight : the weight that could be served (the denominator of the coverage share)
    total_cost : what the plan pays (conversion, plus fit-out where the model has it)
    sites, coverage : the per-site and per-demand tables written to ``sites.csv`` / ``coverage.csv``
    stats : model-specific figures for ``solution.json``
    warnings : what a planner must read beside the figures (e.g. a service walked on the default table);
        the driver appends them to the result's message
    """

    objective: float
    covered_weight: float
    total_weight: float
    total_cost: float
    sites: pd.DataFrame
    coverage: pd.DataFrame
    stats: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Marginal:
    """What each open site alone adds to a plan, from the raw instance (arrays over all sites).

    loss : how much the model's goal worsens when only this site is closed (>= 0: worse; a lexicographic goal
        adds its parts, so any positive part counts; cost-minimising models: minus the cost it saves)
    breaks : closing it alone breaks a model constraint or floor (LSCP cover, partial target, cover_all, ...)
    weight : the ``covered_weight`` lost when only this site is closed (``marginal_weight`` in ``sites.csv``)

    Entries of closed sites are not read.
    """

    loss: np.ndarray
    breaks: np.ndarray
    weight: np.ndarray


@dataclass(frozen=True)
class Outcome:
    """What a search (a backend call or a model's own ``search``) produced, before verification.

    objective / bound : the search's claims in the model's units; the driver checks them against the
    :class:`Evaluation` of ``plan`` and keeps the recomputed value.
    """

    plan: Plan | None
    termination: Termination
    objective: float | None
    bound: float | None
    method: str
    stats: dict[str, Any] = field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True)
class SolveContext:
    """How a search may run: the backend, the strategy and options whose time limit is what is left."""

    backend: str
    strategy: str
    options: SolveOptions
    deadline: float | None = None

    def remaining_s(self) -> float | None:
        """Seconds left before the deadline (never negative), None without a time limit.

        Nothing (0.0) is left once the caller asked the solve to stop (a serve job's cancel,
        :mod:`siting.interrupt`).
        """
        if stop_requested():
            return 0.0
        return None if self.deadline is None else max(0.0, self.deadline - time.perf_counter())

    def deadline_after(self, share: float) -> float | None:
        """The ``time.perf_counter()`` value after ``share`` of the time left (None without a time limit)."""
        left = self.remaining_s()
        return None if left is None else time.perf_counter() + share * left

    def options_now(self, *, share: float = 1.0) -> SolveOptions:
        """The options with ``time_limit_s`` set to ``share`` of the time left."""
        left = self.remaining_s()
        return self.options if left is None else replace(self.options, time_limit_s=max(0.05, share * left))


@dataclass(frozen=True)
class ScenarioInputs:
    """What a model's ``prepare`` hook may read from a scenario, without importing the scenario layer.

    load_instance : ``load_instance(groups)`` returns the instance with the travel tables of those speed
        groups attached (``Instance.group_travel``)
    candidates : path of the candidates file (raw columns such as ``services``)
    sections : the scenario's raw tables (``services``, ...)
    base_dir : where relative paths start
    """

    load_instance: Callable[[tuple[str, ...]], Instance]
    candidates: Path
    sections: Mapping[str, Any]
    base_dir: Path


@dataclass(frozen=True)
class Model(Generic[P]):
    """A location model: its name, parameters, formulation, evaluation and hooks (see module docstring).

    sense : the objective's direction (the claim check and the gap follow it)
    summary : one line for the README models table and the CLI help
    covered : what ``covered_weight`` means for this model (documented in ``solution.json``)
    uses_strategy : the ``strategy`` option (auto / exact / hybrid / heuristic) applies to its search
    warm_start_share : the share of the time left the ``warm_start`` hook may use (the backend gets the rest), or
        a function of the built program giving it
    bound_share : the share of the time left after the warm start that the ``bound`` hook may use (the backend gets
        the rest), or a function of the built program giving it
    verify_share : the share of the time left after the warm start and the bound that the backend leaves for
        ``evaluate`` and the checks after it, or a function of the built program giving it (a model whose
        evaluation solves an LP needs more than the default, and more the larger the program)
    """

    name: str
    summary: str
    params: type[P]
    sense: Sense
    covered: str
    evaluate: Callable[[Instance, P, SiteRules, Plan], Evaluation]
    build: Callable[[Instance, P, SiteRules], Built] | None = None
    warm_start: Callable[[Instance, P, SiteRules, Built, float | None], np.ndarray | None] | None = None
    improve_start: Callable[[Instance, P, SiteRules, Built, np.ndarray, float | None], np.ndarray | None] | None = None
    bound: Callable[[Instance, P, SiteRules, float | None, float | None], float | None] | None = None
    level_bound: Callable[[Instance, P, SiteRules, int], float | None] | None = None
    search: Callable[[Instance, P, SiteRules, SolveContext], Outcome] | None = None
    prepare: Callable[[P, ScenarioInputs], tuple[P, Instance]] | None = None
    total_weight: Callable[[Instance, P], float] | None = None
    marginal: Callable[[Instance, P, SiteRules, Plan], Marginal] | None = None
    marginal_floor: Callable[[Instance, P, SiteRules, Plan], Marginal] | None = None
    explain_infeasible: Callable[[Instance, P, SiteRules, SolveContext, bool], str | None] | None = None
    uses_strategy: bool = False
    warm_start_share: float | Callable[[Built], float] = 0.5
    bound_share: float | Callable[[Built], float] = 0.25
    verify_share: float | Callable[[Built], float] = 0.05
    doc: str = ""

    def __post_init__(self) -> None:
        if (self.build is None) == (self.search is None):
            raise TypeError(f"model {self.name!r}: give exactly one of build and search")
        if not callable(self.warm_start_share) and not 0.0 < self.warm_start_share < 1.0:
            raise TypeError(f"model {self.name!r}: warm_start_share must be in (0, 1), got {self.warm_start_share}")
        if not callable(self.bound_share) and not 0.0 < self.bound_share < 1.0:
            raise TypeError(f"model {self.name!r}: bound_share must be in (0, 1), got {self.bound_share}")
        if not callable(self.verify_share) and not 0.0 <= self.verify_share < 1.0:
            raise TypeError(f"model {self.name!r}: verify_share must be in [0, 1), got {self.verify_share}")

    @property
    def maximise(self) -> bool:
        """True when a larger objective is better."""
        return self.sense is Sense.MAXIMIZE
