"""Tiny generated inputs in every documented shape, and a scenario file for every registered model.

Shapes (docs/INPUTS.md): CSV layers with a travel table whose ``group`` column has default (empty) rows and
``elderly`` rows; Parquet layers and a Parquet travel table with ``group`` (None / ``elderly``); GeoPackage
layers (point geometry) with a CSV travel table without a ``group`` column; GeoJSON layers with a Parquet
travel table without ``group``. Every demand layer has numeric group columns (``elderly``, ``children``) and a
text label column (``district``); every candidates layer has the statuses existing / required / excluded /
candidate, ``capacity``, ``floor_area`` and a text ``services`` column. Weights are whole numbers, so sums of
covered weight are exact in any order.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting.models.registry import MODELS, describe_model

SHAPES = ("csv", "parquet", "gpkg", "geojson")
BUDGET = 900_000.0
ELDERLY_SLOWDOWN = 1.4

CATALOG = """\
[catalog]
name = "matrix basket"

[services.health_station]
threshold_minutes = 6.0
demand_column = "population"
fitout_cost = 50000.0
min_floor_area_m2 = 100.0

[services.elderly_care]
threshold_minutes = 5.0
demand_column = "elderly"
weight = 2.0
fitout_cost = 80000.0
min_floor_area_m2 = 150.0
speed_group = "elderly"

[services.childcare]
threshold_minutes = 7.0
demand_column = "children"
fitout_cost = 40000.0
"""

#: values for the scenario keys a model requires (a new model with another required key must add it here)
REQUIRED_VALUES: dict[str, Any] = {
    "threshold_minutes": 5.0, "outer_threshold_minutes": 9.0, "p": 3, "target_coverage": 0.5,
    "budget": BUDGET, "services": "catalog.toml",
}
#: optional keys set when a model has them
OPTIONAL_VALUES: dict[str, Any] = {"budget": BUDGET, "equity_column": "district", "services": "catalog.toml"}


def tables(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Demand (16 points), candidates (10 sites) and the long travel table (default + elderly rows)."""
    rng = np.random.default_rng(seed)
    n_demand, n_sites = 16, 10
    dx, dy = rng.uniform(0, 1000, n_demand).round(1), rng.uniform(0, 1000, n_demand).round(1)
    population = rng.integers(20, 200, n_demand)
    demand = pd.DataFrame({
        "id": [f"d{i}" for i in range(n_demand)], "population": population, "x": dx, "y": dy,
        "elderly": (population * rng.uniform(0.1, 0.3, n_demand)).astype(int),
        "children": (population * rng.uniform(0.05, 0.15, n_demand)).astype(int),
        "district": np.where(dx < 500, "west", "east"),
    })
    status = ["existing", "existing", "required", "excluded"] + ["candidate"] * (n_sites - 4)
    sites = pd.DataFrame({
        "id": [f"s{j}" for j in range(n_sites)], "cost": rng.integers(100, 400, n_sites) * 1000,
        "x": rng.uniform(0, 1000, n_sites).round(1), "y": rng.uniform(0, 1000, n_sites).round(1),
        "status": status, "capacity": rng.integers(300, 900, n_sites),
        "floor_area": rng.integers(120, 600, n_sites),
        "services": ["health_station", "childcare;elderly_care"] + [""] * (n_sites - 2),
    })
    dist = np.hypot(dx[:, None] - sites["x"].to_numpy()[None, :], dy[:, None] - sites["y"].to_numpy()[None, :])
    minutes = (dist * 1.3 / 80.0).round(2)  # 80 m per minute, streets 30 % longer than straight lines
    i, j = np.nonzero(minutes <= 12.0)
    base = pd.DataFrame({"demand_id": demand["id"].to_numpy()[i], "candidate_id": sites["id"].to_numpy()[j],
                         "minutes": minutes[i, j]})
    old = base.assign(minutes=(base["minutes"] * ELDERLY_SLOWDOWN).round(2))
    travel = pd.concat([base.assign(group=""), old.assign(group="elderly")], ignore_index=True)
    return demand, sites, travel


def _points(frame: pd.DataFrame) -> Any:
    import geopandas as gpd

    return gpd.GeoDataFrame(frame.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(frame["x"], frame["y"]),
                            crs="EPSG:32648")


def write_shape(folder: Path, shape: str) -> dict[str, str]:
    """Write the tables of ``shape`` into ``folder``; returns the ``[data]`` entries."""
    demand, sites, travel = tables()
    folder.mkdir(parents=True, exist_ok=True)
    # the gpkg and geojson shapes have no elderly rows: their elderly service says it walks on the default table
    catalog = CATALOG if shape in ("csv", "parquet") else CATALOG.replace(
        'speed_group = "elderly"', 'speed_group = "default"')
    (folder / "catalog.toml").write_text(catalog, encoding="utf-8")
    if shape == "csv":
        demand.to_csv(folder / "demand.csv", index=False)
        sites.to_csv(folder / "candidates.csv", index=False)
        travel.to_csv(folder / "travel.csv", index=False)
        return {"demand": "demand.csv", "candidates": "candidates.csv", "travel_times": "travel.csv",
                "crs": "EPSG:32648"}
    if shape == "parquet":
        demand.to_parquet(folder / "demand.parquet", index=False)
        sites.to_parquet(folder / "candidates.parquet", index=False)
        travel.assign(group=travel["group"].replace("", None)).to_parquet(folder / "travel.parquet", index=False)
        return {"demand": "demand.parquet", "candidates": "candidates.parquet", "travel_times": "travel.parquet",
                "crs": "EPSG:32648"}
    default = travel[travel["group"] == ""].drop(columns=["group"])
    if shape == "gpkg":
        _points(demand).to_file(folder / "demand.gpkg", driver="GPKG")
        _points(sites).to_file(folder / "candidates.gpkg", driver="GPKG")
        default.to_csv(folder / "travel.csv", index=False)
        return {"demand": "demand.gpkg", "candidates": "candidates.gpkg", "travel_times": "travel.csv"}
    if shape == "geojson":
        _points(demand).to_file(folder / "demand.geojson", driver="GeoJSON")
        _points(sites).to_file(folder / "candidates.geojson", driver="GeoJSON")
        default.to_parquet(folder / "travel.parquet", index=False)
        return {"demand": "demand.geojson", "candidates": "candidates.geojson", "travel_times": "travel.parquet"}
    raise ValueError(shape)


#: a ``[network]`` section over :func:`write_streets` (walking times computed, not given); the elderly walk at
#: 0.76 m/s on the same streets
NETWORK = '[network]\npath = "streets.gpkg"\ncutoff_minutes = 15\n\n[network.speeds]\nadult = 1.0\nelderly = 0.76'


def write_streets(folder: Path) -> dict[str, str]:
    """A 100 m street grid over the tiny district (CSV layers) for the ``[network]`` cells; the [data] entries."""
    import geopandas as gpd
    from shapely.geometry import LineString

    demand, sites, _ = tables()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "catalog.toml").write_text(CATALOG, encoding="utf-8")
    demand.to_csv(folder / "demand.csv", index=False)
    sites.to_csv(folder / "candidates.csv", index=False)
    ticks = np.arange(0.0, 1001.0, 100.0)
    lines = [LineString([(t, 0.0), (t, 1000.0)]) for t in ticks] + [LineString([(0.0, t), (1000.0, t)]) for t in ticks]
    gpd.GeoDataFrame({"highway": ["footway"] * len(lines)}, geometry=lines, crs="EPSG:32648").to_file(
        folder / "streets.gpkg", driver="GPKG")
    return {"demand": "demand.csv", "candidates": "candidates.csv", "crs": "EPSG:32648"}


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def model_section(name: str) -> dict[str, Any]:
    """``[model]`` keys for model ``name``: its required keys and the optional ones it has (from the registry)."""
    out: dict[str, Any] = {"type": name}
    for key, default, _ in describe_model(MODELS[name]):
        if default == "required":
            if key not in REQUIRED_VALUES:
                raise KeyError(f"model {name!r} requires scenario key {key!r}: add a value to REQUIRED_VALUES")
            out[key] = REQUIRED_VALUES[key]
        elif key in OPTIONAL_VALUES:
            out[key] = OPTIONAL_VALUES[key]
    return out


def write_scenario(folder: Path, name: str, data: dict[str, str], *, network: str | None = None) -> Path:
    """A scenario TOML for model ``name`` over ``data`` (``network``: a ``[network]`` section instead of a table)."""
    lines = ["[data]"] + [f'{k} = "{v}"' for k, v in data.items() if not (network and k == "travel_times")]
    if network:
        lines += ["", network]
    lines += ["", "[model]"] + [f"{k} = {_toml_value(v)}" for k, v in model_section(name).items()]
    lines += ["", "[solver]", 'name = "highs"', "time_limit = 30"]
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
