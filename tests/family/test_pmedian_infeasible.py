"""A p-median no plan can satisfy says why (before: the solver's bare "Infeasible")."""
from __future__ import annotations

import numpy as np
import pytest

from siting.data.orlib import instance_from_pairs
from siting.models.pmedian import solve_pmedian


def two_islands():
    """Points 0-2 reach only sites 0-1, points 3-5 only sites 2-3: one site cannot reach everyone."""
    d = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    s = np.array([0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3])
    t = np.arange(12, dtype=float) % 5 + 1
    return instance_from_pairs(d, s, t, population=np.ones(6), cost=np.array([1.0, 2.0, 3.0, 4.0]))


@pytest.mark.parametrize("formulation", ["iterative", "assignment"])
def test_too_few_sites_to_reach_everyone(formulation):
    r = solve_pmedian(two_islands(), p=1, formulation=formulation)
    assert r.status.value == "infeasible" and r.selected == ()
    assert r.message.startswith("pmedian: no plan of exactly 1 sites reaches every demand point")
    assert "budget" not in r.message


def test_the_budget_is_named_when_there_is_one():
    r = solve_pmedian(two_islands(), p=2, budget=3.5)   # one site per island costs at least 1 + 3
    assert r.status.value == "infeasible" and "travel table and the budget of 3.5 (" in r.message


def test_two_sites_do_it():
    r = solve_pmedian(two_islands(), p=2)
    assert r.status.value == "optimal" and len(r.selected) == 2
