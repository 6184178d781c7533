"""A small scenario folder for the evaluation tests: demand with groups and communities, candidates with existing
facilities (and their services), a travel table with default and elderly rows."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SEED = 11
N_DEMAND, N_SITES = 40, 12
COMMUNITIES = ("C1", "C2", "C3")


def write_tables(folder: Path, *, seed: int = SEED) -> None:
    """demand.csv, candidates.csv (3 existing facilities), travel_times.csv (groups "" and "elderly")."""
    rng = np.random.default_rng(seed)
    population = rng.integers(20, 400, N_DEMAND).astype(float)
    demand = pd.DataFrame({
        "id": [f"d{i:02d}" for i in range(N_DEMAND)], "population": population,
        "elderly": np.floor(population * rng.uniform(0.1, 0.4, N_DEMAND)),
        "children": np.floor(population * rng.uniform(0.0, 0.2, N_DEMAND)),
        "community": rng.choice(COMMUNITIES, N_DEMAND), "x": rng.uniform(0, 2000, N_DEMAND),
        "y": rng.uniform(0, 2000, N_DEMAND)})
    demand.loc[3, "community"] = ""        # a blank label: its own "(blank)" community
    status = np.array(["candidate"] * N_SITES, dtype=object)
    status[:3] = "existing"
    sites = pd.DataFrame({
        "id": [f"s{j:02d}" for j in range(N_SITES)], "cost": rng.integers(5, 20, N_SITES) * 1e5,
        "x": rng.uniform(0, 2000, N_SITES), "y": rng.uniform(0, 2000, N_SITES),
        "capacity": rng.integers(200, 2000, N_SITES).astype(float),
        "floor_area": rng.integers(300, 1500, N_SITES).astype(float), "status": status,
        "community": rng.choice(COMMUNITIES, N_SITES),
        "services": ["elderly_care;canteen", "health_station", "childcare"] + [""] * (N_SITES - 3)})
    sites.loc[5, "capacity"] = np.nan      # unknown capacity: one unit of supply
    sites.loc[4, "floor_area"] = np.nan    # unknown floor area
    d, s = np.nonzero(rng.random((N_DEMAND, N_SITES)) < 0.6)
    minutes = np.round(rng.uniform(0.0, 20.0, d.shape[0]), 2)
    default = pd.DataFrame({"demand_id": demand["id"].to_numpy()[d], "candidate_id": sites["id"].to_numpy()[s],
                            "minutes": minutes, "group": ""})
    travel = pd.concat([default, default.assign(minutes=np.round(minutes * 1.3, 2), group="elderly")])
    demand.to_csv(folder / "demand.csv", index=False)
    sites.to_csv(folder / "candidates.csv", index=False)
    travel.to_csv(folder / "travel_times.csv", index=False)


def write_scenario(folder: Path, model: str, keys: dict, *, extra: str = "") -> Path:
    """``<model>.toml`` over the tables of :func:`write_tables`."""
    lines = ['[data]', 'demand = "demand.csv"', 'candidates = "candidates.csv"', 'travel_times = "travel_times.csv"',
             '', '[model]', f'type = "{model}"']
    lines += [f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"' for k, v in keys.items()]
    lines += ['', '[solver]', 'name = "highs"', '', extra]
    path = folder / f"{model}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("evaluate")
    write_tables(folder)
    return folder
