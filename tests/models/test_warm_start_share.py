"""The driver gives a model's warm start its own share of the time left (``Model.warm_start_share``)."""
import time
from dataclasses import replace

import pytest

from siting.models.driver import solve_model
from siting.models.registry import MODELS
from siting.options import SolveOptions
from siting.testing import random_instance


def _deadline_share(hook: str, share: float) -> float:
    """The share of a 20-s limit the gradual model's ``hook`` (warm_start or bound) is given with ``share``."""
    model = MODELS["gradual"]
    seen = []

    def record(*args):
        seen.append((args[-1] - time.perf_counter()) / 20.0)    # the deadline is each hook's last argument
        return None

    inst = random_instance(30, 8, seed=2)
    params = model.params.from_kwargs({"threshold_min": 5, "outer_threshold_min": 10, "max_sites": 3})
    hooks = {"warm_start": None, "bound": None, hook: record, f"{hook}_share": share}
    solve_model(replace(model, **hooks), inst, params, options=SolveOptions(time_limit_s=20))
    assert seen
    return seen[0]


@pytest.mark.parametrize("share", [0.5, 0.9])
def test_the_warm_start_deadline_is_the_models_share(share):
    assert share - 0.02 <= _deadline_share("warm_start", share) <= share


@pytest.mark.parametrize("share", [0.0, 1.0, 1.5])
def test_a_share_outside_zero_one_is_refused(share):
    with pytest.raises(TypeError, match="warm_start_share"):
        replace(MODELS["gradual"], warm_start_share=share)


@pytest.mark.parametrize("share", [0.05, 0.25])
def test_the_backend_leaves_the_models_verify_share(share, monkeypatch):
    """``Model.verify_share`` of the time left stays for evaluate (capacitated: 0.25, its evaluation is an LP)."""
    import siting.models.driver as driver

    model = replace(MODELS["gradual"], bound=None, verify_share=share)
    real = driver.get_backend
    seen = []

    def spying(name):
        backend = real(name)

        class Spy:
            def __getattr__(self, attr):
                return getattr(backend, attr)

            def solve(self, program, options, warm_start=None):
                seen.append((options.time_limit_s, started + 20.0 - time.perf_counter()))
                return backend.solve(program, options, warm_start=warm_start)
        return Spy()

    monkeypatch.setattr(driver, "get_backend", spying)
    inst = random_instance(30, 8, seed=2)
    params = model.params.from_kwargs({"threshold_min": 5, "outer_threshold_min": 10, "max_sites": 3})
    started = time.perf_counter()
    solve_model(model, inst, params, options=SolveOptions(time_limit_s=20))
    limit, left = seen[0]
    assert (1.0 - share) * left - 0.5 <= limit <= (1.0 - share) * left + 0.05   # ms pass between the two


@pytest.mark.parametrize("share", [-0.1, 1.0])
def test_a_verify_share_outside_zero_one_is_refused(share):
    with pytest.raises(TypeError, match="verify_share"):
        replace(MODELS["gradual"], verify_share=share)


def test_assignment_models_keep_more_for_larger_assignment_lps():
    from siting.models.base import Built
    from siting.models.capacitated import assignment_verify_share

    def share(pairs):
        return assignment_verify_share(Built(None, stats={"n_pairs": pairs}))  # type: ignore[arg-type]

    assert share(1_000) == 0.05 and share(250_000) == 0.05 and share(1_100_000) == pytest.approx(0.25)
    assert share(5_000_000) == 0.25 and 0.05 < share(600_000) < 0.25
    assert MODELS["capacitated"].verify_share is assignment_verify_share
    assert MODELS["gradual"].verify_share == 0.05


def test_cflp_keeps_the_assignment_share_of_what_its_bound_leaves():
    """Above 100,000 pairs CFLP's bound takes its share first: the evaluation's is of what is left after it."""
    from siting.models.base import Built
    from siting.models.capacitated import assignment_verify_share
    from siting.models.cflp import bound_share, verify_share

    for pairs in (1_000, 100_000, 250_000, 431_145, 1_100_000):
        built = Built(None, stats={"n_pairs": pairs})  # type: ignore[arg-type]
        plain = assignment_verify_share(built)
        expected = plain if pairs <= 100_000 else plain / (1.0 - bound_share(built))
        assert verify_share(built) == pytest.approx(min(0.9, expected))
        # the evaluation's share of the time after the warm start: never less than capacitated coverage keeps
        left_after_bound = 1.0 - (bound_share(built) if pairs > 100_000 else 0.0)
        assert verify_share(built) * left_after_bound >= min(plain, 0.9 * left_after_bound) - 1e-12
    assert MODELS["cflp"].verify_share is verify_share


@pytest.mark.parametrize("share", [0.25, 0.75])
def test_the_bound_deadline_is_the_models_bound_share(share):
    """``Model.bound_share`` of the time left after the warm start goes to the bound (CFLP: up to 0.75)."""
    assert share - 0.03 <= _deadline_share("bound", share) <= share


def test_cflp_gives_its_bound_more_time_the_larger_its_table():
    from siting.models.base import Built
    from siting.models.cflp import BOUND_SHARE_LARGE, BOUND_SHARE_SMALL, bound_share

    def at(pairs: int) -> float:
        return bound_share(Built(None, stats={"n_pairs": pairs}))  # type: ignore[arg-type]

    assert at(0) == at(100_000) == BOUND_SHARE_SMALL and at(400_000) == at(2_000_000) == BOUND_SHARE_LARGE
    assert BOUND_SHARE_SMALL < at(250_000) < BOUND_SHARE_LARGE
    assert MODELS["cflp"].bound_share is bound_share and MODELS["gradual"].bound_share == 0.25
