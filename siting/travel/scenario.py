"""Travel times for a scenario whose ``[data]`` has no table but a ``[network]`` section.

:func:`network_travel_times` is the one call path from a validated network configuration and two point layers
to the travel table: ``siting travel`` (flags merged into the configuration), the workflow's travel cache
(:func:`scenario_travel_times`) and ``siting solve`` without a cache (:func:`instance_from_network`) all use it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from siting.data import move_to_streets
from siting.data.instance import Demand, Instance, Sites
from siting.data.load import ELEVATION_COLUMNS, travel_from_frame
from siting.travel.api import compute_travel_times
from siting.travel.config import NetworkConfig, parse_network_section
from siting.travel.graph import WalkGraph
from siting.travel.stream import StreamSummary, stream_travel_times

if TYPE_CHECKING:  # siting.scenario sits above siting.travel; the type is only named here
    from siting.scenario import Scenario

__all__ = ["points_frame", "network_config", "scenario_cutoff", "network_travel_times", "stream_network_travel_times",
           "scenario_travel_times",
           "instance_from_network", "elevation_samples"]

DEFAULT_CUTOFF_MIN = 30.0


def points_frame(layer: Demand | Sites) -> pd.DataFrame:
    """``id``, ``x``, ``y`` of a validated :class:`~siting.data.Demand` or :class:`~siting.data.Sites`.

    Examples
    --------
    >>> import numpy as np
    >>> from siting.data.instance import Demand
    >>> d = Demand(ids=np.array(["a"]), population=np.array([1.0]), x=np.array([2.0]), y=np.array([3.0]))
    >>> points_frame(d).to_dict("list")
    {'id': ['a'], 'x': [2.0], 'y': [3.0]}
    """
    df = pd.DataFrame({"id": layer.ids.astype(str), "x": layer.x, "y": layer.y})
    # a point's own ground height: its access leg walks it
    if isinstance(layer, Demand):
        if layer.elevation_m is not None:
            df[ELEVATION_COLUMNS[0]] = np.asarray(layer.elevation_m, dtype=float)
    else:
        col = next((c for c in ELEVATION_COLUMNS if c in layer.extra), None)
        if col is not None:
            df[col] = np.asarray(layer.extra[col], dtype=float)
    df.attrs["crs"] = layer.crs
    df.attrs["source"] = layer.source
    return df


def network_config(scenario: Scenario) -> NetworkConfig:
    """The validated ``[network]`` section of a :class:`siting.scenario.Scenario`."""
    return parse_network_section(scenario.network, file=scenario.path, base_dir=scenario.base_dir)


def scenario_cutoff(scenario: Scenario, cfg: NetworkConfig) -> float:
    """``network.cutoff_minutes``, else the largest model threshold, else 30 minutes."""
    if cfg.cutoff_minutes is not None:
        return float(cfg.cutoff_minutes)
    model = getattr(scenario, "model", None)
    given = [getattr(model, k, None) for k in ("threshold_minutes", "outer_threshold_minutes")]
    values = [float(v) for v in given if v is not None]
    return max(values) if values else DEFAULT_CUTOFF_MIN


def network_travel_times(cfg: NetworkConfig, demand: Demand, sites: Sites, *, cutoff_min: float,
                         progress: bool = False, threads: int = 1, graph: WalkGraph | None = None) -> pd.DataFrame:
    """Walking times from every demand point to every site within ``cutoff_min`` over ``cfg``'s network.

    Parameters
    ----------
    cfg : NetworkConfig
        The validated ``[network]`` section (speed groups, slopes, stairs, snapping distance, engine).
    demand, sites : Demand, Sites
        Validated point layers (their ids and coordinates are used).
    cutoff_min : float
        Pairs slower than this are left out (missing = unreachable).
    progress : bool
        Show a progress bar.
    threads : int
        Worker threads of the compiled search.
    graph : WalkGraph, optional
        ``cfg.build_graph()`` when the caller already built it (to print its summary first).

    Returns
    -------
    pandas.DataFrame
        ``demand_id``, ``candidate_id``, ``minutes`` [, ``group``]; ``attrs["far_points"]`` lists points
        farther than ``max_snap_m`` from every street.
    """
    graph = graph if graph is not None else cfg.build_graph()
    return compute_travel_times(graph, points_frame(demand), points_frame(sites), cutoff_min=cutoff_min,
                                profile=cfg.profile(), max_snap_m=cfg.max_snap_m, progress=progress,
                                engine=cfg.engine, threads=max(1, threads), elevation_samples=elevation_samples(cfg, graph))


def stream_network_travel_times(cfg: NetworkConfig, demand: Demand, sites: Sites, path: str | Path, *,
                                cutoff_min: float, metadata: Callable[[int], Mapping[str, Any]] | None = None,
                                progress: bool = False, threads: int = 1, graph: WalkGraph | None = None,
                                client: Any = None) -> StreamSummary:
    """:func:`network_travel_times` written to ``path`` block by block (:func:`siting.travel.stream.stream_travel_times`).

    ``client`` runs the blocks on a Dask cluster; ``metadata`` receives the rows written and returns the table's
    metadata (:func:`siting.data.travel_table.travel_metadata`).
    """
    graph = graph if graph is not None else cfg.build_graph()
    return stream_travel_times(graph, points_frame(demand), points_frame(sites), path, cutoff_min=cutoff_min,
                               profile=cfg.profile(), max_snap_m=cfg.max_snap_m, progress=progress,
                               engine=cfg.engine, threads=max(1, threads),
                               elevation_samples=elevation_samples(cfg, graph), client=client, metadata=metadata)


def elevation_samples(cfg: NetworkConfig, graph: WalkGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The ``[network] elevation`` samples (x, y, z in the network's CRS), or ``None``."""
    if cfg.elevation is None:
        return None
    from siting.travel.elevation import read_elevation_points

    return read_elevation_points(cfg.elevation, graph)


def _scenario_table(scenario: Scenario, demand: Demand, sites: Sites, graph: WalkGraph, *,
                    progress: bool) -> pd.DataFrame:
    cfg = network_config(scenario)
    if scenario.data.geometry == "street":  # walks start on the street nearest to each footprint
        demand = move_to_streets(demand, graph.seg_geom, max_distance_m=cfg.max_snap_m)
        sites = move_to_streets(sites, graph.seg_geom, max_distance_m=cfg.max_snap_m)
    return network_travel_times(cfg, demand, sites, cutoff_min=scenario_cutoff(scenario, cfg), progress=progress,
                                graph=graph)


def _layers(scenario: Scenario) -> tuple[WalkGraph, Demand, Sites]:
    """The street graph and both point layers in its CRS (lon/lat and footprints as ``[data]`` says)."""
    graph = network_config(scenario).build_graph()
    demand, sites = scenario.data.read_layers(target=getattr(graph, "crs", None))
    return graph, demand, sites


def scenario_travel_times(scenario: Scenario, *, progress: bool = True) -> pd.DataFrame:
    """The travel-time table of a scenario from its ``[network]`` section (see :func:`network_travel_times`)."""
    graph, demand, sites = _layers(scenario)
    return _scenario_table(scenario, demand, sites, graph, progress=progress)


def instance_from_network(scenario: Scenario, *, group: str | None = None, progress: bool = False) -> Instance:
    """The scenario's :class:`~siting.data.instance.Instance` with walking times computed over ``[network]``.

    ``group`` selects a speed group of ``[network.speeds]`` (``None`` = the first, default table). The instance
    keeps the buildings' representative points, whether or not walks start on the street.
    """
    graph, demand, sites = _layers(scenario)
    table = _scenario_table(scenario, demand, sites, graph, progress=progress)
    travel = travel_from_frame(table, demand, sites, source=f"walking times over {network_config(scenario).path}",
                               group=group)
    scenario.check_columns(demand)
    return Instance(demand=demand, sites=sites, travel=travel, name=scenario.name)
