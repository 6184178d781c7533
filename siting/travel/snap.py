"""Snap points (demand, candidate sites) to the nearest street segment.

Each point becomes a virtual node on its nearest segment ``s = (u, v)`` at fraction ``f``
of the geometry (from ``u``), plus an access leg (straight-line distance to the street)
walked at flat speed. Points farther than ``max_distance_m`` from every street are not
snapped and are reported.

The nearest segment comes from a KD-tree over short stretches of the street geometries
(:class:`SnapIndex`, built once per graph): the stretches near a point are found in bulk and
the exact point-to-piece distances are computed with numpy, so no per-point Python runs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike

from siting.travel.arcs import morton_order
from siting.travel.graph import WalkGraph

__all__ = ["Snapped", "SnapIndex", "SnapGrid", "snap_points", "street_distance"]

#: points snapped per block (bounds the candidate arrays to a few tens of MB)
BLOCK_POINTS = 100_000
#: stretches asked of the KD-tree per point first; points whose answer may be incomplete ask again with more
FIRST_NEIGHBOURS = 8


@dataclass(frozen=True)
class Snapped:
    """Result of :func:`snap_points`, one row per input point.

    Attributes
    ----------
    seg : numpy.ndarray of int64
        Segment index, ``-1`` when the point is farther than the limit from every street.
    frac : numpy.ndarray
        Position along the segment geometry, 0 at ``u`` and 1 at ``v``.
    access_m : numpy.ndarray
        Distance from the point to the street (``inf`` when not snapped).
    x, y : numpy.ndarray
        Coordinates of the snapped position on the street (input position when not snapped).
    """

    seg: np.ndarray
    frac: np.ndarray
    access_m: np.ndarray
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.seg.shape[0])

    @property
    def ok(self) -> np.ndarray:
        """Mask of snapped points."""
        return self.seg >= 0

    def take(self, index: np.ndarray) -> Snapped:
        """The points at ``index`` (positions or a mask), in that order."""
        return Snapped(self.seg[index], self.frac[index], self.access_m[index], self.x[index], self.y[index])


@dataclass(frozen=True)
class SnapIndex:
    r"""Straight pieces of every segment geometry and a KD-tree over stretches of them.

    A piece is one straight part of a segment's geometry (between consecutive vertices); it is cut into
    stretches no longer than ``stretch_m``, and the tree holds the stretch midpoints.

    Notes
    -----
    The midpoint of every stretch lies on a street, so the nearest midpoint, at distance :math:`m_0`, bounds
    the street distance: :math:`d^* \le m_0`. A stretch at distance :math:`d` has its midpoint within
    :math:`d + h/2` (:math:`h` = ``stretch_m``), so every piece at distance :math:`d^*` has a stretch midpoint
    within :math:`m_0 + h/2`: the exact distances to the pieces of those stretches give the nearest segment.
    """

    ax: np.ndarray
    ay: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    piece_seg: np.ndarray
    piece_last: np.ndarray
    along_before_m: np.ndarray
    stretch_piece: np.ndarray
    stretch_m: float
    tree: Any  # scipy.spatial.cKDTree, or None without segments
    grid: SnapGrid | None = None  # the same midpoints in uniform cells, for the compiled search

    @classmethod
    def build(cls, graph: WalkGraph) -> SnapIndex:
        """Pieces and stretches of ``graph``'s segment geometries.

        Examples
        --------
        >>> g = WalkGraph.from_segments([0, 100, 100], [0, 0, 50], None, [0, 1], [1, 2])
        >>> idx = SnapIndex.build(g)
        >>> idx.piece_seg.tolist(), idx.along_before_m.tolist()
        ([0, 1], [0.0, 0.0])
        """
        from scipy.spatial import cKDTree

        xy, owner = shapely.get_coordinates(graph.seg_geom, return_index=True)
        same = owner[1:] == owner[:-1]
        start = np.flatnonzero(same)
        ax, ay = xy[start, 0], xy[start, 1]
        bx, by = xy[start + 1, 0], xy[start + 1, 1]
        dx, dy = bx - ax, by - ay
        seg = owner[start].astype(np.int64)
        length = np.hypot(dx, dy)
        # length of the geometry before each piece: cumulative sum restarted at each segment
        cum = np.cumsum(length)
        first = np.ones(seg.size, dtype=bool)
        first[1:] = seg[1:] != seg[:-1]
        base = np.repeat(cum[first] - length[first], np.diff(np.r_[np.flatnonzero(first), seg.size]))
        before = cum - length - base
        positive = length[length > 0]
        stretch = float(np.clip(np.median(positive), 5.0, 100.0)) if positive.size else 1.0
        parts = np.maximum(1, np.ceil(length / stretch).astype(np.int64))
        piece = np.repeat(np.arange(seg.size), parts)
        k = np.arange(piece.size) - np.repeat(np.cumsum(parts) - parts, parts)
        t = (k + 0.5) / parts[piece]
        mids = np.column_stack([ax[piece] + t * dx[piece], ay[piece] + t * dy[piece]])
        tree = cKDTree(mids, balanced_tree=False, compact_nodes=False) if mids.size else None
        last = np.ones(seg.size, dtype=bool)
        last[:-1] = seg[1:] != seg[:-1]
        stretch_m = float(np.max(length / parts)) if parts.size else stretch
        grid = SnapGrid.build(mids, piece, stretch_m, np.column_stack([ax, ay, dx, dy, bx, by])) \
            if mids.size else None
        return cls(ax, ay, bx, by, dx, dy, seg, last, before, piece, stretch_m, tree, grid)

    def nearest(self, x: np.ndarray, y: np.ndarray, *, threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                              np.ndarray]:
        """Nearest piece of every point: ``(piece, distance_m, t, px, py)``; ties go to the lowest piece.

        ``t`` is the position along the piece (0..1) and ``px, py`` the nearest point on it; ``threads`` are
        the KD-tree's query workers (``-1`` = all cores).
        """
        n = x.shape[0]
        piece = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.inf)
        t_out = np.zeros(n)
        if self.tree is None or n == 0:
            return piece, dist, t_out, x.copy(), y.copy()
        # points in Z-curve order: neighbouring queries walk the same tree nodes (about 2x faster)
        todo = morton_order(x, y)
        g = self.grid
        kernel = _grid_kernel() if g is not None else None
        if kernel is not None and g is not None:
            # compiled ring search over the grid; the few points it leaves (far from every street) ask the tree
            qx, qy = x[todo], y[todo]
            p_k, d_k, t_k = np.empty(todo.size, np.int64), np.empty(todo.size), np.empty(todo.size)
            kernel(qx, qy, g.x0, g.y0, g.cell_m, g.nx, g.ny, g.cell_ptr, g.cell_piece, g.cell_geom,
                   0.5 * self.stretch_m, GRID_RINGS, p_k, d_k, t_k)
            found = p_k >= 0
            rows = todo[found]
            piece[rows], dist[rows], t_out[rows] = p_k[found], d_k[found], t_k[found]
            todo = todo[~found]
        pts = np.column_stack([x, y])
        k = min(FIRST_NEIGHBOURS, self.stretch_piece.size)
        while todo.size:
            d_mid, j = self.tree.query(pts[todo], k=k, workers=threads)
            d_mid, j = d_mid.reshape(todo.size, k), j.reshape(todo.size, k)
            reach = d_mid[:, :1] + 0.5 * self.stretch_m * (1.0 + 1e-9) + 1e-9
            # the k-th stretch is still within reach: more may be, ask again with more neighbours
            again = (d_mid[:, -1] <= reach[:, 0]) & (k < self.stretch_piece.size)
            done = ~again
            rows = todo[done]
            cand = self.stretch_piece[j[done]]
            cand = np.where(d_mid[done] <= reach[done], cand, cand[:, :1])  # beyond reach: repeat the nearest
            qx, qy = x[rows][:, None], y[rows][:, None]
            ax, ay, dx, dy = self.ax[cand], self.ay[cand], self.dx[cand], self.dy[cand]
            ll = dx * dx + dy * dy
            with np.errstate(invalid="ignore", divide="ignore"):
                t = np.where(ll > 0, ((qx - ax) * dx + (qy - ay) * dy) / np.where(ll > 0, ll, 1.0), 0.0)
            t = np.clip(t, 0.0, 1.0)
            # at t = 1 the far end itself (a + d may differ from it in the last bit, breaking ties on nodes)
            ex = np.where(t >= 1.0, self.bx[cand], ax + t * dx)
            ey = np.where(t >= 1.0, self.by[cand], ay + t * dy)
            d = np.hypot(qx - ex, qy - ey)
            # lowest distance, then lowest piece (= lowest segment, then first along it)
            best = d.min(axis=1, keepdims=True)
            key = np.where(d == best, cand, np.iinfo(np.int64).max)
            c = key.argmin(axis=1)
            r = np.arange(rows.size)
            piece[rows] = cand[r, c]
            dist[rows] = best[:, 0]
            t_out[rows] = t[r, c]
            todo = todo[again]
            k = min(4 * k, self.stretch_piece.size)
        px = np.where(t_out >= 1.0, self.bx[piece], self.ax[piece] + t_out * self.dx[piece])
        py = np.where(t_out >= 1.0, self.by[piece], self.ay[piece] + t_out * self.dy[piece])
        return piece, dist, t_out, px, py


@dataclass(frozen=True)
class SnapGrid:
    """Stretch midpoints bucketed in square cells of side ``cell_m`` (CSR by ``iy * nx + ix``).

    Cells are at least one stretch long and no more numerous than about twice the stretches.
    """

    x0: float
    y0: float
    cell_m: float
    nx: int
    ny: int
    cell_ptr: np.ndarray
    cell_piece: np.ndarray
    cell_geom: np.ndarray  # (entries, 6): ax, ay, dx, dy, bx, by of cell_piece, read in sequence by the kernel

    @classmethod
    def build(cls, mids: np.ndarray, stretch_piece: np.ndarray, stretch_m: float,
              piece_geom: np.ndarray) -> SnapGrid:
        """The grid of midpoints ``mids`` (pieces ``stretch_piece``; ``piece_geom`` one row per piece).

        A piece with several stretches in one cell is listed there once.
        """
        x0, y0 = float(mids[:, 0].min()), float(mids[:, 1].min())
        w, h = float(mids[:, 0].max()) - x0, float(mids[:, 1].max()) - y0
        cell = max(stretch_m, 1e-3, float(np.sqrt(max(w, 1.0) * max(h, 1.0) / (2.0 * mids.shape[0]))))
        nx, ny = int(w // cell) + 1, int(h // cell) + 1
        # the kernel finds a point's cell with this same formula
        ix = np.clip(np.floor((mids[:, 0] - x0) / cell).astype(np.int64), 0, nx - 1)
        iy = np.clip(np.floor((mids[:, 1] - y0) / cell).astype(np.int64), 0, ny - 1)
        n_pieces = piece_geom.shape[0]
        # (cell, piece) pairs, each once, sorted by cell then piece
        pair = np.unique((iy * nx + ix) * n_pieces + stretch_piece)
        key, piece = pair // n_pieces, pair % n_pieces
        ptr = np.zeros(nx * ny + 1, dtype=np.int64)
        np.cumsum(np.bincount(key, minlength=nx * ny), out=ptr[1:])
        return cls(x0, y0, cell, nx, ny, ptr, piece.astype(np.int64), np.ascontiguousarray(piece_geom[piece]))


#: rings of grid cells the compiled snapping searches before handing a point to the KD-tree
GRID_RINGS = 8


def _grid_kernel() -> Any:
    """The compiled grid search (:mod:`siting.travel._snap_kernel`), or ``None`` without numba."""
    try:
        from siting.travel._snap_kernel import nearest_pieces
    except Exception:  # noqa: BLE001 - numba missing or broken: the KD-tree alone
        return None
    return nearest_pieces


def _index(graph: WalkGraph) -> SnapIndex:
    """The graph's :class:`SnapIndex`, built on first use and kept with the graph (as its STRtree is)."""
    return graph.kept("_snap_index", lambda: SnapIndex.build(graph))


def street_distance(graph: WalkGraph, x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Distance from each point to the nearest street (``inf`` without streets).

    Examples
    --------
    >>> g = WalkGraph.from_segments([0, 100], [0, 0], None, [0], [1])
    >>> street_distance(g, [50.0, 130.0], [-7.0, 40.0]).tolist()
    [7.0, 50.0]
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    out = np.full(x.shape[0], np.inf)
    if graph.n_segments == 0:
        return out
    for lo in range(0, x.shape[0], BLOCK_POINTS):
        out[lo:lo + BLOCK_POINTS] = _index(graph).nearest(x[lo:lo + BLOCK_POINTS], y[lo:lo + BLOCK_POINTS])[1]
    return out


def snap_points(graph: WalkGraph, x: ArrayLike, y: ArrayLike, *, max_distance_m: float = 300.0,
                threads: int = 1) -> Snapped:
    r"""Snap points to their nearest segment (vectorised KD-tree query, exact distances).

    Parameters
    ----------
    graph : WalkGraph
        The street network.
    x, y : array_like
        Point coordinates in the graph's CRS (metres).
    max_distance_m : float
        Points farther than this from every street are reported (``seg = -1``).
    threads : int
        Workers of the KD-tree queries (``-1`` = all cores).

    Returns
    -------
    Snapped
        One entry per point, in input order.

    Notes
    -----
    With :math:`d_p` the distance to the street and :math:`f_p` the fraction along segment
    :math:`(u, v)`, the point reaches ``u`` after :math:`d_p + f_p\,c^{vu}_s` and ``v`` after
    :math:`d_p + (1-f_p)\,c^{uv}_s` flat-equivalent metres (``c`` = segment cost per direction).
    Ties between equally near segments (a point on a node) go to the lowest segment index;
    every choice gives the same times because the node is reached at no extra cost.

    Examples
    --------
    >>> g = WalkGraph.from_segments([0, 100], [0, 0], None, [0], [1])
    >>> s = snap_points(g, [25.0, 50.0, 500.0], [10.0, 0.0, 0.0], max_distance_m=100)
    >>> s.seg.tolist(), s.frac.tolist(), s.access_m.tolist()
    ([0, 0, -1], [0.25, 0.5, 0.0], [10.0, 0.0, inf])
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.shape[0]
    seg = np.full(n, -1, dtype=np.int64)
    frac = np.zeros(n)
    access = np.full(n, np.inf)
    sx, sy = x.copy(), y.copy()
    finite = np.isfinite(x) & np.isfinite(y)
    if n == 0 or graph.n_segments == 0 or not finite.any():
        return Snapped(seg, frac, access, sx, sy)
    index = _index(graph)
    glen = graph.geom_length_m
    rows_all = np.flatnonzero(finite)
    for lo in range(0, rows_all.size, BLOCK_POINTS):
        rows = rows_all[lo:lo + BLOCK_POINTS]
        piece, dist, t, px, py = index.nearest(x[rows], y[rows], threads=threads)
        near = dist <= float(max_distance_m)
        rows, piece, dist, t, px, py = rows[near], piece[near], dist[near], t[near], px[near], py[near]
        si = index.piece_seg[piece]
        along = index.along_before_m[piece] + t * np.hypot(index.dx[piece], index.dy[piece])
        gl = glen[si]
        seg[rows] = si
        f = np.clip(np.where(gl > 0, along / np.where(gl > 0, gl, 1.0), 0.0), 0.0, 1.0)
        # the end node exactly (a sum of piece lengths may differ from the geometry's length in the last bit)
        frac[rows] = np.where((t >= 1.0) & index.piece_last[piece], 1.0, f)
        access[rows] = dist
        sx[rows] = px
        sy[rows] = py
    return Snapped(seg, frac, access, sx, sy)
