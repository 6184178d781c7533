"""The multi-service program's yearly layout (``year_starts``, ``last_year``) is the one its decoder reads."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from siting.models.multiservice import MODEL
from siting.models.multiservice_heuristic import decode_years
from siting.models.multiservice_params import MultiserviceParams
from siting.models.multiservice_phase import site_columns
from siting.models.multiservice_program import last_year, year_starts
from siting.models.multiservice_reach import reach_of
from siting.rules import SiteRules

sys.path.insert(0, str(Path(__file__).parent))
from _instances import multiservice_instance  # noqa: E402


@pytest.mark.parametrize("n_years", [1, 3])
def test_year_starts_and_last_year_are_the_decoders_layout(n_years: int) -> None:
    inst = multiservice_instance(3, 60, 14)
    kwargs: dict = {"budget": 5e6}
    if n_years > 1:
        kwargs = {"phases": [{"year": 2026 + t, "budget": 2e6} for t in range(n_years)], "carry_over": True}
    params = MultiserviceParams.from_kwargs(kwargs)
    assert params.n_years == n_years
    rules = SiteRules.of(inst)
    built = MODEL.build(inst, params, rules)
    starts = year_starts(built, n_years)
    start, stop = built.program.blocks["year"]
    assert len(starts) == n_years and starts[0] == start
    assert last_year(built) == slice(built.program.blocks["site"][0], stop) == slice(starts[-1], stop)

    # one placement opened in the last year and kept (nested years): the decoder and decode_years agree on it
    reach = reach_of(inst, params, rules)
    owner, service = site_columns(reach.allowed)
    col = int(np.flatnonzero(service >= 0)[0])
    x = np.zeros(built.program.n_cols)
    opens = n_years - 1
    for base in starts[opens:]:
        x[base + col] = 1.0
        x[base + owner[col]] = 1.0
    key = reach.services[int(service[col])].key
    plan = built.plan_of(x)
    assert plan.placements[key][owner[col]] and plan.placements[key].sum() == 1
    if n_years > 1:
        assert plan.phase[key][owner[col]] == opens
    years = decode_years(x, reach, built, n_years)
    assert years[owner[col], int(service[col])] == opens and (years >= 0).sum() == 1
