"""Snapping edge cases: on a node, on a midpoint, off the street, isolated, disconnected parts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siting.errors import InputError
from siting.travel import WalkGraph, compute_travel_times, snap_points


@pytest.fixture
def two_parts():
    # component A: 0-1-2 along y=0 ; component B: 3-4 far away at y=1000
    return WalkGraph.from_segments([0, 100, 200, 0, 100], [0, 0, 0, 1000, 1000], None,
                                   [0, 1, 3], [1, 2, 4], crs="EPSG:32648")


def test_point_on_node(two_parts):
    s = snap_points(two_parts, [100.0], [0.0])
    assert s.access_m[0] == 0.0
    seg, f = int(s.seg[0]), float(s.frac[0])
    node = two_parts.seg_u[seg] if f == 0.0 else two_parts.seg_v[seg]
    assert f in (0.0, 1.0) and node == 1


def test_point_on_midpoint_and_off_street(two_parts):
    s = snap_points(two_parts, [150.0, 50.0], [0.0, -12.0])
    assert s.seg.tolist() == [1, 0]
    assert s.frac.tolist() == pytest.approx([0.5, 0.5])
    assert s.access_m.tolist() == pytest.approx([0.0, 12.0])
    assert (s.x.tolist(), s.y.tolist()) == ([150.0, 50.0], [0.0, 0.0])


def test_isolated_point_is_reported(two_parts):
    d = pd.DataFrame({"id": ["near", "far"], "x": [50.0, 5000.0], "y": [5.0, 5000.0]})
    c = pd.DataFrame({"id": ["c"], "x": [150.0], "y": [0.0]})
    t = compute_travel_times(two_parts, d, c, cutoff_min=15, max_snap_m=200)
    assert t["demand_id"].tolist() == ["near"]
    far = t.attrs["far_points"]
    assert far["id"].tolist() == ["far"] and far["role"].tolist() == ["demand"]
    assert far["distance_m"].iloc[0] > 200


def test_access_legs_count_in_the_time(two_parts):
    d = pd.DataFrame({"id": ["d"], "x": [0.0], "y": [-30.0]})     # 30 m off the street at node 0
    c = pd.DataFrame({"id": ["c"], "x": [200.0], "y": [45.0]})    # 45 m off the street at node 2
    t = compute_travel_times(two_parts, d, c, cutoff_min=15)
    assert t["minutes"].item() == pytest.approx((30 + 200 + 45) / 60)


def test_same_segment_pair_walks_along_it(two_parts):
    d = pd.DataFrame({"id": ["d"], "x": [120.0], "y": [0.0]})
    c = pd.DataFrame({"id": ["c"], "x": [180.0], "y": [0.0]})
    t = compute_travel_times(two_parts, d, c, cutoff_min=15)
    assert t["minutes"].item() == pytest.approx(60 / 60)


def test_disconnected_components_have_no_pairs(two_parts):
    d = pd.DataFrame({"id": ["a", "b"], "x": [50.0, 50.0], "y": [0.0, 1000.0]})
    c = pd.DataFrame({"id": ["ca", "cb"], "x": [150.0, 60.0], "y": [0.0, 1000.0]})
    t = compute_travel_times(two_parts, d, c, cutoff_min=60)
    pairs = set(zip(t["demand_id"], t["candidate_id"], strict=True))
    assert pairs == {("a", "ca"), ("b", "cb")}


def test_cutoff_is_inclusive_and_excludes_slower(two_parts):
    d = pd.DataFrame({"id": ["d"], "x": [0.0], "y": [0.0]})
    c = pd.DataFrame({"id": ["c1", "c2"], "x": [60.0, 200.0], "y": [0.0, 0.0]})
    t = compute_travel_times(two_parts, d, c, cutoff_min=1.0)     # 60 m at 1 m/s = exactly 1 min
    assert t["candidate_id"].tolist() == ["c1"]


def test_crs_mismatch_names_both(two_parts):
    d = pd.DataFrame({"id": ["d"], "x": [0.0], "y": [0.0]})
    d.attrs["crs"] = "EPSG:4547"
    with pytest.raises(InputError) as err:
        compute_travel_times(two_parts, d, d, cutoff_min=5)
    message = str(err.value)
    assert "EPSG:4547" in message and "EPSG:32648" in message and "\n" not in message


def test_missing_coordinate_names_row(two_parts):
    d = pd.DataFrame({"id": ["d0", "d1"], "x": [0.0, np.nan], "y": [0.0, 1.0]})
    with pytest.raises(InputError, match=r"row 1 \(id d1\), column 'x'") as err:
        compute_travel_times(two_parts, d, d.iloc[:1], cutoff_min=5)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("bad", [pd.DataFrame({"x": [0.0], "y": [0.0]}),
                                 pd.DataFrame({"id": ["d"], "x": ["east"], "y": [0.0]}),
                                 [(0.0, 0.0)]])
def test_bad_points_are_one_line_input_errors(two_parts, bad):
    with pytest.raises(InputError) as err:
        compute_travel_times(two_parts, bad, bad, cutoff_min=5)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("cutoff", [0, -1.0, float("nan"), "ten"])
def test_bad_cutoff_is_an_input_error(two_parts, cutoff):
    d = pd.DataFrame({"id": ["d"], "x": [0.0], "y": [0.0]})
    with pytest.raises(InputError, match="cutoff"):
        compute_travel_times(two_parts, d, d, cutoff_min=cutoff)
