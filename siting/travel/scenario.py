"""Travel times for a scenario whose ``[data]`` has no table but a ``[network]`` section."""
from __future__ import annotations

import pandas as pd

from siting.travel.api import compute_travel_times
from siting.travel.config import NetworkConfig, parse_network_section

__all__ = ["points_frame", "network_config", "scenario_cutoff", "scenario_travel_times", "instance_from_network"]

DEFAULT_CUTOFF_MIN = 30.0


def points_frame(layer) -> pd.DataFrame:
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
    df.attrs["crs"] = layer.crs
    df.attrs["source"] = layer.source
    return df


def network_config(scenario) -> NetworkConfig:
    """The validated ``[network]`` section of a :class:`siting.scenario.Scenario`."""
    return parse_network_section(scenario.network, file=scenario.path, base_dir=scenario.base_dir)


def scenario_cutoff(scenario, cfg: NetworkConfig) -> float:
    """``network.cutoff_minutes``, else the largest model threshold, else 30 minutes."""
    if cfg.cutoff_minutes is not None:
        return float(cfg.cutoff_minutes)
    model = getattr(scenario, "model", None)
    values = [getattr(model, k, None) for k in ("threshold_minutes", "outer_threshold_minutes")]
    values = [float(v) for v in values if v is not None]
    return max(values) if values else DEFAULT_CUTOFF_MIN


def scenario_travel_times(scenario, *, progress=True) -> pd.DataFrame:
    """Compute the travel-time table of a scenario from its ``[network]`` section.

    Returns the long table (``demand_id``, ``candidate_id``, ``minutes`` [, ``group``]); its
    ``attrs["far_points"]`` lists points farther than ``max_snap_m`` from every street.
    """
    from siting.data import read_demand, read_sites

    return _travel_table(scenario, read_demand(scenario.data.demand), read_sites(scenario.data.candidates),
                         progress=progress)


def _travel_table(scenario, demand_layer, sites_layer, *, progress) -> pd.DataFrame:
    cfg = network_config(scenario)
    demand = points_frame(demand_layer)
    sites = points_frame(sites_layer)
    return compute_travel_times(cfg.build_graph(), demand, sites, cutoff_min=scenario_cutoff(scenario, cfg),
                                profile=cfg.profile(), max_snap_m=cfg.max_snap_m, progress=progress,
                                engine=cfg.engine)


def instance_from_network(scenario, *, group: str | None = None, progress=False):
    """The scenario's :class:`~siting.data.instance.Instance` with walking times computed over ``[network]``.

    ``group`` selects a speed group of ``[network.speeds]`` (``None`` = the first, default table).
    """
    from siting.data import read_demand, read_sites
    from siting.data.instance import Instance
    from siting.data.load import travel_from_frame

    demand = read_demand(scenario.data.demand)
    sites = read_sites(scenario.data.candidates)
    table = _travel_table(scenario, demand, sites, progress=progress)
    travel = travel_from_frame(table, demand, sites, source=f"walking times over {network_config(scenario).path}",
                               group=group)
    if hasattr(scenario, "check_columns"):
        scenario.check_columns(demand)
    return Instance(demand=demand, sites=sites, travel=travel, name=scenario.name)
