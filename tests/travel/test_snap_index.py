"""The KD-tree snapping equals a brute-force nearest segment (shapely distances to every geometry)."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from siting.travel import WalkGraph, snap_points, street_network
from siting.travel.snap import street_distance


def _curvy_graph(seed: int) -> WalkGraph:
    """Segments with 1-6 interior vertices, some very long, some zero-length pieces."""
    rng = np.random.default_rng(seed)
    n = 40
    x, y = rng.uniform(0, 2000, n), rng.uniform(0, 2000, n)
    u = rng.integers(0, n, 90)
    v = (u + rng.integers(1, n, 90)) % n
    geoms = []
    for a, b in zip(u, v, strict=True):
        k = int(rng.integers(0, 7))
        t = np.sort(rng.uniform(0, 1, k))
        mid = np.c_[x[a] + t * (x[b] - x[a]) + rng.normal(0, 60, k), y[a] + t * (y[b] - y[a]) + rng.normal(0, 60, k)]
        pts = np.vstack([[x[a], y[a]], mid, [x[b], y[b]]])
        if k and rng.random() < 0.2:
            pts = np.insert(pts, 1, pts[1], axis=0)  # a repeated vertex: a zero-length piece
        geoms.append(shapely.linestrings(pts))
    return WalkGraph.from_segments(x, y, None, u, v, seg_geom=np.array(geoms, dtype=object))


def _brute(graph: WalkGraph, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest segment (lowest index among the nearest) and its distance, by every distance."""
    pts = shapely.points(px, py)
    dist = shapely.distance(pts[:, None], graph.seg_geom[None, :])
    best = dist.min(axis=1)
    return np.argmax(dist <= best[:, None] * (1 + 1e-12) + 1e-9, axis=1), best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nearest_segment_equals_brute_force(seed):
    g = _curvy_graph(seed)
    rng = np.random.default_rng(10 + seed)
    coords = shapely.get_coordinates(g.seg_geom)
    # random points, points on vertices and nodes (ties), and points far away
    px = np.r_[rng.uniform(-300, 2300, 400), coords[:60, 0], g.node_x[:10], 9000.0]
    py = np.r_[rng.uniform(-300, 2300, 400), coords[:60, 1], g.node_y[:10], -4000.0]
    s = snap_points(g, px, py, max_distance_m=1e9)
    seg, dist = _brute(g, px, py)
    np.testing.assert_allclose(s.access_m, dist, rtol=1e-9, atol=1e-7)
    np.testing.assert_array_equal(s.seg, seg)
    # the snapped position lies on the chosen segment at the stated fraction of its length
    on = shapely.line_interpolate_point(g.seg_geom[s.seg], s.frac * g.geom_length_m[s.seg])
    np.testing.assert_allclose(np.c_[shapely.get_x(on), shapely.get_y(on)], np.c_[s.x, s.y], atol=1e-6)
    np.testing.assert_allclose(street_distance(g, px, py), dist, rtol=1e-9, atol=1e-7)


def test_many_points_on_a_street_grid_match_brute_force():
    g = street_network(900, seed=3)
    rng = np.random.default_rng(4)
    px, py = rng.uniform(-100, 2500, 1000), rng.uniform(-100, 2500, 1000)
    s = snap_points(g, px, py, max_distance_m=50)
    seg, dist = _brute(g, px, py)
    near = dist <= 50
    assert 0 < near.sum() < len(px)
    np.testing.assert_array_equal(s.seg, np.where(near, seg, -1))
    np.testing.assert_allclose(s.access_m[near], dist[near], rtol=1e-9, atol=1e-7)
    assert np.isinf(s.access_m[~near]).all()
