"""A tiny multi-service district for the serve tests: three communities, an elderly walking table, streets."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

CRS = "EPSG:32648"
#: what the scenario file says; tests change it through the API
BUDGET = 3_000_000

SCENARIO = f"""\
name = "tiny-serve"
[data]
demand = "demand.csv"
candidates = "sites.csv"
travel_times = "travel.csv"
crs = "EPSG:32648"

[model]
type = "multiservice"
objective = "share"
budget = {BUDGET}
community_column = "community"

[services]
speeds = {{ elderly = 0.76 }}
[services.canteen]
enabled = false
[services.fresh_market]
enabled = false
[services.culture_sports]
enabled = false
[services.service_centre]
enabled = false
[services.elderly_care]
priority = 1

[report]
streets = "streets.gpkg"
zones = "zones.gpkg"

[solver]
name = "highs"
time_limit = 20
mip_gap = 0.0
"""


def write_district(folder: Path, n_d: int = 40, n_s: int = 12, seed: int = 3) -> Path:
    """Demand, sites (one existing health station), a travel table with an elderly group, and the scenario."""
    rng = np.random.default_rng(seed)
    communities = np.array(["C01", "C02", "C03"])
    dx, dy = rng.random(n_d) * 900, rng.random(n_d) * 900
    pd.DataFrame({"id": [f"d{i:02d}" for i in range(n_d)], "population": rng.integers(50, 200, n_d),
                  "elderly": rng.integers(5, 40, n_d), "children": rng.integers(2, 20, n_d),
                  "x": dx, "y": dy, "community": communities[np.arange(n_d) % 3]}
                 ).to_csv(folder / "demand.csv", index=False)
    sx, sy = rng.random(n_s) * 900, rng.random(n_s) * 900
    status = np.array(["candidate"] * n_s, dtype=object)
    status[0] = "existing"
    services = np.array([""] * n_s, dtype=object)
    services[0] = "health_station"
    pd.DataFrame({"id": [f"b{j:02d}" for j in range(n_s)], "cost": np.where(status == "existing", 0,
                                                                         rng.integers(5, 20, n_s) * 1e5),
                  "x": sx, "y": sy, "floor_area": rng.choice([300, 700, 1200], n_s), "status": status,
                  "services": services, "community": communities[np.arange(n_s) % 3]}
                 ).to_csv(folder / "sites.csv", index=False)
    # walking minutes grow with distance (a 60 m/min walker on a 1.3 detour): near sites cover, far ones do not
    dist = np.hypot(dx[:, None] - sx[None, :], dy[:, None] - sy[None, :])
    minutes = (dist * 1.3 / 60.0).round(2)
    d, s = np.nonzero(minutes <= 20)
    base = pd.DataFrame({"demand_id": [f"d{i:02d}" for i in d], "candidate_id": [f"b{j:02d}" for j in s],
                         "minutes": minutes[d, s], "group": ""})
    pd.concat([base, base.assign(minutes=(base["minutes"] / 0.76).round(2), group="elderly")]
              ).to_csv(folder / "travel.csv", index=False)
    _context(folder)
    path = folder / "tiny.toml"
    path.write_text(SCENARIO)
    return path


def _context(folder: Path) -> None:
    """A street grid every 150 m and three community strips, for the map's vector layers."""
    import geopandas as gpd
    import shapely

    ticks = np.arange(0.0, 901.0, 150.0)
    lines = [shapely.LineString([(t, 0), (t, 900)]) for t in ticks] + \
        [shapely.LineString([(0, t), (900, t)]) for t in ticks]
    gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs=CRS).to_file(
        folder / "streets.gpkg", layer="streets", driver="GPKG")
    strips = [shapely.box(300 * k, 0, 300 * (k + 1), 900) for k in range(3)]
    gpd.GeoDataFrame({"community": ["C01", "C02", "C03"]}, geometry=strips, crs=CRS).to_file(
        folder / "zones.gpkg", layer="zones", driver="GPKG")


@pytest.fixture
def tiny_scenario(tmp_path) -> Path:
    """A private copy of the tiny district's scenario file."""
    data = tmp_path / "data"
    data.mkdir()
    return write_district(data)
