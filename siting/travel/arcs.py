"""The walking graph's arcs laid out for a cutoff search: CSR rows in Morton (Z-curve) node order.

Shared by both engines of :mod:`siting.travel.matrix` (the numba kernel and the scipy box search of
:mod:`siting.travel.box_dijkstra`), which is why it lives apart from either of them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siting.travel.graph import WalkGraph

__all__ = ["SearchGraph", "ArcLayout", "arc_layout", "search_graph", "morton_order", "partial_cost"]


@dataclass(frozen=True)
class SearchGraph:
    """Arcs of the walking graph in CSR order, as seen from the Dijkstra sources.

    ``fwd_m``/``bwd_m`` are the segment costs in the *search* direction (swapped when the
    search runs backwards from the destinations); ``ratio`` bounds straight-line metres
    covered per flat-equivalent metre of cost (>= 1). Nodes are renumbered in Morton
    (Z-curve) order so that a walk's neighbourhood sits close together in memory;
    ``node_x``, ``node_y``, ``seg_u``, ``seg_v`` use the new numbers, ``order[new] = old``.
    """

    graph: WalkGraph
    indptr: np.ndarray
    head: np.ndarray
    cost: np.ndarray
    fwd_m: np.ndarray
    bwd_m: np.ndarray
    ratio: float
    node_x: np.ndarray
    node_y: np.ndarray
    seg_u: np.ndarray
    seg_v: np.ndarray
    order: np.ndarray
    arcs: np.ndarray       # (n_arcs, 2) float64: head, cost — one cache line per node's arcs
    max_out_degree: int = 0    # most arcs leaving one node (sizes the numba kernel's bucket pool)
    short_cost_m: float = np.inf  # about the 5th percentile of the arc costs (the bucket width); inf without arcs


def _interleave(head: np.ndarray, cost: np.ndarray) -> np.ndarray:
    arcs = np.empty((head.shape[0], 2), dtype=np.float64)
    arcs[:, 0] = head
    arcs[:, 1] = cost
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
    return np.argsort(key, kind="stable")


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


#: search graphs kept per walking graph (each about 40 bytes per arc)
SEARCH_GRAPH_CACHE_ENTRIES = 4


def _search_graph(graph: WalkGraph, fwd_m: np.ndarray, bwd_m: np.ndarray, reverse: bool) -> SearchGraph:
    if reverse:
        fwd_m, bwd_m = bwd_m, fwd_m
    topo = arc_layout(graph)
    cost = np.concatenate([fwd_m, bwd_m])[topo.pick]
    if topo.starts is not None:  # parallel arcs: the cheapest
        cost = np.minimum.reduceat(cost, topo.starts)
    keep = np.isfinite(cost)
    tail, head, cost = topo.tail[keep], topo.head[keep], cost[keep]
    order = topo.order
    indptr = np.zeros(graph.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=graph.n_nodes), out=indptr[1:])
    reach = topo.reach_m
    ratio = 1.0
    for c in (fwd_m, bwd_m):
        fin = np.isfinite(c)
        if not fin.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(reach[fin] > 0, reach[fin] / c[fin], 0.0)
        ratio = max(ratio, float(np.nanmax(r)))
    sample = cost[:: max(1, cost.size // 20_000)]
    short = float(np.percentile(sample, 5)) if sample.size else np.inf
    degree = int(np.diff(indptr).max()) if graph.n_nodes else 0
    return SearchGraph(graph, indptr, head.astype(np.int64), cost, fwd_m, bwd_m, ratio, topo.node_x, topo.node_y,
                       topo.seg_u, topo.seg_v, order, _interleave(head, cost), degree, short)


@dataclass(frozen=True)
class ArcLayout:
    """What :func:`search_graph` needs that does not depend on the costs (built once per graph).

    Nodes in Morton order (``order[new] = old``, ``rank[old] = new``; ``node_x``, ``node_y``, ``seg_u``,
    ``seg_v`` in the new numbering); the arcs of both directions of every
    segment without self-loops, sorted by (tail, head) in the new numbering: ``pick`` selects them from
    ``concatenate([fwd_m, bwd_m])`` and ``starts`` (``None`` without parallel arcs) begins each group of
    parallel arcs, whose cheapest is kept.
    """

    order: np.ndarray
    rank: np.ndarray
    pick: np.ndarray
    starts: np.ndarray | None
    tail: np.ndarray
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
        >>> lay.tail.tolist(), lay.head.tolist(), lay.starts.tolist()
        ([0, 1], [1, 0], [0, 2])
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
        return cls(order, rank, pick, None if start.all() else np.flatnonzero(start), tail[pick][start],
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
