"""The compiled preparation (segment seconds, search graph) gives the numpy code's arrays bit for bit.

Both paths run on the same graph: the numpy one by raising the size threshold out of reach, the compiled one by
lowering it to zero. Graphs: the 200k-node synthetic grid of the benchmark, and a small one with everything the
kernels branch on (stairs with known / unknown / infinite rise, one-way and closed segments, NaN lengths and
rises, zero-length pieces, several pieces per segment, parallel arcs, self-loops).
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from siting.travel import SpeedProfile, street_network
from siting.travel import prep as prep_module
from siting.travel.arcs import _search_graph
from siting.travel.graph import WalkGraph
from siting.travel.matrix import numba_available
from siting.travel.slopes import SlopeResponse
from siting.travel.speed import StairRates

pytestmark = [pytest.mark.skipif(not numba_available(), reason="numba not installed"),
              pytest.mark.filterwarnings("ignore::RuntimeWarning")]  # the numpy path on NaN / inf inputs

SG_FIELDS = ("indptr", "arcs", "head", "cost", "fwd_m", "bwd_m", "ratio", "max_out_degree", "short_cost_m")

PROFILES = [
    SpeedProfile(),
    SpeedProfile.default(elderly=True),
    SpeedProfile.default(elderly=True, stairs_factor=0.5),
    SpeedProfile.default(elderly=True, use_slope=False),
    SpeedProfile({"adult": 1.1, "slow": 0.6}, stairs={"slow": StairRates(0.2, 0.3)},
                 slopes={"slow": SlopeResponse(uphill_k=5.0, downhill_k=2.0, optimum_grade=0.1)}),
]


def _same_bits(a: object, b: object) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@functools.cache
def numpy_exp_is_libm() -> bool:
    """Whether ``numpy.exp`` of float64 arrays is the C library's ``exp`` (the compiled kernel's) on this CPU.

    Not on AVX-512 (X86_V4) CPUs: numpy's wheels then dispatch to SVML (``__svml_exp8_ha``), which differs from
    glibc by 1 ulp on a few per cent of arguments, so slope-factor segment costs can differ by a few ulps.
    """
    x = -np.random.default_rng(0).uniform(0.0, 3.0, 20_000)
    return bool(np.array_equal(np.exp(x), np.array([math.exp(v) for v in x])))


def assert_same_segment_costs(want: np.ndarray, got: np.ndarray, context: object = None) -> None:
    """Bit for bit where numpy's ``exp`` is libm's, else within a few ulps (same non-finite entries)."""
    if numpy_exp_is_libm():
        assert _same_bits(want, got), context
    else:
        assert want.dtype == got.dtype and want.shape == got.shape, context
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=0.0, err_msg=str(context))


def _both_ways(monkeypatch: pytest.MonkeyPatch, compute):
    monkeypatch.setattr(prep_module, "COMPILED_MIN_ITEMS", 2**62)
    numpy_out = compute()
    monkeypatch.setattr(prep_module, "COMPILED_MIN_ITEMS", 0)
    return numpy_out, compute()


def _check_profiles(monkeypatch: pytest.MonkeyPatch, graph: WalkGraph, profiles: list[SpeedProfile]) -> None:
    for profile in profiles:
        for group, v in profile.groups.items():
            want, got = _both_ways(monkeypatch, lambda p=profile, g=group, s=v: p.segment_seconds(graph, g, scale=s))
            for w, h in zip(want, got, strict=True):
                assert_same_segment_costs(w, h, (profile, group))
            for reverse in (False, True):
                sg_want, sg_got = _both_ways(monkeypatch, lambda r=reverse, c=want: _search_graph(graph, *c, r))
                for name in SG_FIELDS:
                    assert _same_bits(getattr(sg_want, name), getattr(sg_got, name)), (profile, group, name)


def _awkward_graph(seed: int) -> WalkGraph:
    base = street_network(900, seed=seed, stairs_slope=0.05)
    rng = np.random.default_rng(seed)
    u, v = base.seg_u, base.seg_v
    # parallel segments (longer and shorter copies) and self-loops
    dup = rng.choice(u.size, 60, replace=False)
    loops = rng.choice(base.n_nodes, 5, replace=False)
    u = np.r_[u, u[dup], loops]
    v = np.r_[v, v[dup], loops]
    m = u.size
    # 1-3 pieces per segment; rises from the nodes with noise, some unknown or infinite, some pieces of length 0
    n_pieces = rng.integers(1, 4, m)
    piece_seg = np.repeat(np.arange(m), n_pieces)
    piece_len = rng.uniform(0.0, 60.0, piece_seg.size)
    piece_len[rng.random(piece_seg.size) < 0.03] = 0.0
    piece_len[rng.random(piece_seg.size) < 0.003] = np.nan
    rise = (base.node_z[v] - base.node_z[u])[piece_seg] / n_pieces[piece_seg] + rng.normal(0, 1, piece_seg.size)
    rise[rng.random(piece_seg.size) < 0.05] = np.nan
    rise[rng.random(piece_seg.size) < 0.003] = np.inf
    rise[rng.random(piece_seg.size) < 0.003] = -np.inf
    stairs = np.r_[base.seg_stairs, rng.random(m - base.n_segments) < 0.3]
    fwd = rng.random(m) > 0.1
    bwd = rng.random(m) > 0.1
    bwd[rng.choice(m, 20, replace=False)] = False
    fwd[rng.choice(m, 20, replace=False)] = False  # some closed both ways
    return WalkGraph.from_segments(base.node_x, base.node_y, base.node_z, u, v, stairs=stairs, fwd=fwd, bwd=bwd,
                                   pieces=(piece_seg, piece_len, rise), seg_length_m=np.bincount(
                                       piece_seg, weights=np.nan_to_num(piece_len), minlength=m))


@pytest.mark.parametrize("seed", [0, 1])
def test_awkward_graph_same_bits(monkeypatch, seed):
    g = _awkward_graph(seed)
    assert g.seg_stairs.any() and not g.seg_fwd.all() and np.isnan(g.piece_rise_m).any()
    _check_profiles(monkeypatch, g, PROFILES)


def test_benchmark_grid_same_bits(monkeypatch):
    g = street_network(200_000, seed=0)
    _check_profiles(monkeypatch, g, PROFILES[:3])


def test_small_inputs_stay_on_numpy(monkeypatch):
    """Below the threshold the compiled kernels are not even loaded (a handful of pieces does not pay numba)."""
    monkeypatch.setattr(prep_module, "_arc_kernels", lambda: pytest.fail("kernels loaded for a tiny graph"))
    g = WalkGraph.from_segments([0, 100], [0, 0], [0, 10], [0], [1])
    fwd, bwd = SpeedProfile().segment_seconds(g, "adult", scale=2.0)
    assert fwd[0] == pytest.approx(2 * 141.9, abs=0.1) and bwd[0] == pytest.approx(200.0)
    sg = _search_graph(g, fwd, bwd, False)
    assert sg.head.tolist() == [1, 0] and sg.cost.tolist() == [fwd[0], bwd[0]]
