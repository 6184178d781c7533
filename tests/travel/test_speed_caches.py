"""What makes repeated walking-time calls fast changes no result.

* The compiled grid snapping gives exactly the KD-tree's pieces, distances and positions.
* Segment costs and search graphs kept per (network, speed class) give the same tables as fresh ones, and a
  different profile never reuses another's costs.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from siting.travel import SpeedProfile, compute_travel_times, random_points, street_network
from siting.travel.arcs import SEARCH_GRAPH_CACHE_ENTRIES, search_graph
from siting.travel.job import COST_CACHE_ENTRIES, class_segment_costs
from siting.travel.matrix import numba_available
from siting.travel.snap import SnapIndex, _index


@pytest.fixture(scope="module")
def graph():
    return street_network(2500, seed=5)


def _fresh(g):
    """A copy of ``g`` without any of its caches."""
    return dataclasses.replace(g)


@pytest.mark.skipif(not numba_available(), reason="numba not installed")
def test_grid_snapping_equals_the_kd_tree_exactly(graph):
    index = _index(graph)
    tree_only = dataclasses.replace(index, grid=None)
    rng = np.random.default_rng(7)
    x0, x1 = graph.node_x.min(), graph.node_x.max()
    y0, y1 = graph.node_y.min(), graph.node_y.max()
    # scattered points, points on nodes and on piece ends (ties), points far outside the network
    px = np.r_[rng.uniform(x0 - 200, x1 + 200, 3000), graph.node_x[:300], index.bx[:300], x1 + 5000.0, x0 - 1e5]
    py = np.r_[rng.uniform(y0 - 200, y1 + 200, 3000), graph.node_y[:300], index.by[:300], y0 - 3000.0, y1]
    got = index.nearest(px, py)
    want = tree_only.nearest(px, py)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (got[0] >= 0).all()


def test_grid_has_every_piece_and_few_cells(graph):
    index = SnapIndex.build(graph)
    grid = index.grid
    assert np.array_equal(np.unique(grid.cell_piece), np.arange(index.ax.size))
    assert grid.nx * grid.ny <= 2 * index.stretch_piece.size + grid.nx + grid.ny + 1
    assert grid.cell_m >= index.stretch_m


def test_cached_costs_give_the_same_table_as_a_fresh_graph(graph):
    d = random_points(graph, 300, seed=1, prefix="d", offset_m=20)
    s = random_points(graph, 120, seed=2, prefix="s", offset_m=20)
    slow = SpeedProfile(groups={"adult": 0.8})
    elderly = SpeedProfile.default(elderly=True)
    # alternate profiles on one graph (cache hits and evictions), each compared with a graph without caches
    for profile in (None, slow, elderly, None, slow, elderly):
        kept = compute_travel_times(graph, d, s, cutoff_min=10, profile=profile)
        fresh = compute_travel_times(_fresh(graph), d, s, cutoff_min=10, profile=profile)
        assert len(kept) > 0
        assert kept.equals(fresh)
    # reversed search (fewer demand points than sites) uses its own search graph
    kept = compute_travel_times(graph, s, d, cutoff_min=10)
    assert kept.equals(compute_travel_times(_fresh(graph), s, d, cutoff_min=10))


def test_costs_are_kept_per_speed_class_and_bounded(graph):
    g = _fresh(graph)
    a = class_segment_costs(g, SpeedProfile(), "adult")
    assert class_segment_costs(g, SpeedProfile(groups={"adult": 1.0}), "adult") is a
    b = class_segment_costs(g, SpeedProfile(groups={"adult": 1.2}), "adult")
    assert b is not a and not np.array_equal(a[0], b[0])
    flat = class_segment_costs(g, SpeedProfile(use_slope=False), "adult")
    assert flat is not a
    for k in range(2 * COST_CACHE_ENTRIES):
        class_segment_costs(g, SpeedProfile(groups={"adult": 0.5 + 0.05 * k}), "adult")
    assert len(g.__dict__["_class_costs"]) == COST_CACHE_ENTRIES
    sg = search_graph(g, *a)
    assert search_graph(g, *a) is sg
    assert search_graph(g, *a, reverse=True) is not sg
    # equal values in other arrays are not taken for the cached ones
    assert search_graph(g, a[0].copy(), a[1].copy()) is not sg
    for k in range(2 * SEARCH_GRAPH_CACHE_ENTRIES):
        search_graph(g, a[0] * (1 + k), a[1])
    assert len(g.__dict__["_search_graphs"]) == SEARCH_GRAPH_CACHE_ENTRIES


def test_two_threads_give_the_same_table(graph):
    d = random_points(graph, 400, seed=3, prefix="d", offset_m=20)
    s = random_points(graph, 150, seed=4, prefix="s", offset_m=20)
    one = compute_travel_times(_fresh(graph), d, s, cutoff_min=10, threads=1)
    assert len(one) > 0
    # a fresh graph: the snapping index is built before the two layers are snapped in parallel
    assert compute_travel_times(_fresh(graph), d, s, cutoff_min=10, threads=2).equals(one)
    assert compute_travel_times(graph, d, s, cutoff_min=10, threads=None, engine="numba").equals(one)
