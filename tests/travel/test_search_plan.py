"""The search plan: per-call work proportional to sources and targets, the same search as before, exactly."""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from siting.travel import SpeedProfile, compute_travel_times, random_points, street_network
from siting.travel.arcs import stable_argsort
from siting.travel.matrix import numba_available, od_costs, plan_search, run_span, search_graph
from siting.travel.snap import snap_points

from .reference import as_dict, reference_minutes

needs_numba = pytest.mark.skipif(not numba_available(), reason="numba not installed")


@pytest.mark.parametrize("key", [np.array([3, 0, 3, 1, 0, 3]), np.random.default_rng(0).integers(0, 50, 2000),
                                 np.array([7, 2**40, 7, 0]), np.array([2, -1, 2]), np.zeros(0, dtype=np.int64)])
def test_stable_argsort_is_numpys_stable_argsort(key):
    assert np.array_equal(stable_argsort(key), np.argsort(key, kind="stable"))


@needs_numba
def test_key_lists_visit_each_key_in_stable_order():
    from siting.travel._kernels import key_lists

    key = np.random.default_rng(1).integers(0, 300, 5000)
    n = 400  # keys 300..399 have no positions
    first, nxt = key_lists(key, n)
    walked = []
    for x in range(n):
        k = first[x]
        while k >= 0:
            assert key[k] == x
            walked.append(k)
            k = nxt[k]
    assert walked == np.argsort(key, kind="stable").tolist()
    assert (first[300:] == -1).all()


@needs_numba
def test_group_by_key_is_a_csr_pointer_and_the_stable_order():
    from siting.travel._kernels import group_by_key

    key = np.random.default_rng(2).integers(0, 300, 5000)
    ptr, order = group_by_key(key, 400)  # keys 300..399 have no positions
    assert np.array_equal(order, np.argsort(key, kind="stable"))
    assert np.array_equal(ptr, np.r_[0, np.cumsum(np.bincount(key, minlength=400))])


@pytest.fixture(scope="module")
def town():
    g = street_network(3000, seed=11)
    d = random_points(g, 400, seed=1, prefix="d")
    s = random_points(g, 250, seed=2, prefix="s")
    return g, snap_points(g, d.x, d.y), snap_points(g, s.x, s.y)


@needs_numba
def test_the_plan_shares_the_graph_and_holds_nothing_larger_than_one_node_array(town):
    g, ds, ss = town
    sg = search_graph(g, *g.segment_costs())
    plan = plan_search(sg, ds, ss, limit_m=900.0)
    assert plan.indptr is sg.indptr and plan.arcs is sg.arcs
    own = [v for k, v in vars(plan).items() if isinstance(v, np.ndarray) and k not in ("indptr", "arcs")]
    assert max(a.shape[0] for a in own) <= max(g.n_nodes + 1, 2 * len(ss), len(ds))
    # no per-node table of several columns: one node-sized array at most, the rest per source or target
    assert sum(a.nbytes for a in own) <= 8 * g.n_nodes + 8 * 20 * (len(ds) + 2 * len(ss))


@needs_numba
def test_a_pickled_plan_gives_the_same_triples(town):
    """A Dask worker gets the plan pickled: the same bits from any span."""
    g, ds, ss = town
    sg = search_graph(g, *g.segment_costs())
    plan = plan_search(sg, ds, ss, limit_m=900.0)
    again = pickle.loads(pickle.dumps(plan))
    lo, hi = plan.spans(100)[1]
    for a, b in zip(run_span(plan, lo, hi), run_span(again, lo, hi), strict=True):
        assert a.size > 0 and np.array_equal(a, b)


@needs_numba
def test_targets_on_the_sources_own_segments_equal_the_split_graph_reference():
    """Many sources and targets crowded on a few segments (walked along the segment, not via its ends)."""
    g = street_network(900, seed=4)
    rng = np.random.default_rng(3)
    segs = rng.choice(g.n_segments, 8, replace=False)

    def on(segs_of, n, prefix):
        seg = segs_of[rng.integers(0, segs_of.size, n)]
        f = rng.uniform(0.05, 0.95, n)
        u, v = g.seg_u[seg], g.seg_v[seg]
        return pd.DataFrame({"id": [f"{prefix}{k}" for k in range(n)],
                             "x": g.node_x[u] + f * (g.node_x[v] - g.node_x[u]),
                             "y": g.node_y[u] + f * (g.node_y[v] - g.node_y[u])})

    d, s = on(segs, 150, "d"), on(segs, 120, "s")
    ds, ss = snap_points(g, d.x, d.y), snap_points(g, s.x, s.y)
    shared = np.intersect1d(ds.seg, ss.seg)
    assert shared.size >= 4  # the case under test: sources and targets on the same segments
    got = as_dict(compute_travel_times(g, d, s, cutoff_min=4, engine="numba", profile=SpeedProfile(stairs_factor=0.5)))
    exp = reference_minutes(g, d, s, cutoff_min=4)
    assert len(exp) > 1000 and set(got) == set(exp)
    assert max(abs(got[k] - exp[k]) for k in exp) < 1e-9


@needs_numba
def test_threads_and_a_tiny_entry_pool_give_the_single_thread_triples(town):
    g, ds, ss = town
    sg = search_graph(g, *g.segment_costs(), reverse=True)
    one = od_costs(sg, ds, ss, limit_m=1200.0, engine="numba", threads=1)
    for kw in ({"threads": 2}, {"_capacity": 0, "chunk_entries": 300}):
        other = od_costs(sg, ds, ss, limit_m=1200.0, engine="numba", **kw)
        for a, b in zip(one, other, strict=True):
            assert a.size > 1000 and np.array_equal(a, b)
