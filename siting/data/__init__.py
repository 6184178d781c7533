"""Input data: validated in-memory tables and their loaders (see ``docs/INPUTS.md``)."""
from ._geometry import move_to_streets
from ._read import RawTable, read_table
from .instance import Demand, Instance, Sites, SiteStatus, TravelTimes
from .load import (
    GeographicCRSWarning,
    check_same_crs,
    demand_from_frame,
    instance_from_frames,
    load_instance,
    read_demand,
    read_layers,
    read_sites,
    read_travel,
    sites_from_frame,
    travel_from_frame,
)

__all__ = [
    "Demand", "Instance", "SiteStatus", "Sites", "TravelTimes",
    "GeographicCRSWarning", "check_same_crs", "RawTable", "read_table",
    "read_demand", "read_sites", "read_travel", "load_instance",
    "demand_from_frame", "sites_from_frame", "travel_from_frame", "instance_from_frames",
    "read_layers", "move_to_streets",
]
