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
from siting.travel.job import member_minutes, point_elevation, prepare_job, progress_callback, street_elevation
from siting.travel.matrix import od_costs, search_graph
from siting.travel.readers import from_networkx, load_network
from siting.travel.snap import Snapped
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
    job = prepare_job(as_walk_graph(network), demand, sites, cutoff_min=cutoff_min, profile=profile,
                      max_snap_m=max_snap_m, crs=crs, elevation_samples=elevation_samples, threads=threads)
    graph, profile, cutoff_min = job.graph, job.profile, job.cutoff_min
    d_ids, s_ids, d_snap, s_snap = job.d_ids, job.s_ids, job.d_snap, job.s_snap
    classes = profile.search_classes()
    total = len(s_snap if job.reverse() else d_snap) * len(classes)
    # ids as pandas text arrays once: the rows take from them (no per-row conversion of Python strings)
    d_text, s_text = pd.array(d_ids, dtype="str"), pd.array(s_ids, dtype="str")
    by_group: dict[str, pd.DataFrame] = {}
    with progress_callback(progress, total) as callback:
        for ref, members in classes:
            # one search per class: members' times are the reference's times x v_ref / v_member
            v_ref = float(profile.groups[ref])
            fwd_m, bwd_m, d_cost, s_cost = job.class_costs(ref)
            di, sj, cost = _search(graph, fwd_m, bwd_m, d_cost, s_cost, limit_m=cutoff_min * 60.0 * v_ref,
                                   chunk_entries=chunk_entries, engine=engine, threads=threads, callback=callback)
            for name in members:
                minutes, keep = member_minutes(cost, profile.groups[name], cutoff_min)
                by_group[name] = pd.DataFrame({"demand_id": d_text.take(di[keep]),
                                               "candidate_id": s_text.take(sj[keep]), "minutes": minutes[keep]})
    frames = []
    for k, name in enumerate(profile.groups):
        f = by_group[name]
        if len(profile.groups) > 1:
            f["group"] = "" if k == 0 else name
        frames.append(f)
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out.attrs["far_points"] = job.far_points()
    out.attrs["network"] = graph.summary()
    out.attrs["walking_model"] = profile.describe()
    out.attrs["searches"] = len(classes)
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
    # pairs are unique, so one integer key sorts as lexsort((sj, di)) does, about 3x faster
    order = np.argsort(di * np.int64(max(len(s_snap), 1)) + sj)
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
    from siting.io import atomic_write_csv, atomic_write_parquet, sidecar_path

    if suffix == ".parquet":
        atomic_write_parquet(path, data)
    else:
        sidecar_path(path).unlink(missing_ok=True)   # it described the table being replaced
        atomic_write_csv(path, data)
    return path
