r"""Streets for the report's maps and the network service areas of a plan.

The streets come from the network the scenario reads (``[report] streets`` when given, else ``[network] path``),
through :func:`siting.travel.readers.load_network`, so a GeoPackage / GeoJSON line layer, an OpenStreetMap
``.pbf`` or ``.osm`` file all draw. When none is given or it cannot be read, :attr:`StreetLayer.note` says why
and the report prints it: streets are never dropped silently.

A *network service area* is the set of streets from which a walker reaches a providing site within the service's
threshold, by the travel tables' own walking model (the group's flat speed, slope response and stair rates). One
Dijkstra from a super source joined to every provider (the site's straight-line walk to its nearest node as the
arc cost) on the reversed graph gives each node's minutes *to* the nearest provider; a segment is drawn whole when
both ends are within the threshold and cut at the point the threshold is reached otherwise. The areas are
drawings: every figure of the report comes from the travel tables.

Example
-------
>>> from siting.travel.graph import WalkGraph
>>> g = WalkGraph.from_segments([0, 100, 200], [0, 0, 0], None, [0, 1], [1, 2])
>>> minutes = minutes_to_nearest(g, np.array([0.0]), np.array([0.0]), speed_m_s=1.0, use_slope=False)
>>> minutes.round(2).tolist()
[0.0, 1.67, 3.33]
>>> [round(float(shapely.length(s)), 1) for s in reached_lines(g, minutes, 2.5)]
[100.0, 50.0]
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

if TYPE_CHECKING:
    from ...scenario import Scenario
    from ...travel.graph import WalkGraph

__all__ = ["StreetLayer", "read_streets", "minutes_to_nearest", "reached_lines", "segments_of",
           "network_service_areas", "site_service_areas", "speed_of_group"]


@dataclass(frozen=True)
class StreetLayer:
    """The street network of a report: the graph (None when not read) and why it is missing.

    Attributes
    ----------
    graph : WalkGraph or None
        The walking graph in its projected CRS.
    note : str or None
        Why no street is drawn (None when the graph was read).
    source : str
        The file (or ``"-"``).
    speeds : dict
        Speed group -> flat walking speed (m/s) of the scenario's ``[network.speeds]``; the first is the default.
    use_slope, stairs_factor :
        The walking-cost settings of the travel tables.
    """

    graph: WalkGraph | None
    note: str | None
    source: str = "-"
    speeds: Mapping[str, float] | None = None
    use_slope: bool = True
    stairs_factor: float = 0.5
    #: the travel tables' walking model (stair rates and slope response per group); None: legacy factors above
    profile: Any = None


def read_streets(scenario: Scenario) -> StreetLayer:
    """The scenario's street network (``[report] streets``, else ``[network] path``), or a note saying why not."""
    from ...errors import SitingError
    from ...travel.config import parse_network_section
    from ...travel.readers import load_network

    report = scenario.report or {}
    base = scenario.base_dir or (scenario.path.parent if scenario.path is not None else Path.cwd())
    speeds: dict[str, float] = {"adult": 1.0}
    use_slope, stairs = True, 0.5
    layer: str | None = report.get("streets_layer")
    tolerance = 0.5
    if scenario.network:
        cfg = parse_network_section(scenario.network, file=scenario.path, base_dir=base, check_files=False)
        speeds, use_slope, stairs = dict(cfg.speeds), cfg.slope, cfg.stairs_factor
        profile = cfg.profile()
        path: Path | None = cfg.path
        layer, tolerance = layer or cfg.layer, cfg.tolerance_m
    else:
        path, profile = None, None
    given = report.get("streets")
    if given is not None:
        if not isinstance(given, str) or not given.strip():
            from ...errors import ScenarioError

            raise ScenarioError(f"expected a street file path, got {given!r}", file=str(scenario.path),
                                key="report.streets")
        path = (base / given) if not Path(given).is_absolute() else Path(given)
    if path is None:
        return StreetLayer(None, "streets not drawn: the scenario names no street network ([network] path, or "
                                 "[report] streets = \"streets.gpkg\" / \".osm.pbf\" / \".osm\")")
    try:
        graph = load_network(path, tolerance_m=tolerance, layer=layer)
    except SitingError as exc:
        return StreetLayer(None, f"streets not drawn: {exc}", str(path))
    except Exception as exc:  # noqa: BLE001 - a reader's own error is shown in the report, never swallowed
        return StreetLayer(None, f"streets not drawn: {path}: {type(exc).__name__}: {exc}", str(path))
    return StreetLayer(graph, None, str(path), speeds, use_slope, stairs, profile)


def speed_of_group(streets: StreetLayer, group: str | None) -> float:
    """Flat walking speed (m/s) of ``group``; the first (default) table's for None / ``default`` / unknown."""
    speeds = dict(streets.speeds or {"adult": 1.0})
    if group and group in speeds:
        return float(speeds[group])
    return float(next(iter(speeds.values())))


def segments_of(graph: WalkGraph, max_segments: int = 200_000) -> np.ndarray:
    """Street lines as an ``(n, 2, 2)`` array of piece end points (every vertex of every segment)."""
    coords, idx = shapely.get_coordinates(graph.seg_geom, return_index=True)
    same = idx[1:] == idx[:-1]
    segs = np.stack([coords[:-1][same], coords[1:][same]], axis=1)
    if len(segs) > max_segments:  # a drawing: thin a city-wide network evenly
        segs = segs[:: int(np.ceil(len(segs) / max_segments))]
    return segs


def segment_minutes(streets: StreetLayer, group: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Minutes ``group`` takes on each segment forward and backward, by the travel tables' own walking model.

    The scenario's :class:`~siting.travel.speed.SpeedProfile` when the layer has one (stairs by height climbed,
    the group's slope response), so a map's service area is the one the coverage was computed with; else the
    legacy model (slope and stairs factors, scaled by the group's flat speed).
    """
    graph = streets.graph
    assert graph is not None
    profile = streets.profile
    if profile is not None:
        name = group if group in profile.groups else next(iter(profile.groups))
        fwd_s, bwd_s = profile.segment_seconds(graph, name)
        return fwd_s / 60.0, bwd_s / 60.0
    speed = speed_of_group(streets, group)
    fwd_m, bwd_m = graph.segment_costs(use_slope=streets.use_slope, stairs_factor=streets.stairs_factor)
    return fwd_m / speed / 60.0, bwd_m / speed / 60.0


def _reverse_csr(graph: WalkGraph, segment_min: tuple[np.ndarray, np.ndarray], extra: int) -> Any:
    """Arc minutes with tails and heads swapped (minutes *to* a source), ``extra`` spare nodes at the end."""
    import scipy.sparse as sp

    from ...travel.graph import arc_table

    tail, head, cost_min = arc_table(graph, *segment_min)
    n = graph.n_nodes + extra
    return sp.csr_matrix((cost_min, (head, tail)), shape=(n, n))


def minutes_to_nearest(graph: WalkGraph, x: np.ndarray, y: np.ndarray, *, speed_m_s: float,
                       use_slope: bool = True, stairs_factor: float = 0.5,
                       limit_min: float = np.inf,
                       segment_min: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Per node, walking minutes to the nearest of the points ``(x, y)``.

    ``segment_min`` : minutes per segment forward and backward (:func:`segment_minutes`); when omitted they are
    the legacy model's at ``speed_m_s`` with ``use_slope`` and ``stairs_factor``.
    Each point joins its nearest node by a straight walk at ``speed_m_s``. Exact up to ``limit_min`` and one
    street segment beyond it (the far ends of the segments the limit cuts, which :func:`reached_lines` needs);
    ``inf`` farther.
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    n = graph.n_nodes
    if n == 0 or len(x) == 0:
        return np.full(n, np.inf)
    found = cKDTree(np.c_[graph.node_x, graph.node_y]).query(np.c_[x, y])
    dist, node = np.asarray(found[0], dtype=float), np.asarray(found[1], dtype=np.int64)
    if segment_min is None:
        fwd_m, bwd_m = graph.segment_costs(use_slope=use_slope, stairs_factor=stairs_factor)
        segment_min = (fwd_m / speed_m_s / 60.0, bwd_m / speed_m_s / 60.0)
    rev = _reverse_csr(graph, segment_min, extra=1)
    # the super source (node n) reaches each provider's node after the provider's own walk to it
    first = np.zeros(n, dtype=float)
    first_set = np.zeros(n, dtype=bool)
    start = dist / speed_m_s / 60.0
    order = np.argsort(start)[::-1]  # the quickest start of a node is written last
    first[node[order]] = start[order]
    first_set[node] = True
    cols = np.flatnonzero(first_set)
    # csgraph ignores explicit zero weights: a provider on a node gets a negligible positive start instead
    link = sp.csr_matrix((np.maximum(first[cols], 1e-9), (np.full(cols.size, n), cols)), shape=(n + 1, n + 1))
    longest = float(rev.data.max()) if rev.nnz else 0.0
    out = dijkstra(rev + link, directed=True, indices=np.array([n]), limit=float(limit_min) + longest)
    return np.asarray(out[0, :n], dtype=float)


def reached_lines(graph: WalkGraph, minutes: np.ndarray, threshold_min: float) -> np.ndarray:
    """Street pieces within ``threshold_min`` of a source (whole segments, and the reached part of the others)."""
    du, dv = minutes[graph.seg_u], minutes[graph.seg_v]
    whole = (du <= threshold_min) & (dv <= threshold_min)
    part = (np.minimum(du, dv) <= threshold_min) & ~whole
    lines = list(graph.seg_geom[whole])
    if part.any():
        geoms = graph.seg_geom[part]
        a, b = du[part], dv[part]
        from_u = a <= b
        near = np.where(from_u, a, b)
        far = np.where(from_u, b, a)
        reach = np.clip((threshold_min - near) / np.maximum(far - near, 1e-12), 0.0, 1.0)
        # an approximation of the walked share along the geometry: a drawing, not a figure
        frac = np.where(from_u, reach, 1.0 - reach)
        tip = shapely.line_interpolate_point(geoms, frac, normalized=True)
        end = np.where(from_u, shapely.get_point(geoms, 0), shapely.get_point(geoms, -1))
        stubs = shapely.linestrings(np.stack([shapely.get_coordinates(end), shapely.get_coordinates(tip)], axis=1))
        lines.extend(stubs)
    return np.asarray(lines, dtype=object)


def network_service_areas(streets: StreetLayer, x: np.ndarray, y: np.ndarray, *, threshold_min: float,
                          speed_group: str | None = None, buffer_m: float = 40.0, union: bool = True) -> Any:
    """The network service area of the providers at ``(x, y)``: the reached streets, buffered by ``buffer_m``.

    Returns one (multi)polygon when ``union``, else the buffered pieces; None without a street graph.
    """
    graph = streets.graph
    if graph is None:
        return None
    minutes = minutes_to_nearest(graph, np.asarray(x, float), np.asarray(y, float),
                                 speed_m_s=speed_of_group(streets, speed_group), use_slope=streets.use_slope,
                                 stairs_factor=streets.stairs_factor, limit_min=threshold_min,
                                 segment_min=segment_minutes(streets, speed_group))
    lines = reached_lines(graph, minutes, threshold_min)
    pieces = shapely.buffer(lines, buffer_m, quad_segs=2)
    return shapely.union_all(pieces) if union else pieces


def site_service_areas(streets: StreetLayer, x: np.ndarray, y: np.ndarray, *, threshold_min: float,
                       speed_group: str | None = None, buffer_m: float = 40.0, chunk: int = 64) -> list[Any]:
    """One network service area per site at ``(x, y)`` (for a GeoPackage layer): its reached streets, buffered.

    Each site joins its nearest node by a straight walk; searches run ``chunk`` sites at a time, each limited to
    the threshold. Returns None per site without a street graph, an empty polygon for a site reaching nothing.
    """
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    graph = streets.graph
    x, y = np.asarray(x, float), np.asarray(y, float)
    if graph is None or graph.n_nodes == 0:
        return [None] * len(x)
    speed = speed_of_group(streets, speed_group)
    found = cKDTree(np.c_[graph.node_x, graph.node_y]).query(np.c_[x, y])
    start = np.asarray(found[0], dtype=float) / speed / 60.0
    node = np.asarray(found[1], dtype=np.int64)
    rev = _reverse_csr(graph, segment_minutes(streets, speed_group), extra=0)
    longest = float(rev.data.max()) if rev.nnz else 0.0  # the far ends of the cut segments are needed too
    out: list[Any] = []
    for lo in range(0, len(x), chunk):
        part = slice(lo, lo + chunk)
        minutes = dijkstra(rev, directed=True, indices=node[part], limit=float(threshold_min) + longest)
        for row, offset in zip(np.atleast_2d(minutes), start[part], strict=True):
            lines = reached_lines(graph, row + offset, threshold_min)
            out.append(shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=2)) if len(lines)
                       else shapely.Polygon())
    return out
