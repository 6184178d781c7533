"""The scipy engine: ``csgraph.dijkstra(limit=...)`` on per-chunk box subgraphs.

Sources are grouped into square cells; the search of a cell runs on the nodes inside the
cell's bounding box widened by ``ratio * limit`` (every node within the cutoff lies inside),
plus one virtual node per source. This avoids scipy's dense O(n) row per source on the whole
graph, and bounds memory by ``chunk_entries``. Exact; used when numba is not installed.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from siting.travel.arcs import SearchGraph, partial_cost
from siting.travel.snap import Snapped

__all__ = ["od_costs_boxes"]


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


def od_costs_boxes(sg: SearchGraph, src: Snapped, dst: Snapped, *, limit_m: float, chunk_entries: int,
                   cell_m: float | None = None,
                   progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat-equivalent costs ``<= limit_m`` from snapped sources to snapped targets, by box subgraphs.

    The scipy engine of :func:`siting.travel.matrix.od_costs` (same arguments, same triples).

    Parameters
    ----------
    sg : SearchGraph
        Arcs in the search direction (see :func:`siting.travel.arcs.search_graph`).
    src, dst : Snapped
        Sources and targets snapped to ``sg.graph``; unsnapped ones are skipped.
    limit_m : float
        Cutoff in flat-equivalent metres.
    chunk_entries : int
        Bound on the floats of one chunk's distance block (rows x box nodes); bounds memory.
    cell_m : float, optional
        Side of the square cells that group sources into chunks (default: adaptive).
    progress : callable, optional
        Called with the number of sources finished after each chunk.

    Returns
    -------
    src_index, dst_index, cost_m : numpy.ndarray
        Sparse triples (positions in ``src`` and ``dst``), only pairs within the cutoff.

    Examples
    --------
    >>> from siting.travel.arcs import search_graph
    >>> from siting.travel.graph import WalkGraph
    >>> from siting.travel.snap import snap_points
    >>> g = WalkGraph.from_segments([0, 100, 200], [0, 0, 0], None, [0, 1], [1, 2])
    >>> s = snap_points(g, [10.0], [0.0]); t = snap_points(g, [150.0, 190.0], [5.0, 0.0])
    >>> [a.tolist() for a in od_costs_boxes(search_graph(g, *g.segment_costs()), s, t, limit_m=160,
    ...                                     chunk_entries=1000)]
    [[0], [0], [145.0]]
    """
    g = sg.graph
    s_idx = np.flatnonzero(src.ok & (src.access_m <= limit_m))
    t_idx = np.flatnonzero(dst.ok & (dst.access_m <= limit_m))
    out_s: list[np.ndarray] = []
    out_t: list[np.ndarray] = []
    out_c: list[np.ndarray] = []
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
    t_in = partial_cost(dst.frac[t_idx], sg.fwd_m[t_seg])             # from a to q
    t_in_b = partial_cost(1.0 - dst.frac[t_idx], sg.bwd_m[t_seg])     # from b to q
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
            off_u = acc + partial_cost(src.frac[part], sg.bwd_m[seg])
            off_v = acc + partial_cost(1.0 - src.frac[part], sg.fwd_m[seg])
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
                along = np.where(gg >= f, partial_cost(gg - f, sg.fwd_m[fs]), partial_cost(f - gg, sg.bwd_m[fs]))
                direct = acc[ri] + along
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
