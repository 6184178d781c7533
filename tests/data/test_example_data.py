"""The hand-made example in scenarios/example is valid and has the features it advertises."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from siting.data import SiteStatus, load_instance, read_demand

EXAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "example"


def test_example_instance_features():
    inst = load_instance(EXAMPLE / "demand.csv", EXAMPLE / "candidates.csv", EXAMPLE / "travel_times.csv")
    s = inst.sites
    for status in SiteStatus:
        assert s.mask(status).sum() == (3 if status is SiteStatus.CANDIDATE else 1)
    assert len(inst.travel) < inst.n_demand * inst.n_sites  # some pairs are unreachable
    assert {"elderly", "children"} <= set(inst.demand.groups) and "district" in inst.demand.labels
    assert s.cost[s.mask(SiteStatus.EXISTING)].tolist() == [0.0]


def test_geojson_copy_matches_csv():
    csv = read_demand(EXAMPLE / "demand.csv")
    geo = read_demand(EXAMPLE / "demand.geojson")
    assert geo.crs == "EPSG:32648" and csv.crs is None
    assert geo.ids.tolist() == csv.ids.tolist()
    np.testing.assert_allclose(geo.x, csv.x)
    np.testing.assert_allclose(geo.population, csv.population)
    np.testing.assert_allclose(geo.groups["elderly"], csv.groups["elderly"])
