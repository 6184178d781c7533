"""With priority levels the warm start searches a weighted objective, so the first level is not left at the greedy's.

The driver holds each level at the warm start's value when its stage (seconds at city size) finds nothing better;
a warm start maximising the plain sum left elderly care, the first priority, at 0.172 on an 8,000 x 800 generated
city where the level alone reaches 0.397 (0.293 with the weights).
"""
from __future__ import annotations

import numpy as np
import pytest

from siting.models import multiservice_heuristic as heuristic
from siting.models.multiservice import MODEL
from siting.models.multiservice_params import MultiserviceParams
from siting.models.multiservice_reach import reach_of
from siting.rules import SiteRules
from siting.services.catalog import Catalog, Service
from siting.testing import random_instance


def _case(seed: int, budget: float = 6.0):
    inst = random_instance(60, 14, seed=seed, groups=True)
    cat = Catalog((Service("elderly_care", 10.0, "elderly", fitout_cost=1.0, priority=1),
                   Service("childcare", 8.0, "children", fitout_cost=1.0, priority=2),
                   Service("health_station", 12.0, "population", fitout_cost=1.0)))
    params = MultiserviceParams(budget=budget, catalog=cat)
    rules = SiteRules.of(inst)
    return inst, params, rules, MODEL.build(inst, params, rules)


def test_weights_follow_the_levels() -> None:
    inst, params, rules, built = _case(0)
    reach = reach_of(inst, params, rules)
    weights = heuristic.level_weights(built, reach)
    assert weights is not None
    by_key = dict(zip([s.key for s in reach.services], weights, strict=True))
    w = heuristic.LEVEL_WEIGHT
    assert by_key == {"elderly_care": w ** 2, "childcare": w, "health_station": 1.0}


def test_no_levels_no_weights() -> None:
    inst, _, rules, _ = _case(0)
    params = MultiserviceParams(budget=6.0, catalog=Catalog((Service("elderly_care", 10.0, "elderly"),
                                                             Service("health_station", 12.0, "population"))))
    built = MODEL.build(inst, params, rules)
    reach = reach_of(inst, params, rules)
    assert heuristic.level_weights(built, reach) is None
    assert heuristic.weighted(built, reach, None) == (built, reach)


@pytest.mark.parametrize("seed", range(4))
def test_the_weighted_objective_is_the_sum_plus_the_weighted_levels(seed: int) -> None:
    inst, params, rules, built = _case(seed)
    reach = reach_of(inst, params, rules)
    w_built, w_reach = heuristic.weighted(built, reach, heuristic.level_weights(built, reach))
    rng = np.random.default_rng(seed)
    program = built.program
    for _ in range(5):
        x = rng.uniform(np.maximum(program.col_lower, -5), np.minimum(program.col_upper, 5))
        expected = program.objective_value(x) + sum(
            (heuristic.LEVEL_WEIGHT ** (len(built.levels) - lv.number + 1) - 1.0) * (lv.objective @ x + lv.offset)
            for lv in built.levels)
        assert w_built.program.objective_value(x) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    weights = heuristic.level_weights(built, reach)
    assert weights is not None
    for s, ws, w in zip(reach.services, w_reach.services, weights, strict=True):
        np.testing.assert_allclose(ws.value, w * s.value)
        assert ws.offset == pytest.approx(w * s.offset)
    # the program the driver solves and holds is untouched
    assert w_built.program is not built.program and np.array_equal(built.program.objective, program.objective)


def _first_level(seed: int, weight: float, monkeypatch: pytest.MonkeyPatch) -> tuple[float, float]:
    inst, params, rules, built = _case(seed, budget=4.0)
    monkeypatch.setattr(heuristic, "MIN_NNZ", 0)
    monkeypatch.setattr(heuristic, "LEVEL_WEIGHT", weight)
    # no deadline: the greedy and its local search only (no time-bound core MIPs), so the test is deterministic
    x = heuristic.warm_start(inst, params, rules, built, None)
    assert x is not None and built.program.max_violation(x, relative=True) <= 1e-7
    level = built.levels[0]
    return float(level.objective @ x + level.offset), built.program.objective_value(x)


def test_the_warm_start_puts_the_first_level_first(monkeypatch: pytest.MonkeyPatch) -> None:
    higher = 0
    for seed in range(6):
        weighted_level, _ = _first_level(seed, 10.0, monkeypatch)
        plain_level, _ = _first_level(seed, 1.0, monkeypatch)
        assert weighted_level >= plain_level - 1e-9
        higher += weighted_level > plain_level + 1e-9
    assert higher >= 1
