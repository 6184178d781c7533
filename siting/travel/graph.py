"""The walking graph: street segments between nodes, with elevation and stairs.

A :class:`WalkGraph` is a set of *segments* (street pieces between two nodes, each with a
planar geometry) and, per segment, whether it may be walked ``u -> v`` (forward) and
``v -> u`` (backward). Streets from line layers and OpenStreetMap are walkable both ways;
a directed networkx graph keeps the directions it has. Arc costs are computed from the
segment *pieces* (consecutive vertices, with their rise), so a street with elevation on
every vertex is costed vertex by vertex.

Builders: :func:`from_networkx`, :func:`from_lines` (GeoPackage / GeoJSON / Shapefile /
GeoParquet line layer), :func:`from_osm_pbf` (pyrosm), :func:`from_osm_xml` (osmnx), and
:func:`load_network` which picks one from the file name.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import numpy as np
import shapely
from numpy.typing import ArrayLike

from siting.travel.speed import DEFAULT_STAIRS_FACTOR, arc_factor

_T = TypeVar("_T")

__all__ = ["WalkGraph", "WALK_EXCLUDED_HIGHWAY", "walkable_highway", "arc_table"]

#: ``highway`` values dropped for walking (motorways, and ways that do not physically exist).
WALK_EXCLUDED_HIGHWAY = frozenset({
    "motorway", "motorway_link", "construction", "proposed", "planned", "abandoned", "razed",
    "raceway", "bus_guideway", "busway", "escape", "no", "disused",
})
#: ``foot`` values that close a way to pedestrians.
FOOT_CLOSED = frozenset({"no", "private", "use_sidepath"})


def walkable_highway(highway: Iterable[object], foot: Iterable[object] | None = None) -> np.ndarray:
    """Boolean mask of ways a pedestrian may use.

    Examples
    --------
    >>> walkable_highway(["footway", "motorway", "steps", None]).tolist()
    [True, False, True, True]
    """
    hw = np.asarray([str(h).strip().lower() if h is not None and h == h else "" for h in highway], dtype=object)
    keep = ~np.isin(hw, list(WALK_EXCLUDED_HIGHWAY))
    if foot is not None:
        ft = np.asarray([str(f).strip().lower() if f is not None and f == f else "" for f in foot], dtype=object)
        keep &= ~np.isin(ft, list(FOOT_CLOSED))
    return keep


@dataclass(frozen=True)
class WalkGraph:
    """Street segments and nodes in a projected (metric) CRS.

    Attributes
    ----------
    node_x, node_y : numpy.ndarray
        Node coordinates (metres).
    node_z : numpy.ndarray
        Node elevation (metres), NaN when unknown.
    seg_u, seg_v : numpy.ndarray of int64
        End nodes of each segment; the geometry runs from ``u`` to ``v``.
    seg_length_m : numpy.ndarray
        Length used for costs (normally the planar geometry length).
    seg_geom : numpy.ndarray of shapely.LineString
        Geometry used to snap points (oriented ``u -> v``).
    seg_stairs : numpy.ndarray of bool
        Segment is tagged ``highway=steps``.
    seg_fwd, seg_bwd : numpy.ndarray of bool
        Walkable ``u -> v`` / ``v -> u``.
    piece_seg, piece_len_m, piece_rise_m : numpy.ndarray
        Pieces of each segment in ``u -> v`` order (segment index, planar length, rise);
        at least one piece per segment. ``piece_len_m`` sums to ``seg_length_m``.
    crs : str or None
        CRS of the coordinates (projected); ``source_crs`` is the CRS of the input.
    node_ids : numpy.ndarray
        Original node labels.
    """

    node_x: np.ndarray
    node_y: np.ndarray
    node_z: np.ndarray
    seg_u: np.ndarray
    seg_v: np.ndarray
    seg_length_m: np.ndarray
    seg_geom: np.ndarray
    seg_stairs: np.ndarray
    seg_fwd: np.ndarray
    seg_bwd: np.ndarray
    piece_seg: np.ndarray
    piece_len_m: np.ndarray
    piece_rise_m: np.ndarray
    node_ids: np.ndarray
    crs: str | None = None
    source_crs: str | None = None
    source: str = "network"

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_x.shape[0])

    @property
    def n_segments(self) -> int:
        """Number of segments."""
        return int(self.seg_u.shape[0])

    @cached_property
    def strtree(self) -> shapely.STRtree:
        """Spatial index of the segment geometries (built once)."""
        return shapely.STRtree(self.seg_geom)

    @cached_property
    def geom_length_m(self) -> np.ndarray:
        """Planar length of each segment geometry in metres (snapping works on the geometry)."""
        return shapely.length(self.seg_geom)

    def segment_costs(self, *, use_slope: bool = True,
                      stairs_factor: float = DEFAULT_STAIRS_FACTOR) -> tuple[np.ndarray, np.ndarray]:
        r"""Flat-equivalent lengths of each segment walked forward and backward.

        Returns
        -------
        fwd_m, bwd_m : numpy.ndarray
            :math:`c_s = \sum_{p \in s} \ell_p / f(\pm\Delta h_p/\ell_p)`; the walking time at
            base speed :math:`v` is :math:`c_s / v`. ``inf`` where the direction is not walkable.

        Examples
        --------
        >>> g = WalkGraph.from_segments([0, 100], [0, 0], [0, 10], [0], [1])
        >>> [round(float(c), 1) for c in g.segment_costs()[0]], [round(float(c), 1) for c in g.segment_costs()[1]]
        ([141.9], [100.0])
        """
        stairs = self.seg_stairs[self.piece_seg]
        f_up = arc_factor(self.piece_len_m, self.piece_rise_m, stairs, use_slope=use_slope,
                          stairs_factor=stairs_factor)
        f_dn = arc_factor(self.piece_len_m, -self.piece_rise_m, stairs, use_slope=use_slope,
                          stairs_factor=stairs_factor)
        n = self.n_segments
        fwd = np.bincount(self.piece_seg, weights=self.piece_len_m / f_up, minlength=n)
        bwd = np.bincount(self.piece_seg, weights=self.piece_len_m / f_dn, minlength=n)
        fwd = np.where(self.seg_fwd, fwd, np.inf)
        bwd = np.where(self.seg_bwd, bwd, np.inf)
        return fwd, bwd

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_segments(cls, node_x: ArrayLike, node_y: ArrayLike, node_z: ArrayLike | None, seg_u: ArrayLike,
                      seg_v: ArrayLike, *, seg_length_m: ArrayLike | None = None, seg_geom: ArrayLike | None = None,
                      stairs: ArrayLike | None = None, fwd: ArrayLike | None = None, bwd: ArrayLike | None = None,
                      pieces: tuple[ArrayLike, ArrayLike, ArrayLike] | None = None,
                      node_ids: ArrayLike | None = None, crs: str | None = None, source_crs: str | None = None,
                      source: str = "network") -> WalkGraph:
        """Build from arrays (the common path of every builder).

        ``pieces`` is an optional ``(piece_seg, piece_len_m, piece_rise_m)`` triple; by default
        each segment is one piece with rise ``z[v] - z[u]`` and length ``seg_length_m``.
        Without geometries, straight lines between the nodes are used; without lengths, the
        geometry lengths.

        Examples
        --------
        >>> g = WalkGraph.from_segments([0, 100, 100], [0, 0, 50], None, [0, 1], [1, 2])
        >>> g.n_nodes, g.n_segments, g.seg_length_m.tolist()
        (3, 2, [100.0, 50.0])
        """
        x = np.asarray(node_x, dtype=np.float64)
        y = np.asarray(node_y, dtype=np.float64)
        n = x.shape[0]
        z = np.full(n, np.nan) if node_z is None else np.asarray(node_z, dtype=np.float64)
        u = np.asarray(seg_u, dtype=np.int64)
        v = np.asarray(seg_v, dtype=np.int64)
        m = u.shape[0]
        if seg_geom is None:
            coords = np.stack([np.c_[x[u], y[u]], np.c_[x[v], y[v]]], axis=1)
            seg_geom = shapely.linestrings(coords) if m else np.empty(0, dtype=object)
        seg_geom = np.asarray(seg_geom, dtype=object)
        length = shapely.length(seg_geom) if seg_length_m is None else np.asarray(seg_length_m, dtype=np.float64)
        if pieces is None:
            rise = z[v] - z[u]
            pieces = (np.arange(m, dtype=np.int64), length.astype(np.float64), rise)
        p_seg, p_len, p_rise = (np.asarray(a) for a in pieces)
        return cls(
            node_x=x, node_y=y, node_z=z, seg_u=u, seg_v=v,
            seg_length_m=np.asarray(length, dtype=np.float64), seg_geom=seg_geom,
            seg_stairs=np.zeros(m, bool) if stairs is None else np.asarray(stairs, dtype=bool),
            seg_fwd=np.ones(m, bool) if fwd is None else np.asarray(fwd, dtype=bool),
            seg_bwd=np.ones(m, bool) if bwd is None else np.asarray(bwd, dtype=bool),
            piece_seg=p_seg.astype(np.int64), piece_len_m=p_len.astype(np.float64),
            piece_rise_m=p_rise.astype(np.float64),
            node_ids=np.arange(n) if node_ids is None else np.asarray(node_ids),
            crs=crs, source_crs=source_crs if source_crs is not None else crs, source=source,
        )

    def kept(self, name: str, build: Callable[[], _T]) -> _T:
        """The value kept with this graph under ``name``, built by ``build()`` on first use.

        The graph is frozen; like :func:`functools.cached_property`, the value lives in the instance's
        ``__dict__``, so it goes when the graph does (snapping index, arc layout, per-profile costs).

        >>> g = WalkGraph.from_segments([0, 100], [0, 0], None, [0], [1])
        >>> g.kept("_answer", lambda: 42), g.kept("_answer", lambda: 0)
        (42, 42)
        """
        if name not in self.__dict__:
            self.__dict__[name] = build()
        return self.__dict__[name]

    def summary(self) -> str:
        """One line for logs: nodes, segments, km of street, share of stairs, elevation known."""
        return self.kept("_summary", self._summary)  # every computation's result carries it

    def _summary(self) -> str:
        km = float(self.seg_length_m.sum()) / 1000.0
        z = float(np.isfinite(self.node_z).mean()) if self.n_nodes else 0.0
        return (f"{self.source}: {self.n_nodes:,} nodes, {self.n_segments:,} segments, {km:,.1f} km, "
                f"{int(self.seg_stairs.sum()):,} stairs, elevation on {100 * z:.0f}% of nodes, crs {self.crs}")


def arc_table(graph: WalkGraph, fwd_m: np.ndarray, bwd_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed arcs ``(tail, head, cost)``; parallel arcs keep the cheapest, self-loops dropped.

    Examples
    --------
    >>> g = WalkGraph.from_segments([0, 1], [0, 0], None, [0, 0], [1, 1], seg_length_m=[5.0, 3.0])
    >>> [a.tolist() for a in arc_table(g, *g.segment_costs())]
    [[0, 1], [1, 0], [3.0, 3.0]]
    """
    tail = np.concatenate([graph.seg_u, graph.seg_v])
    head = np.concatenate([graph.seg_v, graph.seg_u])
    cost = np.concatenate([fwd_m, bwd_m])
    keep = np.isfinite(cost) & (tail != head)
    return _cheapest_arcs(tail[keep], head[keep], cost[keep], graph.n_nodes)


def _cheapest_arcs(tail: np.ndarray, head: np.ndarray, cost: np.ndarray,
                   n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort arcs by (tail, head) and keep the cheapest of parallel arcs (one integer sort)."""
    key = tail.astype(np.int64) * np.int64(max(n, 1)) + head
    order = np.argsort(key, kind="stable")
    key = key[order]
    start = np.ones(key.shape[0], dtype=bool)
    start[1:] = key[1:] != key[:-1]
    cost = cost[order]
    if not start.all():
        cost = np.minimum.reduceat(cost, np.flatnonzero(start))
    idx = order[start]
    return tail[idx], head[idx], cost
