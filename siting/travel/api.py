"""Public entry points: compute the walking-time table and write it.

>>> import pandas as pd
>>> from siting.travel.graph import WalkGraph
>>> g = WalkGraph.from_segments([0, 600, 1200], [0, 0, 0], None, [0, 1], [1, 2], crs="EPSG:32648")
>>> d = pd.DataFrame({"id": ["d1", "d2"], "x": [0.0, 1200.0], "y": [10.0, 0.0]})
>>> s = pd.DataFrame({"id": ["s1"], "x": [600.0], "y": [0.0]})
>>> compute_travel_times(g, d, s, cutoff_min=15).round(2).to_dict("list")
{'demand_id': ['d1', 'd2'], 'candidate_id': ['s1', 's1'], 'minutes': [10.17, 10.0]}
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting.data.load import ELEVATION_COLUMNS
from siting.errors import InputError
from siting.travel.graph import WalkGraph
from siting.travel.matrix import od_costs, search_graph
from siting.travel.readers import crs_name, from_networkx, load_network
from siting.travel.snap import Snapped, snap_points
from siting.travel.speed import SpeedProfile

__all__ = ["as_walk_graph", "compute_travel_times", "write_travel_table", "TRAVEL_COLUMNS", "ELEVATION_COLUMNS",
           "point_elevation", "street_elevation"]

TRAVEL_COLUMNS = ["demand_id", "candidate_id", "minutes"]


def as_walk_graph(network: Any, *, tolerance_m: float = 0.5, layer: str | None = None) -> WalkGraph:
    """Accept a :class:`WalkGraph`, a networkx graph, a path, or a ``NetworkConfig``.

    Parameters
    ----------
    network : WalkGraph, networkx graph, path or NetworkConfig
        The street network; a path is read with :func:`siting.travel.readers.load_network`.
    tolerance_m, layer
        Passed to :func:`~siting.travel.readers.load_network` for a path.

    Returns
    -------
    WalkGraph

    Raises
    ------
    InputError
        ``network`` is none of these, or the file cannot be read.

    Examples
    --------
    >>> as_walk_graph(42)
    Traceback (most recent call last):
    ...
    siting.errors.InputError: cannot build a street network from int
    """
    if isinstance(network, WalkGraph):
        return network
    if hasattr(network, "build_graph"):
        return network.build_graph()
    if isinstance(network, (str, os.PathLike)):
        return load_network(network, tolerance_m=tolerance_m, layer=layer)
    if hasattr(network, "nodes") and hasattr(network, "edges"):
        return from_networkx(network)
    raise InputError(f"cannot build a street network from {type(network).__name__}")


def _points(df: object, role: str, graph: WalkGraph, crs: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids (str), x, y in the graph CRS; checks the CRS against the network's."""
    name = getattr(df, "attrs", {}).get("source", role)
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{role} points must be a DataFrame with columns id, x, y", file=name)
    if "id" not in df.columns:
        raise InputError("missing column", file=name, column="id")
    pts_crs = crs
    if pts_crs is None:
        pts_crs = getattr(df, "crs", None) if hasattr(df, "geometry") and "geometry" in df.columns else None
        pts_crs = pts_crs or df.attrs.get("crs")
    pts_crs = crs_name(pts_crs)
    if {"x", "y"} <= set(df.columns):
        x = pd.to_numeric(df["x"], errors="coerce").to_numpy(np.float64)
        y = pd.to_numeric(df["y"], errors="coerce").to_numpy(np.float64)
    elif "geometry" in df.columns:
        import shapely

        geoms = np.asarray(df["geometry"].values, dtype=object)
        if not np.all(shapely.get_type_id(geoms) == 0):
            r = int(np.flatnonzero(shapely.get_type_id(geoms) != 0)[0])
            raise InputError("geometry must be a point", file=name, row=r, row_id=df["id"].iloc[r], column="geometry")
        x, y = shapely.get_x(geoms), shapely.get_y(geoms)
    else:
        raise InputError("needs columns x and y (or a point geometry)", file=name, column="x")
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise InputError("coordinate is missing or not a number", file=name, row=r, row_id=df["id"].iloc[r],
                         column="x" if not np.isfinite(x[r]) else "y")
    net_src = graph.source_crs
    if pts_crs is not None and net_src is not None and pts_crs != net_src and pts_crs != graph.crs:
        raise InputError(f"coordinate system {pts_crs} differs from the street network's {net_src}; "
                         "reproject one of them", file=name)
    looks_lonlat = bool(np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90))
    geographic_in = (pts_crs is not None and pts_crs != graph.crs and pts_crs == net_src) or \
                    (pts_crs is None and net_src is not None and net_src != graph.crs and looks_lonlat)
    if geographic_in and graph.crs is not None:
        from pyproj import Transformer

        tr = Transformer.from_crs(pts_crs or net_src, graph.crs, always_xy=True)
        x, y = tr.transform(x, y)
    return df["id"].astype(str).to_numpy(dtype=object), np.asarray(x, float), np.asarray(y, float)




def point_elevation(df: pd.DataFrame) -> np.ndarray:
    """Elevation of each point: an ``elevation_m`` or ``z`` column, else the Z of a point geometry, else NaN.

    Examples
    --------
    >>> point_elevation(pd.DataFrame({"id": ["a", "b"], "x": [0, 1], "y": [0, 1], "z": [250.0, None]})).tolist()
    [250.0, nan]
    """
    for col in ELEVATION_COLUMNS:
        if col in df.columns:
            return pd.to_numeric(df[col], errors="coerce").to_numpy(np.float64)
    if "geometry" in df.columns and len(df):
        import shapely

        geoms = np.asarray(df["geometry"].values, dtype=object)
        if bool(np.all(shapely.has_z(geoms))):
            return shapely.get_coordinates(geoms, include_z=True)[:, 2].astype(np.float64)
    return np.full(len(df), np.nan)


def street_elevation(graph: WalkGraph, snapped: Snapped) -> np.ndarray:
    """Elevation of each snapped street point, linear between its segment's end nodes (NaN when unknown)."""
    z = np.full(len(snapped), np.nan)
    ok = snapped.ok
    if ok.any():
        seg = snapped.seg[ok]
        zu, zv = graph.node_z[graph.seg_u[seg]], graph.node_z[graph.seg_v[seg]]
        z[ok] = zu + snapped.frac[ok] * (zv - zu)
    return z


def _far_report(graph: WalkGraph, role: str, ids: np.ndarray, x: np.ndarray, y: np.ndarray,
                snapped: Snapped) -> pd.DataFrame:
    """Points left unsnapped (``role``, ``id``, ``distance_m`` to the nearest street)."""
    far = ~snapped.ok
    if not far.any() or graph.n_segments == 0:
        return pd.DataFrame({"role": pd.Series(dtype=str), "id": pd.Series(dtype=str),
                             "distance_m": pd.Series(dtype=float)})
    import shapely

    pts = shapely.points(x[far], y[far])
    (pi, _), dist = graph.strtree.query_nearest(pts, return_distance=True, all_matches=False)
    d = np.full(int(far.sum()), np.inf)
    d[pi] = dist
    return pd.DataFrame({"role": role, "id": ids[far], "distance_m": d})


def compute_travel_times(network: Any, demand: pd.DataFrame, sites: pd.DataFrame, *, cutoff_min: float = 15.0,
                         profile: SpeedProfile | None = None, max_snap_m: float = 300.0,
                         progress: bool | Callable[[int, int], None] = False, crs: object = None,
                         chunk_entries: int = 4_000_000, engine: str = "auto",
                         threads: int | None = 1,
                         elevation_samples: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    r"""Walking minutes from every demand point to every candidate site within ``cutoff_min``.

    Parameters
    ----------
    network : WalkGraph, networkx graph, path or NetworkConfig
        The street network (see :mod:`siting.travel.readers`).
    demand, sites : pandas.DataFrame
        Columns ``id`` and ``x``, ``y`` (or a point ``geometry``) in the network's CRS.
    cutoff_min : float
        Pairs slower than this are left out (missing = unreachable).
    profile : SpeedProfile, optional
        Group speeds, slope and stairs settings (default: adults at 1.0 m/s, Tobler slopes).
    max_snap_m : float
        Points farther than this from every street get no rows; they are listed in
        ``result.attrs["far_points"]`` (columns ``role``, ``id``, ``distance_m``).
    progress : bool or callable
        ``True`` shows a rich progress bar; a callable receives ``(done, total)``.
    crs : optional
        CRS of the point coordinates when the frames do not carry one.
    chunk_entries : int
        Memory bound (floats per chunk) of the multi-source Dijkstra.
    engine : {"auto", "numba", "scipy"}
        Dijkstra kernel (see :func:`siting.travel.matrix.od_costs`); both are exact.
    threads : int or None
        Worker threads of the numba kernel (``None`` = all cores).
    elevation_samples : (x, y, z) arrays, optional
        Ground elevations (a DEM as points) interpolated at points without an ``elevation_m`` / ``z`` column
        or Z coordinate; a point with an elevation walks the height to its snapped street point.

    Returns
    -------
    pandas.DataFrame
        ``demand_id``, ``candidate_id``, ``minutes`` — plus ``group`` when the profile has
        more than one group. The first group's rows have a blank ``group`` (the default table
        of :func:`siting.data.read_travel`); the others carry their names (e.g. ``elderly``).

    Notes
    -----
    Time from demand point :math:`i` to site :math:`j` for a group of base speed :math:`v_g`:

    .. math:: t_{ij} = \frac{d_i + C(i, j) + d_j}{60\,v_g}

    with access legs :math:`d` (plus the height to the street at the group's stair rates when the point's
    elevation is known) and :math:`C` the network cost in flat-equivalent metres (the group's slope response
    per direction, stairs in time per metre climbed or descended). Groups whose times differ only by a
    constant factor share one search (:meth:`SpeedProfile.search_classes`); the others get their own. Each
    search runs from the smaller side (on the reversed graph when that side is the sites).
    """
    graph = as_walk_graph(network)
    profile = profile or SpeedProfile()
    try:
        ok = bool(np.isfinite(float(cutoff_min)) and float(cutoff_min) > 0)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(f"cutoff must be a positive number of minutes, got {cutoff_min!r}", column="cutoff_min")
    cutoff_min = float(cutoff_min)
    d_ids, dx, dy = _points(demand, "demand", graph, crs)
    s_ids, sx, sy = _points(sites, "candidates", graph, crs)
    d_snap = snap_points(graph, dx, dy, max_distance_m=max_snap_m)
    s_snap = snap_points(graph, sx, sy, max_distance_m=max_snap_m)
    far = pd.concat([_far_report(graph, "demand", d_ids, dx, dy, d_snap),
                     _far_report(graph, "candidate", s_ids, sx, sy, s_snap)], ignore_index=True)
    d_rise_out = street_elevation(graph, d_snap) - _with_samples(point_elevation(demand), dx, dy, elevation_samples)
    s_rise_in = _with_samples(point_elevation(sites), sx, sy, elevation_samples) - street_elevation(graph, s_snap)
    classes = profile.search_classes()
    total = len(d_snap if int(s_snap.ok.sum()) >= int(d_snap.ok.sum()) else s_snap) * len(classes)
    bar = None
    if progress is True:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("walking times"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       transient=False)
        task = bar.add_task("dijkstra", total=total)
        callback = lambda k: bar.update(task, advance=k)  # noqa: E731
        bar.start()
    elif callable(progress):
        done = [0]

        def callback(k: int) -> None:
            done[0] += k
            progress(done[0], total)
    else:
        callback = None
    by_group: dict[str, pd.DataFrame] = {}
    try:
        for ref, members in classes:
            # one search per class: members' times are the reference's times x v_ref / v_member
            v_ref = float(profile.groups[ref])
            fwd_s, bwd_s = profile.segment_seconds(graph, ref)
            d_acc = profile.access_seconds(ref, d_snap.access_m, d_rise_out) * v_ref
            s_acc = profile.access_seconds(ref, s_snap.access_m, s_rise_in) * v_ref
            di, sj, cost = _search(graph, fwd_s * v_ref, bwd_s * v_ref, _with_access(d_snap, d_acc),
                                   _with_access(s_snap, s_acc), limit_m=cutoff_min * 60.0 * v_ref,
                                   chunk_entries=chunk_entries, engine=engine, threads=threads, callback=callback)
            for name in members:
                minutes = cost / (60.0 * profile.groups[name])
                keep = minutes <= cutoff_min * (1.0 + 1e-12)  # the cutoff is inclusive; ignore rounding of cost / v
                by_group[name] = pd.DataFrame({"demand_id": d_ids[di[keep]], "candidate_id": s_ids[sj[keep]],
                                               "minutes": minutes[keep]})
    finally:
        if bar is not None:
            bar.stop()
    frames = []
    for k, name in enumerate(profile.groups):
        f = by_group[name]
        if len(profile.groups) > 1:
            f["group"] = "" if k == 0 else name
        frames.append(f)
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out.attrs["far_points"] = far
    out.attrs["network"] = graph.summary()
    out.attrs["walking_model"] = profile.describe()
    out.attrs["searches"] = len(classes)
    return out


def _with_access(snapped: Snapped, access_cost_m: np.ndarray) -> Snapped:
    """``snapped`` with its access legs replaced by their costs (flat-equivalent metres, height included)."""
    return Snapped(snapped.seg, snapped.frac, access_cost_m, snapped.x, snapped.y)


def _with_samples(z: np.ndarray, x: np.ndarray, y: np.ndarray,
                  samples: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Point elevations, the missing ones interpolated from elevation samples (a DEM) when given."""
    if samples is None or np.isfinite(z).all() or len(z) == 0:
        return z
    from siting.travel.elevation import interpolate_elevation

    miss = ~np.isfinite(z)
    out = z.copy()
    out[miss] = interpolate_elevation(*samples, x[miss], y[miss])
    return out


def _search(graph: WalkGraph, fwd_m: np.ndarray, bwd_m: np.ndarray, d_snap: Snapped, s_snap: Snapped, *,
            limit_m: float, chunk_entries: int, engine: str, threads: int | None,
            callback: Callable[[int], None] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Demand positions, site positions and costs within ``limit_m``, sorted; from the smaller side."""
    reverse = int(s_snap.ok.sum()) < int(d_snap.ok.sum())
    sg = search_graph(graph, fwd_m, bwd_m, reverse=reverse)
    src, dst = (s_snap, d_snap) if reverse else (d_snap, s_snap)
    a, b, cost = od_costs(sg, src, dst, limit_m=limit_m, chunk_entries=chunk_entries, engine=engine,
                          threads=threads, progress=callback)
    di, sj = (b, a) if reverse else (a, b)
    order = np.lexsort((sj, di))
    return di[order], sj[order], cost[order]


def write_travel_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write the travel-time table atomically as Parquet (``.parquet``) or CSV (``.csv``).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> p = write_travel_table(pd.DataFrame({"demand_id": ["d"], "candidate_id": ["s"], "minutes": [3.0]}),
    ...                        Path(tempfile.mkdtemp()) / "t.csv")
    >>> p.read_text().splitlines()
    ['demand_id,candidate_id,minutes', 'd,s,3.0']
    """
    path = Path(path)
    missing = [c for c in TRAVEL_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"travel table lacks columns {missing}", file=str(path))
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputError("travel table must end in .parquet or .csv", file=str(path))
    if not path.parent.exists():
        raise InputError("output folder does not exist", file=str(path))
    cols = TRAVEL_COLUMNS + (["group"] if "group" in df.columns else [])
    data = df[cols].reset_index(drop=True)
    data.attrs = {}
    from siting.io import atomic_write_csv, atomic_write_parquet

    if suffix == ".parquet":
        atomic_write_parquet(path, data)
    else:
        atomic_write_csv(path, data)
    return path
