"""p-median's cheapest-plan stage builds the radius search's exact program only when the stage can run.

At 4,000,000 pairs that program took ~10 s to build and was built after the search's deadline even when the
stage was then skipped (a 60-s solve returned after 71-78 s).
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import siting.models.pmedian_radius as radius_module
from siting.models.base import Evaluation, Plan, SolveContext
from siting.models.pmedian import PMedianParams, solve_pmedian
from siting.models.secondary import cheapest_later
from siting.options import SolveOptions
from siting.rules import SiteRules
from siting.testing import random_instance

SAME_COST = "skipped: every plan with exactly p sites costs the same"


@pytest.fixture
def program_builds(monkeypatch):
    """How many radius programs were built (the search's rounds and the exact one)."""
    calls = []
    real = radius_module.truncated_program

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(radius_module, "truncated_program", counting)
    return calls


def test_equal_costs_skip_the_stage_without_building_its_program(program_builds):
    inst = random_instance(30, 12, seed=3, density=0.9)
    inst = replace(inst, sites=replace(inst.sites, cost=np.zeros(inst.n_sites)))   # OR-Library style
    r = solve_pmedian(inst, p=3, formulation="iterative")
    assert r.status == "optimal"
    assert r.stats["secondary"]["termination"] == SAME_COST
    assert len(program_builds) == len(r.stats["rounds"])   # no program beyond the search's rounds


def test_unequal_costs_still_build_it(program_builds):
    inst = random_instance(30, 12, seed=3, density=0.9)
    r = solve_pmedian(inst, p=3, formulation="iterative")
    assert r.status == "optimal" and np.unique(inst.sites.cost).size > 1
    assert r.stats["secondary"]["termination"] != "skipped: no time left"
    assert len(program_builds) == len(r.stats["rounds"]) + 1


def _stage_inputs(seconds_left: float):
    inst = random_instance(10, 6, seed=1, density=0.9)
    rules = SiteRules.of(inst)
    ctx = SolveContext(backend="highs", strategy="auto", options=SolveOptions(time_limit_s=seconds_left),
                       deadline=time.perf_counter() + seconds_left)
    plan = Plan(open_sites=np.array([True, True, False, False, False, False]))
    figures = Evaluation(objective=10.0, covered_weight=0.0, total_weight=0.0,
                         total_cost=float(rules.cost[:2].sum()), sites=pd.DataFrame(), coverage=pd.DataFrame())
    return inst, rules, ctx, plan, figures


def test_no_time_for_the_build_skips_it():
    inst, rules, ctx, plan, figures = _stage_inputs(2.0)

    def build():
        raise AssertionError("built without the time to build it")

    kept, _, info = cheapest_later(None, build, inst, PMedianParams(p=2), rules, ctx, plan, figures,
                                   build_s=5.0)
    assert kept is plan and info["termination"] == "skipped: no time left"
    assert info["cost_before"] == figures.total_cost and info["new_sites_before"] == 2
