"""Evaluation of a plan for planners and researchers: accessibility (2SFCA and variants), groups, supply.

``siting evaluate S.toml --out DIR [--plan DIR/solution.json]`` and its Python twin :func:`evaluate` measure
the state before a plan (the existing facilities) and after it (plus the plan's placements):

* ``accessibility.csv`` — per demand point and service, the two-step floating catchment ratio (Luo & Wang
  2003) and its Gaussian and enhanced (E2SFCA) variants (:mod:`siting.evaluate.fca`);
* ``groups.csv`` — per service, demand group and community: people, covered before / after, shares;
* ``supply.csv`` — per service and community: facilities, floor area, floor area per 1,000 of the target
  group, against a norm where one is known.

:func:`evaluate_instance` works on an :class:`~siting.data.instance.Instance` and :class:`EvalService` s for
scripts; :func:`evaluation_tables` gives the tables of a solve's record to the report.

Example
-------
>>> ev = evaluate("scenarios/example/mclp.toml")
>>> bool((ev.accessibility["access_before"] == ev.accessibility["access_after"]).all())  # no plan: after = before
True
"""
from __future__ import annotations

from .fca import E2SFCA_WEIGHTS, GAUSSIAN_SIGMA_RATIO, MEASURES
from .plan import plan_of, read_plan_file
from .run import FILES, evaluate, evaluation_tables, report_by, write_evaluation
from .services import EvalService, ResolvedService, services_of
from .tables import Evaluated, evaluate_instance

__all__ = ["evaluate", "evaluate_instance", "evaluation_tables", "Evaluated", "EvalService", "ResolvedService",
           "services_of", "plan_of", "read_plan_file", "report_by", "write_evaluation", "MEASURES",
           "E2SFCA_WEIGHTS", "GAUSSIAN_SIGMA_RATIO", "FILES"]
