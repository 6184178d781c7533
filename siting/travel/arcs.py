"""The walking graph's arcs laid out for a cutoff search: CSR rows in Morton (Z-curve) node order.

Shared by both engines of :mod:`siting.travel.matrix` (the numba kernel and the scipy box search of
:mod:`siting.travel.box_dijkstra`), which is why it lives apart from either of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from siting.travel.graph import WalkGraph
from siting.travel.prep import plain, prep_kernels

__all__ = ["ARC_DTYPE", "SearchGraph", "ArcLayout", "arc_layout", "search_graph", "morton_order", "stable_argsort",
           "partial_cost"]


@dataclass(frozen=True)
class SearchGraph:
    """Arcs of the walking graph in CSR order, as seen from the Dijkstra sources.

    ``fwd_m``/``bwd_m`` are the segment costs in the *search* direction (swapped when the
    search runs backwards from the destinations); ``ratio`` bounds straight-line metres
    covered per flat-equivalent metre of cost (>= 1). Nodes are renumbered in Morton
    (Z-curve) order so that a walk's neighbourhood sits close together in memory;
    ``node_x``, ``node_y``, ``seg_u``, ``seg_v`` use the new numbers, ``order[new] = old``.
    The arcs are kept once, as ``(head, cost)`` records in ``arcs`` (:data:`ARC_DTYPE`); ``head`` and
    ``cost`` (for the scipy engine) are made from it on first use.
    """

    graph: WalkGraph
    indptr: np.ndarray
    fwd_m: np.ndarray
    bwd_m: np.ndarray
    node_x: np.ndarray
    node_y: np.ndarray
    seg_u: np.ndarray
    seg_v: np.ndarray
    order: np.ndarray
    arcs: np.ndarray       # (n_arcs,) ARC_DTYPE records: head, cost — one cache line per node's arcs
    max_out_degree: int = 0    # most arcs leaving one node (sizes the numba kernel's bucket pool)
    short_cost_m: float = np.inf  # about the 5th percentile of the arc costs (the bucket width); inf without arcs

    @cached_property
    def ratio(self) -> float:
        """Largest straight-line metres per flat-equivalent metre of a segment (>= 1; the scipy engine's box)."""
        reach = arc_layout(self.graph).reach_m
        ratio = 1.0
        for c in (self.fwd_m, self.bwd_m):
            fin = np.isfinite(c)
            if not fin.any():
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(reach[fin] > 0, reach[fin] / c[fin], 0.0)
            ratio = max(ratio, float(np.nanmax(r)))
        return ratio

    @cached_property
    def head(self) -> np.ndarray:
        """Head node of each arc (int64)."""
        return np.ascontiguousarray(self.arcs["head"])

    @cached_property
    def cost(self) -> np.ndarray:
        """Cost of each arc in flat-equivalent metres (contiguous)."""
        return np.ascontiguousarray(self.arcs["cost"])


#: one arc of a search graph: its head node and its cost (16 bytes; the compiled search reads the head as an
#: integer, with no conversion)
ARC_DTYPE = np.dtype([("head", np.int64), ("cost", np.float64)])


def _interleave(head: np.ndarray, cost: np.ndarray) -> np.ndarray:
    arcs = np.empty(head.shape[0], dtype=ARC_DTYPE)
    arcs["head"] = head
    arcs["cost"] = cost
    return arcs


def _spread_bits(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.uint64) & np.uint64(0xFFFF)
    for shift, mask in ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def morton_order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Permutation sorting points along a Z-order curve (16 bits per axis).

    Examples
    --------
    >>> morton_order(np.array([1.0, 0.0, 1.0, 0.0]), np.array([1.0, 1.0, 0.0, 0.0])).tolist()
    [3, 2, 1, 0]
    """
    if x.size == 0:
        return np.empty(0, dtype=np.int64)
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1e-9)
    qx = np.floor((x - x.min()) / span * 65535).astype(np.int64)
    qy = np.floor((y - y.min()) / span * 65535).astype(np.int64)
    key = _spread_bits(qx) | (_spread_bits(qy) << np.uint64(1))
    return stable_argsort(key.view(np.int64))  # codes < 2**32: the same values


def stable_argsort(key: np.ndarray) -> np.ndarray:
    """``numpy.argsort(key, kind="stable")`` of non-negative integers, 2-2.5x faster (5,000 to 200,000 keys).

    Sorts the unique values ``key * n + position`` in place with numpy's default sort (not stable, but on unique
    values any order is the stable one); falls back to the stable argsort when that could overflow.

    Examples
    --------
    >>> stable_argsort(np.array([2, 0, 2, 1, 0])).tolist()
    [1, 4, 3, 0, 2]
    """
    n = key.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if key.min() < 0 or int(key.max()) >= (2**62) // n:
        return np.argsort(key, kind="stable")
    packed = key.astype(np.int64)  # a copy, then worked on in place (this runs on a million points)
    packed *= np.int64(n)
    packed += np.arange(n, dtype=np.int64)
    packed.sort()
    packed %= np.int64(n)
    return packed


def search_graph(graph: WalkGraph, fwd_m: np.ndarray, bwd_m: np.ndarray, *, reverse: bool = False) -> SearchGraph:
    """CSR arcs for a forward (or reversed) search.

    Examples
    --------
    >>> g = WalkGraph.from_segments([0, 100], [0, 0], None, [0], [1], fwd=[True], bwd=[False])
    >>> sg = search_graph(g, *g.segment_costs(), reverse=True)
    >>> sg.indptr.tolist(), sg.head.tolist(), sg.order.tolist()
    ([0, 0, 1], [0], [0, 1])

    The result is kept with the graph for the last few pairs of cost arrays (by identity, so the arrays must
    not be modified afterwards; :func:`siting.travel.job.class_segment_costs` hands out such shared arrays).
    """
    # the same cost arrays (those cached per speed class by siting.travel.job.class_segment_costs): same layout
    cache: list = graph.kept("_search_graphs", list)
    for f, b, r, sg in cache:
        if f is fwd_m and b is bwd_m and r == reverse:
            return sg
    sg = _search_graph(graph, fwd_m, bwd_m, reverse)
    if len(cache) >= SEARCH_GRAPH_CACHE_ENTRIES:
        cache.pop(0)
    cache.append((fwd_m, bwd_m, reverse, sg))  # holding the arrays keeps their identity unique
    return sg


#: search graphs kept per walking graph (each 16 bytes per arc and 8 per node)
SEARCH_GRAPH_CACHE_ENTRIES = 4


def _search_graph(graph: WalkGraph, fwd_m: np.ndarray, bwd_m: np.ndarray, reverse: bool) -> SearchGraph:
    if reverse:
        fwd_m, bwd_m = bwd_m, fwd_m
    topo = arc_layout(graph)
    kernels = prep_kernels(topo.pair.shape[0])
    if kernels is not None:
        return _compiled_search_graph(kernels, graph, topo, fwd_m, bwd_m)
    pairs = np.empty(2 * fwd_m.shape[0])
    pairs[0::2], pairs[1::2] = fwd_m, bwd_m
    cost = pairs[topo.pair]
    if topo.starts is not None:  # parallel arcs: the cheapest
        cost = np.minimum.reduceat(cost, topo.starts)
    keep = np.isfinite(cost)
    head, cost = topo.head[keep], cost[keep]
    kept = np.zeros(keep.shape[0] + 1, dtype=np.int64)
    np.cumsum(keep, out=kept[1:])
    indptr = kept[topo.group_ptr]  # arcs kept before each node's first group
    degree = int(np.diff(indptr).max()) if graph.n_nodes else 0
    return SearchGraph(graph, indptr, fwd_m, bwd_m, topo.node_x, topo.node_y, topo.seg_u, topo.seg_v, topo.order,
                       _interleave(head, cost), degree, _short_cost(cost))


def _short_cost(cost: np.ndarray) -> float:
    """About the 5th percentile of the arc costs: that of every ``len // 20_000``-th arc (inf without arcs)."""
    sample = cost[:: max(1, cost.size // 20_000)]
    return float(np.percentile(sample, 5)) if sample.size else np.inf


def _compiled_search_graph(kernels: Any, graph: WalkGraph, topo: ArcLayout, fwd_m: np.ndarray,
                           bwd_m: np.ndarray) -> SearchGraph:
    """:func:`_search_graph` in one compiled pass over the layout (the same arrays, bit for bit)."""
    grouped = topo.starts is not None
    starts = topo.starts if grouped else np.empty(0, dtype=np.int64)
    arcs = np.empty(topo.head.shape[0], dtype=ARC_DTYPE)
    indptr, n_arcs, degree = kernels.search_arcs(
        topo.pair, starts, grouped, topo.group_ptr, topo.head, plain(fwd_m, np.float64), plain(bwd_m, np.float64),
        arcs)
    # sized for every arc of the layout: shrunk in place to the finite ones (realloc, no copy; a view would keep
    # the whole buffer alive with the search graph). No view of it exists yet, so refcheck is not needed.
    arcs.resize((int(n_arcs),), refcheck=False)
    return SearchGraph(graph, indptr, fwd_m, bwd_m, topo.node_x, topo.node_y, topo.seg_u, topo.seg_v, topo.order,
                       arcs, int(degree), _short_cost(arcs["cost"]))


@dataclass(frozen=True)
class ArcLayout:
    """What :func:`search_graph` needs that does not depend on the costs (built once per graph).

    Nodes in Morton order (``order[new] = old``, ``rank[old] = new``; ``node_x``, ``node_y``, ``seg_u``,
    ``seg_v`` in the new numbering); the arcs of both directions of every
    segment without self-loops, sorted by (tail, head) in the new numbering: ``pair`` is each one's position
    in the segments' interleaved (forward, backward) costs, ``2 * segment + backward`` (one gather, no branch
    on the direction); ``starts`` (``None`` without parallel arcs) begins each group of parallel arcs, whose
    cheapest is kept; ``group_ptr`` (CSR) gives each tail node's groups and ``head`` each group's head.
    """

    order: np.ndarray
    rank: np.ndarray
    pair: np.ndarray
    starts: np.ndarray | None
    group_ptr: np.ndarray
    head: np.ndarray
    reach_m: np.ndarray
    node_x: np.ndarray
    node_y: np.ndarray
    seg_u: np.ndarray
    seg_v: np.ndarray

    @classmethod
    def build(cls, graph: WalkGraph) -> ArcLayout:
        """The layout of ``graph``.

        Examples
        --------
        >>> g = WalkGraph.from_segments([0, 100], [0, 0], None, [0, 0], [1, 1])
        >>> lay = ArcLayout.build(g)
        >>> lay.group_ptr.tolist(), lay.head.tolist(), lay.pair.tolist(), lay.starts.tolist()
        ([0, 1, 2], [1, 0], [0, 2, 1, 3], [0, 2])
        """
        order = morton_order(graph.node_x, graph.node_y)
        rank = np.empty(graph.n_nodes, dtype=np.int64)
        rank[order] = np.arange(graph.n_nodes)
        tail = rank[np.concatenate([graph.seg_u, graph.seg_v])]
        head = rank[np.concatenate([graph.seg_v, graph.seg_u])]
        arcs = np.flatnonzero(tail != head)
        key = tail[arcs] * np.int64(max(graph.n_nodes, 1)) + head[arcs]
        by_key = np.argsort(key, kind="stable")
        pick = arcs[by_key]
        key = key[by_key]
        start = np.ones(key.shape[0], dtype=bool)
        start[1:] = key[1:] != key[:-1]
        chord = np.hypot(graph.node_x[graph.seg_u] - graph.node_x[graph.seg_v],
                         graph.node_y[graph.seg_u] - graph.node_y[graph.seg_v])
        m = graph.n_segments
        pair = np.where(pick < m, 2 * pick, 2 * (pick - m) + 1)
        group_ptr = np.zeros(graph.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(tail[pick][start], minlength=graph.n_nodes), out=group_ptr[1:])
        return cls(order, rank, pair, None if start.all() else np.flatnonzero(start), group_ptr,
                   head[pick][start], np.maximum(graph.geom_length_m, chord), graph.node_x[order],
                   graph.node_y[order], rank[graph.seg_u], rank[graph.seg_v])


def arc_layout(graph: WalkGraph) -> ArcLayout:
    """The :class:`ArcLayout` of ``graph``, built on first use and kept with the graph (as its STRtree is)."""
    return graph.kept("_arc_layout", lambda: ArcLayout.build(graph))


def partial_cost(frac: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """``frac * cost`` with ``0 * inf = 0`` (a point at a node needs no part of a one-way segment).

    Examples
    --------
    >>> partial_cost(np.array([0.0, 0.25]), np.array([np.inf, 80.0])).tolist()
    [0.0, 20.0]
    """
    with np.errstate(invalid="ignore"):
        return np.where(frac > 0, frac * cost, 0.0)
