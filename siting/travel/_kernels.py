"""Compiled (numba) cutoff Dijkstra from many sources with sparse output.

Optional: imported only when numba is installed; :mod:`siting.travel.matrix` falls back to
``scipy.sparse.csgraph`` otherwise. Each source runs a binary-heap Dijkstra that stops at
the cutoff and touches only the nodes it reaches (distances are reset through a list of
touched nodes, so no O(n) work per source).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["dijkstra_points"]


@njit(cache=True, nogil=True, inline="always")
def _push(hd, hn, size, d, n):
    i = size
    hd[i] = d
    hn[i] = n
    while i > 0:
        p = (i - 1) >> 1
        if hd[p] <= hd[i]:
            break
        hd[p], hd[i] = hd[i], hd[p]
        hn[p], hn[i] = hn[i], hn[p]
        i = p
    return size + 1


@njit(cache=True, nogil=True, inline="always")
def _pop(hd, hn, size):
    d = hd[0]
    n = hn[0]
    size -= 1
    if size > 0:
        hd[0] = hd[size]
        hn[0] = hn[size]
        i = 0
        while True:
            l = 2 * i + 1
            if l >= size:
                break
            c = l
            r = l + 1
            if r < size and hd[r] < hd[l]:
                c = r
            if hd[i] <= hd[c]:
                break
            hd[c], hd[i] = hd[i], hd[c]
            hn[c], hn[i] = hn[i], hn[c]
            i = c
    return d, n, size


@njit(cache=True, nogil=True)
def dijkstra_points(node_rec, arcs, src_u, src_off_u, src_v, src_off_v, src_seg, src_frac, src_acc,
                    att_t, att_extra, seg_ptr, seg_t, seg_frac, seg_acc, fwd, bwd, n_targets,
                    limit, start, out_s, out_t, out_c):
    """Run sources ``start, start+1, ...`` until done or the output buffers are full.

    ``node_rec[x] = (first arc, end arc, first attached target, end attached target)`` and
    ``arcs[k] = (head, cost)`` keep what one settled node needs in one or two cache lines.

    Returns ``(next_source, n_written)``; the caller grows the buffers and resumes when
    ``next_source < len(src_u)``.
    """
    n = node_rec.shape[0]
    dist = np.full(n, np.inf)
    best = np.full(n_targets, np.inf)
    touched = np.empty(n, dtype=np.int64)
    t_touched = np.empty(n_targets, dtype=np.int64)
    cap = arcs.shape[0] + 2
    hd = np.empty(cap, dtype=np.float64)
    hn = np.empty(cap, dtype=np.int64)
    w = 0
    n_src = src_u.shape[0]
    s = start
    while s < n_src:
        nt = 0
        # targets on the same segment: walk along it
        sg = src_seg[s]
        f = src_frac[s]
        for k in range(seg_ptr[sg], seg_ptr[sg + 1]):
            t = seg_t[k]
            g = seg_frac[k]
            if g == f:
                c = src_acc[s] + seg_acc[k]
            elif g > f:
                c = src_acc[s] + (g - f) * fwd[sg] + seg_acc[k]
            else:
                c = src_acc[s] + (f - g) * bwd[sg] + seg_acc[k]
            if c <= limit and c < best[t]:
                if best[t] == np.inf:
                    t_touched[nt] = t
                    nt += 1
                best[t] = c
        nn = 0
        size = 0
        for a, off in ((src_u[s], src_off_u[s]), (src_v[s], src_off_v[s])):
            if off <= limit and off < dist[a]:
                if dist[a] == np.inf:
                    touched[nn] = a
                    nn += 1
                dist[a] = off
                size = _push(hd, hn, size, off, a)
        while size > 0:
            d, x, size = _pop(hd, hn, size)
            if d > dist[x]:
                continue
            for k in range(node_rec[x, 2], node_rec[x, 3]):
                c = d + att_extra[k]
                t = att_t[k]
                if c <= limit and c < best[t]:
                    if best[t] == np.inf:
                        t_touched[nt] = t
                        nt += 1
                    best[t] = c
            for k in range(node_rec[x, 0], node_rec[x, 1]):
                y = np.int64(arcs[k, 0])
                nd = d + arcs[k, 1]
                if nd <= limit and nd < dist[y]:
                    if dist[y] == np.inf:
                        touched[nn] = y
                        nn += 1
                    dist[y] = nd
                    size = _push(hd, hn, size, nd, y)
        for k in range(nn):
            dist[touched[k]] = np.inf
        if w + nt > out_s.shape[0]:
            for k in range(nt):
                best[t_touched[k]] = np.inf
            return s, w
        for k in range(nt):
            t = t_touched[k]
            out_s[w] = s
            out_t[w] = t
            out_c[w] = best[t]
            w += 1
            best[t] = np.inf
        s += 1
    return s, w
