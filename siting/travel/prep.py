"""Which code prepares a search: one compiled pass (:mod:`siting.travel._arc_kernels`) on large graphs, numpy else.

Both give the same bits (``tests/travel/test_compiled_prep.py``). The compiled kernels are loaded on first use
only, so importing :mod:`siting.travel` does not import numba.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # both import this module
    from siting.travel.graph import WalkGraph
    from siting.travel.speed import SpeedProfile

__all__ = ["COMPILED_MIN_ITEMS", "prep_kernels", "plain", "compiled_segment_seconds"]

#: below this many pieces (or arcs) the numpy code takes a few ms and is used even with numba installed: loading
#: the cached kernels (about 0.01 s each once per process; 0.7 s with numba itself, when snapping has not loaded
#: it) would not pay
COMPILED_MIN_ITEMS = 50_000


@functools.lru_cache(maxsize=1)
def _arc_kernels() -> Any:
    try:
        from siting.travel import _arc_kernels
    except Exception:  # noqa: BLE001 - numba missing or broken: the numpy code
        return None
    return _arc_kernels


def prep_kernels(n_items: int) -> Any:
    """The compiled preparation kernels for ``n_items`` pieces or arcs.

    ``None`` for small inputs or without numba: the caller runs its numpy code.

    >>> prep_kernels(10) is None
    True
    """
    return _arc_kernels() if n_items >= COMPILED_MIN_ITEMS else None


def plain(a: np.ndarray, dtype: type) -> np.ndarray:
    """``a`` as a writeable C-contiguous array of ``dtype`` (copied if not): one compiled signature serves all.

    >>> a = np.zeros(3); plain(a, np.float64) is a, plain(a[::2], np.float64).flags.c_contiguous
    (True, True)
    """
    a = np.asarray(a)
    if a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable:
        return a
    return np.array(a, dtype=dtype, order="C")


def compiled_segment_seconds(kernels: Any, profile: SpeedProfile, graph: WalkGraph, group: str,
                             scale: float) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`SpeedProfile.segment_seconds` by the compiled pass, the group's parameters unpacked."""
    slope = profile.slope_response(group)
    k0 = slope.uphill_k if 0.0 > slope.optimum_grade else slope.downhill_k
    stairs_factor = profile.stairs_factor
    legacy = stairs_factor is not None
    rates = profile.stair_rates(group)
    return kernels.segment_seconds(
        plain(graph.piece_seg, np.int64), plain(graph.piece_len_m, np.float64),
        plain(graph.piece_rise_m, np.float64), plain(graph.seg_stairs, np.bool_),
        plain(graph.seg_fwd, np.bool_), plain(graph.seg_bwd, np.bool_), float(profile.groups[group]),
        bool(profile.use_slope), float(slope.uphill_k), float(slope.downhill_k), float(slope.optimum_grade),
        k0 * abs(slope.optimum_grade),  # exactly as SlopeResponse.factor computes it
        legacy, 1.0 if stairs_factor is None else float(stairs_factor), float(rates.ascent_m_per_s),
        float(rates.descent_m_per_s), float(scale))
