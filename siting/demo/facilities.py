"""Idle buildings (candidate sites) and existing facilities of the demo district.

Idle buildings stand among the residential buildings: one of at least 400 m² in every community (so a floor such
as "an elderly-care station in every community" can be met), the rest spread over the zones by
:data:`~siting.demo.layout.ZONES` ``idle`` shares. Their cost is ``150,000 + floor area x zone price (+-20 %)``.

Existing facilities are placed the way a district grew them rather than uniformly: a few community service
centres at community centres (about one per five communities), the other services by
:data:`~siting.demo.layout.EXISTING`: clustered around the town-centre cores, along the old town's riverfront
streets, around the new town's single commercial core, and in the fringe's larger villages, with the new town
short of elderly care and childcare. Some buildings host several services (:data:`~siting.demo.layout.CO_LOCATED`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .layout import (
    CO_LOCATED,
    EXISTING,
    NEW_TOWN,
    SERVICES,
    TOWN_CENTRES,
    X0,
    Y0,
    ZONES,
    river_offset,
    zone_kind,
    zone_of,
)
from .population import Communities, split

__all__ = ["sites_table"]

_KINDS = ("old_town", "new_town", "town_centre", "fringe")
_JITTER_M = 15.0


def _pull(bld: pd.DataFrame, kind: str) -> np.ndarray:
    """How strongly a facility of a zone kind is drawn to each building of the table (0 outside the kind)."""
    x, y = bld["x"].to_numpy(), bld["y"].to_numpy()
    inside = zone_kind(bld["district"].to_numpy()) == kind
    if kind == "old_town":            # the old town grew up from the riverfront: its high streets run along it
        w = np.exp(-np.abs(river_offset(x, y)) / 500.0)
    elif kind == "new_town":          # one commercial core
        w = np.exp(-(((x - NEW_TOWN[0]) ** 2 + (y - NEW_TOWN[1]) ** 2) / (2 * 700.0 ** 2)))
    elif kind == "town_centre":       # each town centre's core
        d2 = np.min([(x - cx) ** 2 + (y - cy) ** 2 for cx, cy in TOWN_CENTRES], axis=0)
        w = np.exp(-d2 / (2 * 300.0 ** 2))
    else:                             # villages: where people are
        w = bld["population"].to_numpy().astype(float)
    return np.where(inside, w + 1e-12, 0.0)


def _near(rng: np.random.Generator, bld: pd.DataFrame, weight: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points a few metres from buildings drawn with probability proportional to ``weight``."""
    if n == 0 or weight.sum() <= 0:
        weight = np.ones(len(bld))
    at = rng.choice(len(bld), size=n, p=weight / weight.sum())
    return (bld["x"].to_numpy()[at] + rng.uniform(-_JITTER_M, _JITTER_M, n),
            bld["y"].to_numpy()[at] + rng.uniform(-_JITTER_M, _JITTER_M, n))


def _idle(rng: np.random.Generator, n_idle: int, bld: pd.DataFrame,
          communities: Communities) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y and floor area of the idle buildings: one >= 400 m2 per community first, then by zone shares."""
    label = communities.of(bld["x"].to_numpy(), bld["y"].to_numpy())
    pop = bld["population"].to_numpy().astype(float)
    first = list(communities.labels)[:n_idle]
    xs, ys = [], []
    for c in first:
        x, y = _near(rng, bld, np.where(label == c, pop, 0.0), 1)
        xs.append(x)
        ys.append(y)
    big = np.round(rng.uniform(400.0, 900.0, len(first)), -1)
    for kind, count in zip(_KINDS, split(n_idle - len(first), [ZONES[k]["idle"] for k in _KINDS]), strict=True):
        x, y = _near(rng, bld, (zone_kind(bld["district"].to_numpy()) == kind).astype(float), count)
        xs.append(x)
        ys.append(y)
    rest = np.clip(np.round(rng.lognormal(np.log(480.0), 0.6, n_idle - len(first)), -1), 100.0, 2000.0)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate([big, rest])


def _existing(rng: np.random.Generator, n_existing: int, bld: pd.DataFrame,
              communities: Communities) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """x, y and ``;``-separated services of the existing facilities."""
    n_centres = min(n_existing, max(1, round(len(communities.labels) / 5)))
    label = communities.of(bld["x"].to_numpy(), bld["y"].to_numpy())
    people = pd.Series(bld["population"].to_numpy()).groupby(label).sum()
    biggest = people.sort_values(ascending=False, kind="stable").index[:n_centres]
    xs = [np.array([communities.centre(c)[0] for c in biggest])]
    ys = [np.array([communities.centre(c)[1] for c in biggest])]
    primary = ["service_centre"] * n_centres
    counts = split(n_existing - n_centres, [share for share, _ in EXISTING.values()])
    for (service, (_, by_kind)), count in zip(EXISTING.items(), counts, strict=True):
        for kind, k in zip(_KINDS, split(count, list(by_kind)), strict=True):
            x, y = _near(rng, bld, _pull(bld, kind), k)
            xs.append(x)
            ys.append(y)
            primary += [service] * k
    services = []
    for p in primary:
        extra = [s for s, prob in CO_LOCATED.get(p, ()) if rng.random() < prob]
        services.append(";".join(sorted({p, *extra}, key=SERVICES.index)))
    return np.concatenate(xs), np.concatenate(ys), services


def sites_table(rng: np.random.Generator, n_idle: int, n_existing: int, bld: pd.DataFrame,
                communities: Communities) -> pd.DataFrame:
    """The ``sites.csv`` table: ``id, cost, x, y, floor_area, status, services, district, community`` (UTM)."""
    x, y, area = _idle(rng, n_idle, bld, communities)
    kind = zone_kind(zone_of(x, y))
    yuan_m2 = np.array([ZONES[k]["yuan_m2"] for k in kind]) * rng.uniform(0.8, 1.2, x.size)
    width = max(3, len(str(x.size)))
    idle = pd.DataFrame({
        "id": [f"b{i:0{width}d}" for i in range(1, x.size + 1)],
        "cost": np.round((150_000.0 + area * yuan_m2) / 1_000.0) * 1_000.0,
        "x": np.round(x + X0, 1), "y": np.round(y + Y0, 1),
        "floor_area": area, "status": "candidate", "services": "",
        "district": zone_of(x, y).astype(str), "community": communities.of(x, y),
    })
    ex, ey, services = _existing(rng, n_existing, bld, communities)
    width = max(3, len(str(ex.size)))
    existing = pd.DataFrame({
        "id": [f"f{i:0{width}d}" for i in range(1, ex.size + 1)],
        "cost": 0.0,
        "x": np.round(ex + X0, 1), "y": np.round(ey + Y0, 1),
        "floor_area": np.clip(np.round(rng.lognormal(np.log(600.0), 0.5, ex.size), -1), 80.0, 3000.0),
        "status": "existing", "services": services,
        "district": zone_of(ex, ey).astype(str), "community": communities.of(ex, ey),
    })
    return pd.concat([idle, existing], ignore_index=True)
