"""Many-to-many walking costs with a cutoff: chunked multi-source Dijkstra in compiled code.

Sources are grouped into spatial chunks. For each chunk, Dijkstra (``scipy.sparse.csgraph``,
with ``limit``) runs on the subgraph of nodes inside the chunk's bounding box widened by the
largest straight-line distance that can be covered within the cutoff. This is exact: every
node reachable within the cutoff lies inside that box. Memory is bounded by the chunk size.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from siting.travel.graph import WalkGraph, arc_table
from siting.travel.snap import Snapped

__all__ = ["SearchGraph", "search_graph", "od_costs"]


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
    """
    if reverse:
        fwd_m, bwd_m = bwd_m, fwd_m
    tail, head, cost = arc_table(graph, fwd_m, bwd_m)
    order = morton_order(graph.node_x, graph.node_y)
    rank = np.empty(graph.n_nodes, dtype=np.int64)
    rank[order] = np.arange(graph.n_nodes)
    tail, head = rank[tail], rank[head]
    o = np.lexsort((head, tail))
    tail, head, cost = tail[o], head[o], cost[o]
    indptr = np.zeros(graph.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(tail, minlength=graph.n_nodes), out=indptr[1:])
    glen = graph.geom_length_m
    chord = np.hypot(graph.node_x[graph.seg_u] - graph.node_x[graph.seg_v],
                     graph.node_y[graph.seg_u] - graph.node_y[graph.seg_v])
    reach = np.maximum(glen, chord)
    ratio = 1.0
    for c in (fwd_m, bwd_m):
        fin = np.isfinite(c)
        if not fin.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(reach[fin] > 0, reach[fin] / c[fin], 0.0)
        ratio = max(ratio, float(np.nanmax(r)))
    return SearchGraph(graph, indptr, head.astype(np.int64), cost, fwd_m, bwd_m, ratio,
                       graph.node_x[order], graph.node_y[order], rank[graph.seg_u], rank[graph.seg_v], order)


def _gather_rows(indptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Arc positions of the given CSR rows (vectorised ``concatenate(range(...))``)."""
    starts = indptr[rows]
    counts = indptr[rows + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    offs = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return offs + np.arange(total)


def _chunks(px: np.ndarray, py: np.ndarray, cell_m: float) -> list[np.ndarray]:
    """Group point positions by square cells of side ``cell_m`` (row-major over cells)."""
    cx = np.floor((px - px.min()) / cell_m).astype(np.int64)
    cy = np.floor((py - py.min()) / cell_m).astype(np.int64)
    key = cx * (int(cy.max()) + 1) + cy
    order = np.argsort(key, kind="stable")
    ks = key[order]
    cut = np.flatnonzero(ks[1:] != ks[:-1]) + 1
    return np.split(order, cut)


def numba_available() -> bool:
    """True when the compiled numba kernel can be used."""
    try:
        import siting.travel._kernels  # noqa: F401
    except Exception:  # noqa: BLE001 - numba missing or broken: use scipy
        return False
    return True


def od_costs(sg: SearchGraph, src: Snapped, dst: Snapped, *, limit_m: float, chunk_entries: int = 4_000_000,
             cell_m: float | None = None, engine: str = "auto",
             progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Flat-equivalent costs ``c(s, t) <= limit_m`` from every snapped source to every snapped target.

    Parameters
    ----------
    sg : SearchGraph
        Arcs in the search direction (see :func:`search_graph`).
    src, dst : Snapped
        Sources and targets snapped to ``sg.graph``; unsnapped ones are skipped.
    limit_m : float
        Cutoff in flat-equivalent metres (``cutoff_min * 60 * speed_m_s``).
    chunk_entries : int
        Bound on the floats held per chunk (Dijkstra rows + target block); bounds memory.
    cell_m : float, optional
        Side of the square cells that group sources into chunks (default: adaptive).
    engine : {"auto", "numba", "scipy"}
        ``numba``: compiled binary-heap Dijkstra touching only reached nodes (whole graph,
        no boxes); ``scipy``: ``csgraph.dijkstra`` on per-chunk box subgraphs. ``auto`` picks
        numba when installed. Both are exact and give the same triples.
    progress : callable, optional
        Called with the number of sources finished after each chunk.

    Returns
    -------
    src_index, dst_index, cost_m : numpy.ndarray
        Sparse triples (positions in ``src`` and ``dst``), only pairs within the cutoff.

    Notes
    -----
    With a source ``p`` on segment ``(u, v)`` at fraction ``f`` and a target ``q`` on ``(a, b)``
    at ``g`` (access legs :math:`d_p, d_q`, segment costs :math:`c^{\to}, c^{\leftarrow}`):

    .. math:: c(p, q) = d_p + d_q + \min\bigl(\mathrm{D}(p, a) + g\,c^{\to}_{ab},\;
              \mathrm{D}(p, b) + (1-g)\,c^{\leftarrow}_{ab},\; \text{along the segment if } (u,v)=(a,b)\bigr)

    where :math:`\mathrm{D}(p, \cdot)` is Dijkstra from a virtual node joined to ``u`` with
    :math:`f\,c^{\leftarrow}_{uv}` and to ``v`` with :math:`(1-f)\,c^{\to}_{uv}`. A node within the
    cutoff is at most :math:`\rho \cdot \text{limit}` metres away in a straight line, where
    :math:`\rho = \max_s \ell^{geom}_s / c_s \ge 1` (about 1.19 with Tobler's function), so the
    search of a chunk is restricted to the box around its sources widened by that distance.

    Examples
    --------
    >>> from siting.travel.snap import snap_points
    >>> g = WalkGraph.from_segments([0, 100, 200], [0, 0, 0], None, [0, 1], [1, 2])
    >>> sg = search_graph(g, *g.segment_costs())
    >>> s = snap_points(g, [10.0], [0.0]); t = snap_points(g, [150.0, 190.0], [5.0, 0.0])
    >>> [a.tolist() for a in od_costs(sg, s, t, limit_m=160)]
    [[0], [0], [145.0]]
    """
    if engine not in ("auto", "numba", "scipy"):
        raise ValueError(f"unknown engine {engine!r}")
    if engine == "numba" or (engine == "auto" and numba_available()):
        return _od_numba(sg, src, dst, limit_m=float(limit_m), chunk_entries=chunk_entries, progress=progress)
    return _od_scipy(sg, src, dst, limit_m=float(limit_m), chunk_entries=chunk_entries, cell_m=cell_m,
                     progress=progress)


def _part(frac: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """``frac * cost`` with ``0 * inf = 0`` (a point at a node needs no part of a one-way segment)."""
    with np.errstate(invalid="ignore"):
        return np.where(frac > 0, frac * cost, 0.0)


def _by_key(key: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR pointer and order grouping positions by an integer key in ``[0, n)``."""
    order = np.argsort(key, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(key, minlength=n), out=ptr[1:])
    return ptr, order


def _od_numba(sg: SearchGraph, src: Snapped, dst: Snapped, *, limit_m: float, chunk_entries: int,
              progress) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from siting.travel._kernels import dijkstra_points

    g = sg.graph
    s_idx = np.flatnonzero(src.ok & (src.access_m <= limit_m))
    t_idx = np.flatnonzero(dst.ok & (dst.access_m <= limit_m))
    if progress is not None and s_idx.size < len(src):
        progress(len(src) - s_idx.size)
    if s_idx.size == 0 or t_idx.size == 0:
        if progress is not None and s_idx.size:
            progress(s_idx.size)
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    # spatial order of the sources keeps the touched memory local
    s_idx = s_idx[morton_order(src.x[s_idx], src.y[s_idx])]
    seg = src.seg[s_idx]
    acc = src.access_m[s_idx]
    f = src.frac[s_idx]
    fwd, bwd = sg.fwd_m, sg.bwd_m
    off_u = acc + _part(f, bwd[seg])
    off_v = acc + _part(1.0 - f, fwd[seg])
    t_seg = dst.seg[t_idx]
    t_g = dst.frac[t_idx]
    t_acc = dst.access_m[t_idx]
    att_node = np.concatenate([sg.seg_u[t_seg], sg.seg_v[t_seg]])
    att_t = np.concatenate([np.arange(t_idx.size), np.arange(t_idx.size)])
    att_extra = np.concatenate([_part(t_g, fwd[t_seg]) + t_acc, _part(1.0 - t_g, bwd[t_seg]) + t_acc])
    fin = att_extra <= limit_m
    att_node, att_t, att_extra = att_node[fin], att_t[fin], att_extra[fin]
    att_ptr, o = _by_key(att_node, g.n_nodes)
    att_t, att_extra = att_t[o].astype(np.int64), att_extra[o]
    seg_ptr, o = _by_key(t_seg, g.n_segments)
    seg_t = o.astype(np.int64)
    cap = int(max(1024, min(chunk_entries, 64 * s_idx.size)))
    out_s, out_t, out_c = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap)
    parts_s, parts_t, parts_c = [], [], []
    step = 256
    node_rec = np.empty((g.n_nodes, 4), dtype=np.int64)
    node_rec[:, 0], node_rec[:, 1] = sg.indptr[:-1], sg.indptr[1:]
    node_rec[:, 2], node_rec[:, 3] = att_ptr[:-1], att_ptr[1:]
    arcs = np.column_stack([sg.head.astype(np.float64), sg.cost])
    seg_frac, seg_acc = t_g[seg_t], t_acc[seg_t]
    for lo in range(0, s_idx.size, step):
        hi = min(lo + step, s_idx.size)
        nxt = lo
        while nxt < hi:
            new, w = dijkstra_points(node_rec, arcs, sg.seg_u[seg[nxt:hi]], off_u[nxt:hi],
                                     sg.seg_v[seg[nxt:hi]], off_v[nxt:hi], seg[nxt:hi], f[nxt:hi], acc[nxt:hi],
                                     att_t, att_extra, seg_ptr, seg_t, seg_frac, seg_acc, fwd, bwd,
                                     t_idx.size, limit_m, 0, out_s, out_t, out_c)
            if w:
                parts_s.append(s_idx[out_s[:w] + nxt])
                parts_t.append(t_idx[out_t[:w]])
                parts_c.append(out_c[:w].copy())
            if new == 0 and w == 0:  # one source alone overflows the buffer: grow it
                cap *= 2
                out_s, out_t, out_c = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap)
            nxt += new
        if progress is not None:
            progress(hi - lo)
    if not parts_s:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    return np.concatenate(parts_s), np.concatenate(parts_t), np.concatenate(parts_c)


def _od_scipy(sg: SearchGraph, src: Snapped, dst: Snapped, *, limit_m: float, chunk_entries: int,
              cell_m: float | None, progress) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = sg.graph
    s_idx = np.flatnonzero(src.ok & (src.access_m <= limit_m))
    t_idx = np.flatnonzero(dst.ok & (dst.access_m <= limit_m))
    out_s, out_t, out_c = [], [], []
    if s_idx.size == 0 or t_idx.size == 0:
        if progress is not None:
            progress(len(src))
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    if progress is not None and s_idx.size < len(src):
        progress(len(src) - s_idx.size)
    margin = limit_m * sg.ratio
    # targets sorted by x for window queries
    tx, ty = dst.x[t_idx], dst.y[t_idx]
    t_order = np.argsort(tx, kind="stable")
    t_idx, tx, ty = t_idx[t_order], tx[t_order], ty[t_order]
    t_seg = dst.seg[t_idx]
    t_u, t_v = sg.seg_u[t_seg], sg.seg_v[t_seg]
    t_in = _part(dst.frac[t_idx], sg.fwd_m[t_seg])             # from a to q
    t_in_b = _part(1.0 - dst.frac[t_idx], sg.bwd_m[t_seg])     # from b to q
    t_acc = dst.access_m[t_idx]
    n_order = np.argsort(sg.node_x, kind="stable")
    n_xs = sg.node_x[n_order]
    loc = np.full(g.n_nodes, -1, dtype=np.int64)
    px, py = src.x[s_idx], src.y[s_idx]
    if cell_m is None:
        area = max((np.ptp(px) + 1.0) * (np.ptp(py) + 1.0), 1.0)
        cell_m = float(np.clip(np.sqrt(area * 48.0 / s_idx.size), 0.25 * margin if np.isfinite(margin) else 1.0,
                               4.0 * margin if np.isfinite(margin) else np.inf))
        if not np.isfinite(cell_m):
            cell_m = np.ptp(px) + np.ptp(py) + 1.0
    for group in _chunks(px, py, cell_m):
        gx, gy = px[group], py[group]
        x0, x1 = gx.min() - margin, gx.max() + margin
        y0, y1 = gy.min() - margin, gy.max() + margin
        lo, hi = np.searchsorted(n_xs, x0, side="left"), np.searchsorted(n_xs, x1, side="right")
        nodes = n_order[lo:hi]
        nodes = nodes[(sg.node_y[nodes] >= y0) & (sg.node_y[nodes] <= y1)]
        ns = nodes.size
        loc[nodes] = np.arange(ns)
        arcs = _gather_rows(sg.indptr, nodes)
        a_head = loc[sg.head[arcs]]
        keep = a_head >= 0
        a_tail = np.repeat(np.arange(ns), sg.indptr[nodes + 1] - sg.indptr[nodes])[keep]
        a_head, a_cost = a_head[keep], sg.cost[arcs][keep]
        tlo = np.searchsorted(tx, x0, side="left")
        thi = np.searchsorted(tx, x1, side="right")
        tw = np.arange(tlo, thi)
        tw = tw[(ty[tw] >= y0) & (ty[tw] <= y1)]
        nt = tw.size
        k_max = max(1, int(chunk_entries // max(ns + nt + 1, 1)))
        for start in range(0, group.size, k_max):
            part = s_idx[group[start:start + k_max]]
            k = part.size
            seg = src.seg[part]
            acc = src.access_m[part]
            off_u = acc + _part(src.frac[part], sg.bwd_m[seg])
            off_v = acc + _part(1.0 - src.frac[part], sg.fwd_m[seg])
            vu, vv = loc[sg.seg_u[seg]], loc[sg.seg_v[seg]]
            rows = np.arange(ns, ns + k)
            ok_u = (vu >= 0) & (off_u <= limit_m)
            ok_v = (vv >= 0) & (off_v <= limit_m)
            loop = vu == vv  # a segment closing on itself: one virtual arc, the cheaper one
            off_u = np.where(loop, np.minimum(off_u, off_v), off_u)
            ok_u = (vu >= 0) & (off_u <= limit_m)
            ok_v &= ~loop
            r = np.concatenate([a_tail, rows[ok_u], rows[ok_v]])
            c = np.concatenate([a_head, vu[ok_u], vv[ok_v]])
            w = np.concatenate([a_cost, off_u[ok_u], off_v[ok_v]])
            mat = sp.csr_matrix((w, (r, c)), shape=(ns + k, ns + k))
            if nt == 0:
                continue
            dist = csgraph.dijkstra(mat, directed=True, indices=rows, limit=limit_m)
            wu, wv = loc[t_u[tw]], loc[t_v[tw]]
            du = np.where(wu >= 0, dist[:, np.maximum(wu, 0)], np.inf) + t_in[tw]
            dv = np.where(wv >= 0, dist[:, np.maximum(wv, 0)], np.inf) + t_in_b[tw]
            tt = np.minimum(du, dv)
            # source and target on the same segment: walk along it directly
            ts = t_seg[tw]
            o = np.argsort(ts, kind="stable")
            left = np.searchsorted(ts[o], seg, side="left")
            right = np.searchsorted(ts[o], seg, side="right")
            cnt = right - left
            if cnt.any():
                ri = np.repeat(np.arange(k), cnt)
                cj = o[np.repeat(left - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))]
                f, gg = src.frac[part][ri], dst.frac[t_idx[tw[cj]]]
                fs = seg[ri]
                direct = acc[ri] + np.where(gg >= f, _part(gg - f, sg.fwd_m[fs]), _part(f - gg, sg.bwd_m[fs]))
                np.minimum.at(tt, (ri, cj), direct)
            tt += t_acc[tw]
            hit_r, hit_c = np.nonzero(tt <= limit_m)
            out_s.append(part[hit_r])
            out_t.append(t_idx[tw[hit_c]])
            out_c.append(tt[hit_r, hit_c])
            if progress is not None:
                progress(k)
        loc[nodes] = -1
        if progress is not None and nt == 0:
            progress(group.size)
    if not out_s:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    return np.concatenate(out_s), np.concatenate(out_t), np.concatenate(out_c)
