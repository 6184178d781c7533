"""Many-to-many walking costs with a cutoff: chunked multi-source shortest paths in compiled code.

:func:`~siting.travel.arcs.search_graph` lays the arcs out for the search (CSR in Morton node
order, reversed when searching from the destinations); :func:`od_costs` returns the sparse source-target
costs within the cutoff with one of two exact engines:

* ``numba`` — a bucket-queue label-setting search per source (:mod:`siting.travel._kernels`)
  that touches only the nodes it reaches, sources in chunks (optionally in threads);
* ``scipy`` — ``csgraph.dijkstra(limit=...)`` on per-chunk box subgraphs
  (:mod:`siting.travel.box_dijkstra`).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from siting.errors import InputError
from siting.travel.arcs import SearchGraph, morton_order, partial_cost, search_graph
from siting.travel.box_dijkstra import od_costs_boxes
from siting.travel.snap import Snapped

# SearchGraph and search_graph live in siting.travel.arcs (shared with the scipy engine); re-exported here
__all__ = ["SearchGraph", "SearchPlan", "search_graph", "plan_search", "run_span", "od_costs", "numba_available", "AUTO_NUMBA_MIN_SOURCES"]


AUTO_NUMBA_MIN_SOURCES = 100


def numba_available() -> bool:
    """True when the compiled numba kernel can be used."""
    try:
        import siting.travel._kernels  # noqa: F401
    except Exception:  # noqa: BLE001 - numba missing or broken: use scipy
        return False
    return True


def od_costs(sg: SearchGraph, src: Snapped, dst: Snapped, *, limit_m: float, chunk_entries: int = 4_000_000,
             cell_m: float | None = None, engine: str = "auto", threads: int | None = 1,
             progress: Callable[[int], None] | None = None,
             _capacity: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        numba when installed and there are at least 100 sources. Both are exact and give the
        same triples.
    threads : int or None
        Worker threads of the numba engine (the kernel releases the GIL); ``None`` = all cores.
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
    >>> from siting.travel.graph import WalkGraph
    >>> from siting.travel.snap import snap_points
    >>> g = WalkGraph.from_segments([0, 100, 200], [0, 0, 0], None, [0, 1], [1, 2])
    >>> sg = search_graph(g, *g.segment_costs())
    >>> s = snap_points(g, [10.0], [0.0]); t = snap_points(g, [150.0, 190.0], [5.0, 0.0])
    >>> [a.tolist() for a in od_costs(sg, s, t, limit_m=160)]
    [[0], [0], [145.0]]
    """
    if engine not in ("auto", "numba", "scipy"):
        raise ValueError(f"unknown engine {engine!r}")
    # an infinite cutoff would size the numba engine's buffers from inf, and 0, a negative or NaN one would give
    # an empty table that reads as "nobody reaches anything"
    if not (np.isfinite(limit_m) and limit_m > 0):
        raise InputError(f"the search cutoff must be a positive finite distance in metres, got {limit_m!r}",
                         column="limit_m")
    # auto: numba for real work; a handful of sources is done by scipy without loading numba
    if engine == "numba" or (engine == "auto" and len(src) >= AUTO_NUMBA_MIN_SOURCES and numba_available()):
        return _od_numba(sg, src, dst, limit_m=float(limit_m), chunk_entries=chunk_entries, progress=progress,
                         threads=_threads(threads), _capacity=_capacity)
    return od_costs_boxes(sg, src, dst, limit_m=float(limit_m), chunk_entries=chunk_entries, cell_m=cell_m,
                          progress=progress)


def _threads(threads: int | None) -> int:
    if threads is None:
        return max(1, min(os.cpu_count() or 1, 8))
    if int(threads) < 1:
        raise ValueError(f"threads must be >= 1, got {threads!r}")
    return int(threads)


@dataclass(frozen=True)
class SearchPlan:
    """Everything the compiled search needs, as plain arrays (picklable: a Dask worker can run any span).

    Sources are the usable ones (snapped, access within the cutoff) in Morton order; ``source[k]`` and
    ``target[k]`` map the kernel's positions back to positions in the ``src`` / ``dst`` layers. Only
    ``indptr``/``arcs`` (the search graph's, shared) and ``att_ptr`` are as large as the graph; the rest is
    per source or per target.
    """

    source: np.ndarray
    target: np.ndarray
    indptr: np.ndarray
    arcs: np.ndarray
    att_ptr: np.ndarray      # node x's attached targets: att_t[att_ptr[x]:att_ptr[x + 1]]
    att_t: np.ndarray
    att_extra: np.ndarray
    src_u: np.ndarray
    src_off_u: np.ndarray
    src_v: np.ndarray
    src_off_v: np.ndarray
    src_frac: np.ndarray
    src_acc: np.ndarray
    src_fwd: np.ndarray      # the source's segment's costs (for the targets on that segment)
    src_bwd: np.ndarray
    src_same_first: np.ndarray  # the targets on source k's segment: src_same_first[k], same_next[..], ... until -1
    same_next: np.ndarray
    t_frac: np.ndarray       # each target's fraction along its segment and its access leg
    t_acc: np.ndarray
    limit_m: float
    delta: float
    entries: int

    @property
    def n_sources(self) -> int:
        """Usable sources (the kernel's positions ``0 .. n_sources - 1``)."""
        return int(self.source.shape[0])

    def spans(self, block: int | None = None) -> list[tuple[int, int]]:
        """Source blocks ``(lo, hi)`` covering every usable source in order (default: about 64 blocks)."""
        step = int(block) if block else int(max(256, -(-self.n_sources // 64)))
        return [(lo, min(lo + step, self.n_sources)) for lo in range(0, self.n_sources, step)]


def plan_search(sg: SearchGraph, src: Snapped, dst: Snapped, *, limit_m: float,
                _capacity: int | None = None) -> SearchPlan:
    """The :class:`SearchPlan` from snapped sources to snapped targets within ``limit_m``.

    Costs O(sources + targets) plus one pass over a node-sized and a segment-sized array (the attachments'
    CSR pointer, the heads of the same-segment lists); the graph's own arrays are shared, not copied.
    """
    from siting.travel._kernels import group_by_key, key_lists

    g = sg.graph
    s_idx = np.flatnonzero(src.ok & (src.access_m <= limit_m))
    t_idx = np.flatnonzero(dst.ok & (dst.access_m <= limit_m))
    if t_idx.size == 0:
        s_idx = s_idx[:0]
    # spatial order of the sources keeps the touched memory local
    s_idx = s_idx[morton_order(src.x[s_idx], src.y[s_idx])]
    seg = src.seg[s_idx]
    acc = src.access_m[s_idx]
    f = src.frac[s_idx]
    fwd, bwd = sg.fwd_m, sg.bwd_m
    src_fwd, src_bwd = fwd[seg], bwd[seg]
    off_u = acc + partial_cost(f, src_bwd)
    off_v = acc + partial_cost(1.0 - f, src_fwd)
    t_seg = dst.seg[t_idx]
    t_g = dst.frac[t_idx]
    t_acc = dst.access_m[t_idx]
    att_node = np.concatenate([sg.seg_u[t_seg], sg.seg_v[t_seg]])
    att_t = np.concatenate([np.arange(t_idx.size), np.arange(t_idx.size)])
    att_extra = np.concatenate([partial_cost(t_g, fwd[t_seg]) + t_acc, partial_cost(1.0 - t_g, bwd[t_seg]) + t_acc])
    fin = att_extra <= limit_m
    att_node, att_t, att_extra = att_node[fin], att_t[fin], att_extra[fin]
    # a node's attached targets read consecutively (a counting sort: no comparison sort, no numpy temporaries)
    att_ptr, order = group_by_key(att_node.astype(np.int64, copy=False), g.n_nodes)
    att_t, att_extra = att_t[order], att_extra[order]
    # a source's segment holds few targets: lists, whose heads are one fill of a segment-sized array
    seg_first, same_next = key_lists(t_seg.astype(np.int64, copy=False), g.n_segments)
    # bucket width: about the shortest arcs (few re-expansions), within [limit/4096, limit/8]
    short = sg.short_cost_m if np.isfinite(sg.short_cost_m) else limit_m
    delta = float(np.clip(short, limit_m / 4096.0, limit_m / 8.0)) if limit_m > 0 else 1.0
    safe = int(g.n_nodes + sg.max_out_degree + 2)  # live entries <= n
    entries = int(sg.arcs.shape[0] + g.n_nodes + 16) if _capacity is None else max(int(_capacity), safe)
    return SearchPlan(s_idx, t_idx, sg.indptr, sg.arcs, att_ptr, att_t.astype(np.int64, copy=False), att_extra,
                      sg.seg_u[seg], off_u, sg.seg_v[seg], off_v, f, acc, src_fwd, src_bwd, seg_first[seg], same_next,
                      t_g, t_acc, float(limit_m), delta, entries)


def run_span(plan: SearchPlan, lo: int, hi: int, *,
             chunk_entries: int = 4_000_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triples (source position, target position, cost) of the plan's sources ``lo:hi``, by source.

    Output buffers start at ``chunk_entries`` at most and grow when full (the kernel stops and resumes).
    """
    from siting.travel._kernels import dijkstra_points

    cap = int(max(1024, min(chunk_entries, 64 * (hi - lo))))
    out_s, out_t, out_c = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap)
    ps: list[np.ndarray] = []
    pt: list[np.ndarray] = []
    pc: list[np.ndarray] = []
    nxt = lo
    p = plan
    while nxt < hi:
        new, w = dijkstra_points(p.indptr, p.arcs, p.att_ptr, p.att_t, p.att_extra, p.src_u[nxt:hi],
                                 p.src_off_u[nxt:hi], p.src_v[nxt:hi], p.src_off_v[nxt:hi], p.src_frac[nxt:hi],
                                 p.src_acc[nxt:hi], p.src_fwd[nxt:hi], p.src_bwd[nxt:hi], p.src_same_first[nxt:hi],
                                 p.same_next, p.t_frac, p.t_acc, p.limit_m, p.delta, p.entries, out_s, out_t, out_c)
        if w:
            ps.append(p.source[out_s[:w] + nxt])
            pt.append(p.target[out_t[:w]])
            pc.append(out_c[:w].copy())
        if new == 0 and w == 0:  # one source alone overflows the buffer: grow it
            cap *= 2
            out_s, out_t, out_c = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap)
        nxt += new
    if not ps:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    if len(ps) == 1:
        return ps[0], pt[0], pc[0]
    return np.concatenate(ps), np.concatenate(pt), np.concatenate(pc)


def _od_numba(sg: SearchGraph, src: Snapped, dst: Snapped, *, limit_m: float, chunk_entries: int,
              progress: Callable[[int], None] | None, threads: int = 1,
              _capacity: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    plan = plan_search(sg, src, dst, limit_m=limit_m, _capacity=_capacity)
    if progress is not None and plan.n_sources < len(src):
        progress(len(src) - plan.n_sources)
    # each span allocates the kernel's O(n) work arrays (about 0.3 ms on 200k nodes): without a progress bar
    # to feed, one span per thread (four per thread for balance) instead of about 64
    if progress is None:
        spans = plan.spans(-(-plan.n_sources // (1 if threads == 1 else 4 * threads)) or None)
    else:
        spans = plan.spans()
    per_thread = chunk_entries // max(threads, 1)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def work(span: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return run_span(plan, *span, chunk_entries=per_thread)

    if threads > 1 and len(spans) > 1:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for span, part in zip(spans, pool.map(work, spans), strict=True):
                parts.append(part)
                if progress is not None:
                    progress(span[1] - span[0])
    else:
        for span in spans:
            parts.append(work(span))
            if progress is not None:
                progress(span[1] - span[0])
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    return tuple(np.concatenate(a) for a in zip(*parts, strict=True))  # type: ignore[return-value]
