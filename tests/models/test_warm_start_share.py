"""The driver gives a model's warm start its own share of the time left (``Model.warm_start_share``)."""
import time
from dataclasses import replace

import pytest

from siting.models.driver import solve_model
from siting.models.registry import MODELS
from siting.options import SolveOptions
from siting.testing import random_instance


@pytest.mark.parametrize("share", [0.5, 0.9])
def test_the_warm_start_deadline_is_the_models_share(share):
    model = MODELS["gradual"]
    seen = []

    def warm_start(instance, params, rules, built, deadline):
        seen.append((deadline - time.perf_counter()) / 20.0)
        return None

    inst = random_instance(30, 8, seed=2)
    params = model.params.from_kwargs({"threshold_min": 5, "outer_threshold_min": 10, "max_sites": 3})
    solve_model(replace(model, warm_start=warm_start, warm_start_share=share), inst, params,
                options=SolveOptions(time_limit_s=20))
    assert seen and share - 0.02 <= seen[0] <= share


@pytest.mark.parametrize("share", [0.0, 1.0, 1.5])
def test_a_share_outside_zero_one_is_refused(share):
    with pytest.raises(TypeError, match="warm_start_share"):
        replace(MODELS["gradual"], warm_start_share=share)
