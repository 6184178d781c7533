"""Errors, statuses and the dispatch table of the model family."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siting.data.instance import SiteStatus
from siting.errors import InfeasibleError, InputError
from siting.family import MODELS
from siting.family.orlib import instance_from_pairs
from siting.family.testing import random_instance


def line():
    # d0 reaches s0 (1 min) and s1 (4); d1 reaches s1 (2); d2 reaches nothing
    return instance_from_pairs(np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([1.0, 4.0, 2.0]),
                               population=np.array([10.0, 20.0, 5.0]), cost=np.array([3.0, 4.0]))


def test_dispatch_table():
    assert set(MODELS) >= {"pmedian", "pcenter", "backup", "capacitated", "cflp", "gradual", "equity",
                           "multiservice"}


def test_pmedian_unreachable_demand_is_a_clear_error():
    with pytest.raises(InfeasibleError, match="d2 reach no usable site"):
        MODELS["pmedian"](line(), p=1)
    with pytest.raises(InfeasibleError, match="d2"):
        MODELS["pcenter"](line(), p=1)


def test_zero_weight_demand_is_ignored_by_pmedian():
    inst = line()
    inst = instance_from_pairs(inst.travel.demand_index, inst.travel.site_index, inst.travel.minutes,
                               population=np.array([10.0, 20.0, 0.0]), cost=inst.sites.cost)
    r = MODELS["pmedian"](inst, p=1)
    assert r.selected == ("s1",) and r.objective == pytest.approx(10 * 4 + 20 * 2)
    assert pd.isna(r.coverage.set_index("demand_id").loc["d2", "site_id"])


def test_budget_below_required_cost():
    inst = random_instance(5, 4, seed=0)
    status = inst.sites.status.copy()
    status[:] = SiteStatus.REQUIRED
    from dataclasses import replace

    inst = replace(inst, sites=replace(inst.sites, status=status))
    with pytest.raises(InfeasibleError, match="budget"):
        MODELS["backup"](inst, threshold_min=10, budget=0.5)


def test_statuses_are_honoured():
    inst = random_instance(12, 8, seed=5, statuses=True)
    st = inst.sites.status.astype(str)
    for name, params in [("gradual", dict(threshold_min=5, outer_threshold_min=12, max_sites=2)),
                         ("backup", dict(threshold_min=10, max_sites=2)),
                         ("capacitated", dict(threshold_min=10, max_sites=2, capacity=40.0))]:
        r = MODELS[name](inst, **params)
        sel = set(r.selected)  # the sites to convert: existing ones stay open but are not "selected"
        opened = set(r.sites.loc[r.sites["open"], "site_id"])
        assert set(inst.sites.ids[st == "existing"]) <= opened - sel, name
        assert not set(inst.sites.ids[st == "excluded"]) & opened, name
        assert set(inst.sites.ids[st == "required"]) <= sel, name
        assert sel == set(r.sites.loc[r.sites["selected"], "site_id"]), name


def test_bad_arguments():
    inst = random_instance(5, 4, seed=1, groups=True)
    with pytest.raises(InputError, match="method"):
        MODELS["pcenter"](inst, p=1, method="magic")
    with pytest.raises(InputError, match="exactly one"):
        MODELS["equity"](inst, threshold_min=5, budget=5)
    with pytest.raises(InputError, match="outer_threshold_min"):
        MODELS["gradual"](inst, threshold_min=5, outer_threshold_min=3, budget=5)
    with pytest.raises(InputError, match="unknown demand column"):
        MODELS["pmedian"](inst, p=1, weight_column="teenagers")


def test_result_frames():
    inst = random_instance(10, 6, seed=3)
    r = MODELS["pmedian"](inst, p=2)
    assert list(r.coverage.columns[:5]) == ["demand_id", "weight", "site_id", "minutes", "covered"]
    assert r.sites["open"].sum() == 2 and r.gap is not None and r.gap < 1e-6
    assert r.summary()["selected"] == list(r.selected)


def test_pmedian_greedy_start_is_feasible_and_not_better_than_optimum():
    inst = random_instance(15, 9, seed=8, statuses=True, density=0.9)
    for formulation in ("assignment", "radius"):
        try:
            r = MODELS["pmedian"](inst, p=3, formulation=formulation)
        except InfeasibleError:
            pytest.skip("random instance has an unreachable point")
        assert r.stats["greedy_objective"] >= r.objective - 1e-9
        off = MODELS["pmedian"](inst, p=3, formulation=formulation, warm_start=False)
        assert off.objective == pytest.approx(r.objective) and "greedy_objective" not in off.stats
