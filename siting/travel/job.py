"""One walking-time computation, prepared: points in the network's CRS, snapped, with their access costs.

:func:`prepare_job` does what every way of running the search shares (checks, snapping, elevations, speed
classes); :func:`siting.travel.api.compute_travel_times` collects the searches in memory and
:mod:`siting.travel.stream` writes them block by block (locally or on a Dask cluster).
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from siting.data.load import ELEVATION_COLUMNS
from siting.errors import InputError
from siting.travel.graph import WalkGraph
from siting.travel.readers import crs_name
from siting.travel.snap import Snapped, snap_points, street_distance
from siting.travel.speed import SpeedProfile

__all__ = ["TravelJob", "prepare_job", "class_segment_costs", "point_elevation", "street_elevation", "progress_callback", "member_minutes"]


def member_minutes(cost_m: np.ndarray, speed_m_s: float, cutoff_min: float) -> tuple[np.ndarray, np.ndarray]:
    """Minutes of a group walking ``cost_m`` flat-equivalent metres of its class, and the mask within the cutoff.

    The cutoff is inclusive; rounding of ``cost / v`` is ignored (relative 1e-12).

    Examples
    --------
    >>> m, keep = member_minutes(np.array([600.0, 601.0]), 1.0, 10.0)
    >>> m.tolist(), keep.tolist()
    ([10.0, 10.016666666666667], [True, False])
    """
    minutes = cost_m / (60.0 * float(speed_m_s))
    return minutes, minutes <= cutoff_min * (1.0 + 1e-12)


@contextlib.contextmanager
def progress_callback(progress: bool | Callable[[int, int], None],
                      total: int) -> Iterator[Callable[[int], None] | None]:
    """A callback taking the number of sources just finished.

    A rich bar for ``True``, the caller's ``(done, total)`` function, or ``None``.
    """
    if progress is True:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("walking times"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                       transient=False)
        task = bar.add_task("dijkstra", total=total)
        bar.start()
        try:
            yield lambda k: bar.update(task, advance=k)
        finally:
            bar.stop()
        return
    if callable(progress):
        done = [0]

        def callback(k: int) -> None:
            done[0] += k
            progress(done[0], total)

        yield callback
        return
    yield None


@dataclass(frozen=True)
class TravelJob:
    """The checked inputs of one computation (see :func:`prepare_job`)."""

    graph: WalkGraph
    profile: SpeedProfile
    cutoff_min: float
    d_ids: np.ndarray
    s_ids: np.ndarray
    d_x: np.ndarray
    d_y: np.ndarray
    s_x: np.ndarray
    s_y: np.ndarray
    d_snap: Snapped
    s_snap: Snapped
    d_rise_out: np.ndarray
    s_rise_in: np.ndarray

    def classes(self) -> list[tuple[str, list[str]]]:
        """Speed classes sharing one search: ``(reference group, members)`` (:meth:`SpeedProfile.search_classes`)."""
        return self.profile.search_classes()

    def class_costs(self, ref: str) -> tuple[np.ndarray, np.ndarray, Snapped, Snapped]:
        """Segment costs forward / backward and both point layers with their access costs, for class ``ref``.

        Costs are flat-equivalent metres at the reference group's speed: seconds times its speed.
        """
        v_ref = float(self.profile.groups[ref])
        fwd_m, bwd_m = class_segment_costs(self.graph, self.profile, ref)
        d_acc = self.profile.access_seconds(ref, self.d_snap.access_m, self.d_rise_out) * v_ref
        s_acc = self.profile.access_seconds(ref, self.s_snap.access_m, self.s_rise_in) * v_ref
        return fwd_m, bwd_m, _with_access(self.d_snap, d_acc), _with_access(self.s_snap, s_acc)

    def reverse(self) -> bool:
        """Search from the sites (on the reversed graph): they are the smaller side."""
        return int(self.s_snap.ok.sum()) < int(self.d_snap.ok.sum())

    def far_points(self) -> pd.DataFrame:
        """Points farther than the snapping distance from every street (``role``, ``id``, ``distance_m``)."""
        if self.d_snap.ok.all() and self.s_snap.ok.all():
            return _no_far_points()
        return pd.concat([_far_report(self.graph, "demand", self.d_ids, self.d_x, self.d_y, self.d_snap),
                          _far_report(self.graph, "candidate", self.s_ids, self.s_x, self.s_y, self.s_snap)],
                         ignore_index=True)


#: segment-cost arrays kept per graph (one per speed class; 2 x 8 bytes x segments each)
COST_CACHE_ENTRIES = 4


def class_segment_costs(graph: WalkGraph, profile: SpeedProfile, ref: str) -> tuple[np.ndarray, np.ndarray]:
    """Segment costs forward / backward in flat-equivalent metres of group ``ref``, cached with the graph.

    The costs depend only on the network and on what the group's times depend on (flat speed, slope response,
    stair rates), so repeated computations on one network (scenario runs, sensitivity sweeps, stream blocks)
    compute them once. The arrays are shared by every caller: read them, never write into them
    (:func:`siting.travel.arcs.search_graph` recognises them and keeps its search graph too). They stay
    writeable because numba compiles a separate kernel for read-only arrays.

    Examples
    --------
    >>> g = WalkGraph.from_segments([0, 100], [0, 0], None, [0], [1])
    >>> a = class_segment_costs(g, SpeedProfile(), "adult")
    >>> a[0].tolist(), a is class_segment_costs(g, SpeedProfile(), "adult")
    ([100.0], True)
    """
    v_ref = float(profile.groups[ref])
    key = (v_ref, bool(profile.use_slope), profile.stairs_factor,
           profile.slope_response(ref) if profile.use_slope else None, profile.stair_rates(ref))
    cache: dict = graph.kept("_class_costs", dict)
    hit = cache.get(key)
    if hit is not None:
        return hit
    fwd_s, bwd_s = profile.segment_seconds(graph, ref, scale=v_ref)
    while len(cache) >= COST_CACHE_ENTRIES:
        cache.pop(next(iter(cache)))
    cache[key] = hit = (fwd_s, bwd_s)
    return hit


def prepare_job(graph: WalkGraph, demand: pd.DataFrame, sites: pd.DataFrame, *, cutoff_min: float,
                profile: SpeedProfile | None = None, max_snap_m: float = 300.0, crs: object = None,
                elevation_samples: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                threads: int | None = 1) -> TravelJob:
    """Check the cutoff and both point layers, snap them and find their heights.

    Arguments as :func:`siting.travel.api.compute_travel_times`; ``threads`` query the snapping index
    (``None`` = all cores).

    Raises
    ------
    InputError
        A cutoff that is not a positive number, a point layer without ids or coordinates, a coordinate system
        that differs from the network's.
    """
    profile = profile or SpeedProfile()
    try:
        ok = bool(np.isfinite(float(cutoff_min)) and float(cutoff_min) > 0)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(f"cutoff must be a positive number of minutes, got {cutoff_min!r}", column="cutoff_min")
    d_ids, dx, dy = _points(demand, "demand", graph, crs)
    s_ids, sx, sy = _points(sites, "candidates", graph, crs)
    workers = -1 if threads is None else max(1, int(threads))
    if workers != 1:
        # both layers at once: the compiled snapping releases the GIL
        from concurrent.futures import ThreadPoolExecutor

        from siting.travel.snap import _index

        if graph.n_segments:
            _index(graph)  # built once, before the threads share it
        with ThreadPoolExecutor(max_workers=2) as pool:
            d_job = pool.submit(snap_points, graph, dx, dy, max_distance_m=max_snap_m, threads=workers)
            s_snap = snap_points(graph, sx, sy, max_distance_m=max_snap_m, threads=workers)
            d_snap = d_job.result()
    else:
        d_snap = snap_points(graph, dx, dy, max_distance_m=max_snap_m, threads=workers)
        s_snap = snap_points(graph, sx, sy, max_distance_m=max_snap_m, threads=workers)
    d_rise_out = street_elevation(graph, d_snap) - _with_samples(point_elevation(demand), dx, dy, elevation_samples)
    s_rise_in = _with_samples(point_elevation(sites), sx, sy, elevation_samples) - street_elevation(graph, s_snap)
    return TravelJob(graph, profile, float(cutoff_min), d_ids, s_ids, dx, dy, sx, sy, d_snap, s_snap, d_rise_out,
                     s_rise_in)


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
        return _no_far_points()
    return pd.DataFrame({"role": role, "id": ids[far], "distance_m": street_distance(graph, x[far], y[far])})


@functools.lru_cache(maxsize=1)
def _empty_far_report() -> pd.DataFrame:
    return pd.DataFrame({"role": pd.Series(dtype=str), "id": pd.Series(dtype=str),
                         "distance_m": pd.Series(dtype=float)})


def _no_far_points() -> pd.DataFrame:
    """The empty far-point report (a copy of one kept frame: building it costs about 1 ms, every call has one)."""
    return _empty_far_report().copy()


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
