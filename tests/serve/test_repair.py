"""The repair of a previous plan frees its buildings in every year of a phased program."""
from types import SimpleNamespace

import numpy as np

from siting.serve.planner import _used


def test_a_building_used_in_any_year_is_free_in_every_year() -> None:
    # two years of 3 columns (building a, building b, a cover column), then one policy column
    program = SimpleNamespace(blocks={"year": (0, 6), "site": (3, 5)})
    x = np.array([0, 0, 0.4, 1, 0, 0.9, 0])  # building a opens in year 2 only
    used = _used(program, x)  # type: ignore[arg-type]
    assert used.tolist() == [1, 0, 0.9, 1, 0, 0.9, 1]


def test_an_unphased_program_keeps_its_own_columns() -> None:
    program = SimpleNamespace(blocks={"site": (0, 2)})
    x = np.array([1.0, 0.0, 0.3])
    assert _used(program, x).tolist() == x.tolist()  # type: ignore[arg-type]
