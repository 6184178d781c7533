"""Candidate layers: status semantics, optional columns and bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import SITES, assert_one_line, write_csv

from siting.data import SiteStatus, read_sites, sites_from_frame
from siting.errors import InputError


def test_statuses_costs_and_capacity(files):
    s = read_sites(files["sites"])
    assert s.ids.tolist() == ["s1", "s2", "s3"]
    assert [type(v) for v in s.status] == [SiteStatus] * 3
    assert list(s.status) == [SiteStatus.CANDIDATE, SiteStatus.EXISTING, SiteStatus.REQUIRED]
    np.testing.assert_allclose(s.cost, [10, 0, 30])  # existing forced to 0
    assert s.capacity[0] == 500 and np.isnan(s.capacity[1])
    assert s.floor_area is None
    assert s.mask(SiteStatus.REQUIRED).tolist() == [False, False, True]


def test_existing_cost_is_forced_to_zero_and_may_be_blank():
    df = pd.DataFrame({"id": ["a", "b"], "cost": [np.nan, 7.0], "status": ["Existing ", "existing"],
                       "x": 0, "y": 0})
    s = sites_from_frame(df)
    assert s.cost.tolist() == [0.0, 0.0]


def test_missing_status_column_means_all_candidates_and_extras_kept():
    df = pd.DataFrame({"id": ["a", "b"], "cost": [1, 2], "x": 0, "y": 0, "rent": [3.5, 4.0],
                       "name": ["old school", "mill"]})
    s = sites_from_frame(df)
    assert all(v is SiteStatus.CANDIDATE for v in s.status)
    assert list(s.extra) == ["rent"]


def _bad(tmp_path, text):
    p = write_csv(tmp_path / "candidates.csv", text)
    with pytest.raises(InputError) as info:
        read_sites(p)
    return str(p), info.value


def test_unknown_status_suggests(tmp_path):
    path, err = _bad(tmp_path, SITES.replace("required", "requird"))
    assert_one_line(err, path, "row 4", "id s3", "column 'status'", "'requird'", "did you mean 'required'")


def test_negative_cost(tmp_path):
    path, err = _bad(tmp_path, SITES.replace("s1,10", "s1,-10"))
    assert_one_line(err, path, "row 2", "id s1", "column 'cost'", "negative")


def test_missing_cost_of_a_candidate(tmp_path):
    path, err = _bad(tmp_path, SITES.replace("s3,30", "s3,"))
    assert_one_line(err, path, "row 4", "id s3", "column 'cost'", "missing")


def test_non_numeric_cost(tmp_path):
    path, err = _bad(tmp_path, SITES.replace("s1,10", "s1,10k"))
    assert_one_line(err, path, "row 2", "id s1", "column 'cost'", "'10k'")


def test_negative_capacity(tmp_path):
    path, err = _bad(tmp_path, SITES.replace("30,700", "30,-700"))
    assert_one_line(err, path, "row 4", "id s3", "column 'capacity'", "negative")


def test_duplicate_site_id(tmp_path):
    path, err = _bad(tmp_path, SITES.replace("s3,", "s2,"))
    assert_one_line(err, path, "row 4", "id s2", "column 'id'", "duplicate")


def test_missing_cost_column(tmp_path):
    path, err = _bad(tmp_path, "id,costs,x,y\na,1,0,0")
    assert_one_line(err, path, "column 'cost'", "did you mean 'costs'")
