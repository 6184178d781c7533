"""Review of the compiled walking-time preparation (2915c70): edge graphs, the cutoff boundary, threads, no numba.

``test_compiled_prep.py`` compares the compiled and numpy preparation on an awkward 900-node graph and the
benchmark grid; these add the degenerate graphs, the search results at exactly the cutoff (the kernel's "not
reached" became the float just above it), the lazily computed ``head`` / ``cost`` / ``ratio`` read by two threads
at once, and the numpy fallback when numba cannot be imported.
"""
from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import siting.travel
from siting.errors import InputError
from siting.travel import SpeedProfile
from siting.travel import prep as prep_module
from siting.travel.arcs import _search_graph
from siting.travel.graph import WalkGraph
from siting.travel.matrix import numba_available, od_costs, search_graph
from siting.travel.snap import snap_points

from .test_compiled_prep import (
    PROFILES,
    SG_FIELDS,
    _awkward_graph,
    _both_ways,
    _check_profiles,
    _same_bits,
    assert_same_segment_costs,
    numpy_exp_is_libm,
)

pytestmark = [pytest.mark.skipif(not numba_available(), reason="numba not installed"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]


def _edge_graphs() -> dict[str, WalkGraph]:
    return {
        # node 2 has no out-arc (one-way into it), nodes 3 and 4 are isolated, a self-loop at 0, parallel 0-1
        "sink_isolated": WalkGraph.from_segments(
            [0, 100, 200, 500, 600], [0, 0, 0, 500, 600], [0, 5, 5, 0, 0], [0, 1, 0, 0], [1, 2, 1, 0],
            fwd=[True, True, True, True], bwd=[True, False, True, True], stairs=[False, False, True, False]),
        "self_loop_only": WalkGraph.from_segments([0, 100], [0, 0], None, [0], [0]),
        "closed_only": WalkGraph.from_segments([0, 100], [0, 0], None, [0], [1], fwd=[False], bwd=[False]),
        "empty": WalkGraph.from_segments(np.zeros(0), np.zeros(0), None, np.zeros(0, int), np.zeros(0, int)),
    }


@pytest.mark.parametrize("name", ["sink_isolated", "self_loop_only", "closed_only", "empty"])
def test_edge_graphs_same_bits(monkeypatch, name):
    graph = _edge_graphs()[name]
    _check_profiles(monkeypatch, graph, PROFILES[:3])
    for profile in PROFILES[:3]:
        for group, v in profile.groups.items():
            costs = profile.segment_seconds(graph, group, scale=v)
            for reverse in (False, True):
                assert _search_graph(graph, *costs, reverse).indptr.shape == (graph.n_nodes + 1,)


def _node_points(graph: WalkGraph, step: int):
    nodes = np.arange(0, graph.n_nodes, step)
    return snap_points(graph, graph.node_x[nodes].astype(float), graph.node_y[nodes].astype(float))


@pytest.mark.parametrize("reverse", [False, True])
def test_a_target_at_exactly_the_cutoff_is_reached(monkeypatch, reverse):
    """Points on nodes: every cost found with a large cutoff, used as the cutoff, keeps its pair (not 1 ulp less)."""
    monkeypatch.setattr(prep_module, "COMPILED_MIN_ITEMS", 0)
    graph = _awkward_graph(3)
    sg = _search_graph(graph, *SpeedProfile().segment_seconds(graph, "adult"), reverse)
    pts = _node_points(graph, 30)
    s_all, t_all, c_all = od_costs(sg, pts, pts, limit_m=1e7, engine="numba")
    positive = np.flatnonzero(c_all > 0)
    assert positive.size > 100
    for i in positive[:: max(1, positive.size // 8)]:
        limit = float(c_all[i])
        for eng in ("numba", "scipy"):
            s, t, c = od_costs(sg, pts, pts, limit_m=limit, engine=eng)
            assert ((s == s_all[i]) & (t == t_all[i])).any(), (eng, limit)
            assert c.max() <= limit
        s, t, _ = od_costs(sg, pts, pts, limit_m=float(np.nextafter(limit, 0.0)), engine="numba")
        assert not ((s == s_all[i]) & (t == t_all[i])).any()


def test_scipy_reads_the_lazy_fields_and_agrees_with_numba(monkeypatch):
    monkeypatch.setattr(prep_module, "COMPILED_MIN_ITEMS", 0)
    graph = _awkward_graph(4)
    sg = _search_graph(graph, *SpeedProfile.default(elderly=True).segment_seconds(graph, "elderly"), False)
    assert "head" not in sg.__dict__ and "ratio" not in sg.__dict__  # lazily computed
    pts = _node_points(graph, 9)
    a = od_costs(sg, pts, pts, limit_m=900.0, engine="numba")
    b = od_costs(sg, pts, pts, limit_m=900.0, engine="scipy")
    oa, ob = np.lexsort(a[:2][::-1]), np.lexsort(b[:2][::-1])
    assert a[0].size > 200
    assert np.array_equal(a[0][oa], b[0][ob]) and np.array_equal(a[1][oa], b[1][ob])
    np.testing.assert_allclose(a[2][oa], b[2][ob], rtol=1e-12)
    assert sg.head.dtype == np.int64 and sg.head.flags.c_contiguous and sg.cost.flags.c_contiguous
    assert sg.indptr[-1] == sg.head.size and np.array_equal(sg.head, sg.arcs["head"])
    assert _same_bits(sg.cost, np.ascontiguousarray(sg.arcs["cost"])) and sg.ratio >= 1.0


def test_two_threads_on_one_fresh_search_graph(monkeypatch):
    """Two scipy threads read head / cost / ratio for the first time at once, a third searches by numba."""
    monkeypatch.setattr(prep_module, "COMPILED_MIN_ITEMS", 0)
    graph = _awkward_graph(5)
    costs = SpeedProfile().segment_seconds(graph, "adult")
    pts = _node_points(graph, 7)
    want = {eng: od_costs(_search_graph(graph, *costs, True), pts, pts, limit_m=700.0, engine=eng)
            for eng in ("scipy", "numba")}
    for _ in range(3):
        sg = _search_graph(graph, *costs, True)
        barrier = threading.Barrier(3)
        got: dict[str, tuple] = {}

        def run(key: str, sg=sg, barrier=barrier, got=got) -> None:
            barrier.wait()
            got[key] = od_costs(sg, pts, pts, limit_m=700.0, engine=key.rstrip("2"))

        threads = [threading.Thread(target=run, args=(key,)) for key in ("scipy", "scipy2", "numba")]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        for key in ("scipy", "scipy2", "numba"):
            assert all(_same_bits(w, h) for w, h in zip(want[key.rstrip("2")], got[key], strict=True)), key


def test_without_numba_the_numpy_code_gives_the_same_bits(monkeypatch):
    """The loader answers None when numba cannot be imported, and the callers then run the numpy code."""
    monkeypatch.setattr(prep_module, "COMPILED_MIN_ITEMS", 0)
    graph = _awkward_graph(6)
    profile = PROFILES[4]
    compiled = profile.segment_seconds(graph, "slow", scale=0.6)
    compiled_sg = _search_graph(graph, *compiled, False)
    monkeypatch.setitem(sys.modules, "numba", None)  # "import numba" raises ImportError
    monkeypatch.delitem(sys.modules, "siting.travel._arc_kernels", raising=False)
    monkeypatch.delattr(siting.travel, "_arc_kernels", raising=False)
    assert prep_module._arc_kernels.__wrapped__() is None
    monkeypatch.setattr(prep_module, "_arc_kernels", prep_module._arc_kernels.__wrapped__)
    assert prep_module.prep_kernels(10**9) is None
    plain = profile.segment_seconds(graph, "slow", scale=0.6)
    for w, h in zip(compiled, plain, strict=True):
        assert_same_segment_costs(w, h)
    plain_sg = _search_graph(graph, *compiled, False)  # the same costs in: the arcs must match bit for bit
    for field in SG_FIELDS:
        assert _same_bits(getattr(compiled_sg, field), getattr(plain_sg, field)), field


def test_the_exp_probe_sees_this_cpu():
    """Without AVX-512 numpy's float64 ``exp`` is libm's: the probe must then demand the same bits."""
    from numpy._core._multiarray_umath import __cpu_features__ as cpu

    if not cpu.get("AVX512_SKX", False):
        assert numpy_exp_is_libm()


@pytest.mark.parametrize("scale", [0.0, -1.0, 0.76])
def test_closed_segments_are_scaled_like_numpy(monkeypatch, scale):
    """``segment_seconds(scale=...)``: a closed segment is ``inf * scale`` in both paths (NaN at 0, -inf below)."""
    graph = WalkGraph.from_segments([0, 100, 200], [0, 0, 0], [0, 5, 5], [0, 1], [1, 2], fwd=[True, False],
                                    bwd=[True, True])
    want, got = _both_ways(monkeypatch, lambda: SpeedProfile().segment_seconds(graph, "adult", scale=scale))
    for w, h in zip(want, got, strict=True):
        assert_same_segment_costs(w, h, scale)
    assert _same_bits(want[0][1], np.float64(np.inf) * scale)


@pytest.mark.parametrize("limit_m", [float("inf"), 0.0, -5.0, float("nan")])
@pytest.mark.parametrize("engine", ["scipy", "numba"])
def test_a_cutoff_that_is_not_a_positive_distance_is_refused(limit_m: float, engine: str):
    # inf crashed the numba engine deep inside; 0, -5 and NaN gave an empty table (nobody reaches anything)
    g = WalkGraph.from_segments([0, 100, 200], [0, 0, 0], None, [0, 1], [1, 2])
    sg = search_graph(g, *g.segment_costs())
    pts = snap_points(g, [10.0, 150.0], [0.0, 5.0])
    with pytest.raises(InputError, match="positive finite distance.*limit_m|limit_m.*positive finite distance"):
        od_costs(sg, pts, pts, limit_m=limit_m, engine=engine)
