"""Walking times from street networks (the 15-minute life circle on hilly ground).

Build a :class:`WalkGraph` (networkx, line layer, OpenStreetMap), snap demand points and
candidate sites to the nearest street, and compute the many-to-many walking-time table with
a cutoff by compiled multi-source Dijkstra. See ``models/travel-times.md`` for the method.

>>> from siting.travel import street_network, random_points, compute_travel_times
>>> g = street_network(400, seed=0)
>>> t = compute_travel_times(g, random_points(g, 20, seed=1), random_points(g, 5, seed=2), cutoff_min=10)
>>> list(t.columns)
['demand_id', 'candidate_id', 'minutes']
"""
from siting.travel.api import as_walk_graph, compute_travel_times, write_travel_table
from siting.travel.config import NetworkConfig, parse_network_section
from siting.travel.graph import WalkGraph
from siting.travel.readers import from_lines, from_networkx, from_osm_pbf, from_osm_xml, load_network
from siting.travel.snap import Snapped, snap_points
from siting.travel.speed import SlopeResponse, SpeedProfile, StairRates, tobler_factor
from siting.travel.stream import stream_travel_times
from siting.travel.synthetic import random_points, street_network

__all__ = [
    "WalkGraph", "from_networkx", "from_lines", "from_osm_pbf", "from_osm_xml", "load_network",
    "Snapped", "snap_points", "SpeedProfile", "StairRates", "SlopeResponse", "tobler_factor", "compute_travel_times", "write_travel_table",
    "as_walk_graph", "stream_travel_times", "NetworkConfig", "parse_network_section", "street_network", "random_points",
]
