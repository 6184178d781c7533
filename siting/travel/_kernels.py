"""Compiled (numba) cutoff shortest paths from many sources with sparse output.

Optional: imported only when numba is installed; :mod:`siting.travel.matrix` falls back to
``scipy.sparse.csgraph`` otherwise. Each source runs a *bucket-queue* search (Dial's
algorithm generalised to real costs: bucket ``b`` holds labels in ``[b*delta, (b+1)*delta)``).
Buckets are emptied in increasing order; a label improved after its node was expanded is
pushed again and the node re-expanded (label-correcting), so the result is exact for any
``delta > 0``; with ``delta`` below the shortest arc nothing is expanded twice. It stops at the
cutoff and touches only the nodes it reaches (distances are reset through a list of touched
nodes, so no O(n) work per source). This avoids the heap's log factor and branch misses.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["dijkstra_points", "group_by_key", "key_lists"]


@njit(cache=True, nogil=True)
def _compact(en: np.ndarray, ed: np.ndarray, ex: np.ndarray, bh: np.ndarray, b: int, dist: np.ndarray,
             tmp_n: np.ndarray, tmp_d: np.ndarray, tmp_b: np.ndarray) -> int:
    """Drop stale entries of buckets ``b..`` and renumber the live ones from 0 (rarely needed).

    A node has at most one live entry (labels only strictly decrease), so at most ``n`` remain.
    """
    m = 0
    for bb in range(b, bh.shape[0]):
        e = bh[bb]
        while e != -1:
            if ed[e] <= dist[en[e]]:
                tmp_n[m] = en[e]
                tmp_d[m] = ed[e]
                tmp_b[m] = bb
                m += 1
            e = ex[e]
        bh[bb] = -1
    for i in range(m):
        en[i] = tmp_n[i]
        ed[i] = tmp_d[i]
        ex[i] = bh[tmp_b[i]]
        bh[tmp_b[i]] = i
    return m


@njit(cache=True, nogil=True)
def dijkstra_points(indptr: np.ndarray, arcs: np.ndarray, att_ptr: np.ndarray, att_t: np.ndarray,
                    att_extra: np.ndarray, src_u: np.ndarray, src_off_u: np.ndarray,
                    src_v: np.ndarray, src_off_v: np.ndarray, src_frac: np.ndarray, src_acc: np.ndarray,
                    src_fwd: np.ndarray, src_bwd: np.ndarray, src_same_first: np.ndarray, same_next: np.ndarray,
                    t_frac: np.ndarray, t_acc: np.ndarray, limit: float, delta: float, entries: int,
                    out_s: np.ndarray, out_t: np.ndarray, out_c: np.ndarray) -> tuple[int, int]:
    """Run sources ``0, 1, ...`` until done or the output buffers are full.

    Node ``x``'s arcs are ``arcs[indptr[x]:indptr[x + 1]]``, records ``(head, cost)`` of
    :data:`siting.travel.arcs.ARC_DTYPE`; the targets attached to it are ``att_t[att_ptr[x]:att_ptr[x + 1]]``,
    each reached at ``label + att_extra``. The targets on source ``s``'s own segment are a list (see
    :func:`key_lists`): ``src_same_first[s]``, then ``same_next[t]`` until ``-1`` (target ``t`` at fraction
    ``t_frac[t]`` with access leg ``t_acc[t]``); ``src_fwd`` / ``src_bwd`` are that segment's costs. ``entries`` (> n + largest out-degree) sizes the bucket
    entry pool; stale entries are compacted away when it fills.

    Returns ``(next_source, n_written)``; the caller grows the buffers and resumes when
    ``next_source < len(src_u)``.
    """
    n = indptr.shape[0] - 1
    # "not reached" is the float just above the limit (not inf): one comparison then asks both "within the
    # limit?" and "better?" (x < far exactly when x <= limit)
    far = np.nextafter(limit, np.inf)
    dist = np.full(n, far)
    n_targets = t_frac.shape[0]
    best = np.full(n_targets, far)
    touched = np.empty(n + 1, dtype=np.int64)  # + 1: the relaxation writes one slot past the last touched node
    t_touched = np.empty(n_targets, dtype=np.int64)
    cap = entries
    tmp_n = np.empty(n, dtype=np.int64)
    tmp_d = np.empty(n, dtype=np.float64)
    tmp_b = np.empty(n, dtype=np.int64)
    en = np.empty(cap, dtype=np.int64)     # entry: node
    ed = np.empty(cap, dtype=np.float64)   # entry: label
    ex = np.empty(cap, dtype=np.int64)     # entry: next entry in the same bucket
    nb = int(limit / delta) + 1
    bh = np.full(nb, -1, dtype=np.int64)   # bucket heads
    w = 0
    n_src = src_u.shape[0]
    s = 0
    while s < n_src:
        nt = 0
        # targets on the same segment: walk along it
        f = src_frac[s]
        t = src_same_first[s]
        while t >= 0:
            g = t_frac[t]
            if g == f:
                c = src_acc[s] + t_acc[t]
            elif g > f:
                c = src_acc[s] + (g - f) * src_fwd[s] + t_acc[t]
            else:
                c = src_acc[s] + (f - g) * src_bwd[s] + t_acc[t]
            if c < best[t]:
                if best[t] == far:
                    t_touched[nt] = t
                    nt += 1
                best[t] = c
            t = same_next[t]
        nn = 0
        cnt = 0
        for a, off in ((src_u[s], src_off_u[s]), (src_v[s], src_off_v[s])):
            if off < dist[a]:
                if dist[a] == far:
                    touched[nn] = a
                    nn += 1
                dist[a] = off
                b = int(off / delta)
                en[cnt] = a
                ed[cnt] = off
                ex[cnt] = bh[b]
                bh[b] = cnt
                cnt += 1
        for b in range(nb):
            # the bucket being emptied is a local stack (head ``e``): its pops and pushes skip ``bh[b]``
            e = bh[b]
            bh[b] = -1
            while e != -1:
                x = en[e]
                d = ed[e]
                e = ex[e]
                if d > dist[x]:
                    continue
                for k in range(att_ptr[x], att_ptr[x + 1]):
                    c = d + att_extra[k]
                    t = att_t[k]
                    if c < best[t]:
                        if best[t] == far:
                            t_touched[nt] = t
                            nt += 1
                        best[t] = c
                if cnt + indptr[x + 1] - indptr[x] > cap:
                    bh[b] = e
                    cnt = _compact(en, ed, ex, bh, b, dist, tmp_n, tmp_d, tmp_b)
                    e = bh[b]
                    bh[b] = -1
                for k in range(indptr[x], indptr[x + 1]):
                    y = arcs[k].head
                    nd = d + arcs[k].cost
                    old = dist[y]
                    if nd < old:
                        # written always, kept when first reached: no hard-to-predict branch (about 4 % faster)
                        touched[nn] = y
                        nn += old == far
                        dist[y] = nd
                        bb = int(nd / delta)
                        en[cnt] = y
                        ed[cnt] = nd
                        if bb == b:
                            ex[cnt] = e
                            e = cnt
                        else:
                            ex[cnt] = bh[bb]
                            bh[bb] = cnt
                        cnt += 1
        for k in range(nn):
            dist[touched[k]] = far
        if w + nt > out_s.shape[0]:
            for k in range(nt):
                best[t_touched[k]] = far
            return s, w
        for k in range(nt):
            t = t_touched[k]
            out_s[w] = s
            out_t[w] = t
            out_c[w] = best[t]
            w += 1
            best[t] = far
        s += 1
    return s, w


@njit(cache=True, nogil=True)
def key_lists(key: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions grouped by an integer key in ``[0, n)`` as linked lists, each in increasing position.

    The list of key ``x`` starts at ``first[x]`` and goes on through ``next``; ``-1`` ends it (and marks a key
    without positions). The order within a key is that of ``numpy.argsort(key, kind="stable")``; unlike a CSR
    grouping this needs no sort and no prefix sum over the keys, only one fill of ``first``.
    """
    first = np.full(n, -1, dtype=np.int64)
    nxt = np.empty(key.shape[0], dtype=np.int64)
    for i in range(key.shape[0] - 1, -1, -1):
        nxt[i] = first[key[i]]
        first[key[i]] = i
    return first, nxt


@njit(cache=True, nogil=True)
def group_by_key(key: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR pointer (``n + 1``) and order grouping positions by an integer key in ``[0, n)``.

    A counting sort, ``O(n + len(key))``: ``order`` is ``numpy.argsort(key, kind="stable")``. For data read in
    key order (a node's attached targets): consecutive, unlike :func:`key_lists`, whose lists jump through
    memory when the keys are many (a million demand points on 500k nodes).
    """
    # counts two places up: after the prefix sums ptr[x + 1] is where key x starts, and the scatter moves it to
    # where key x ends, which is where key x + 1 starts: ptr[:n + 1] is then the CSR pointer
    ptr = np.zeros(n + 2, dtype=np.int64)
    for i in range(key.shape[0]):
        ptr[key[i] + 2] += 1
    total = 0
    for x in range(2, n + 2):  # the running sum in a register, not read back from memory
        total += ptr[x]
        ptr[x] = total
    order = np.empty(key.shape[0], dtype=np.int64)
    for i in range(key.shape[0]):
        slot = key[i] + 1
        order[ptr[slot]] = i
        ptr[slot] += 1
    return ptr[: n + 1], order
