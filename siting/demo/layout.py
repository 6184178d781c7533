"""Layout of the demo district: frame, zones, river and terrain (local metres; add ``X0, Y0`` for UTM 48N).

Example
-------
>>> str(zone_of([4_300.0], [5_300.0])[0]), 175 < float(elevation([4_300.0], [4_000.0])[0]) < 190  # river bank
('old_town', True)
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["CRS", "SERVICES", "X0", "Y0", "WIDTH", "HEIGHT", "RIVER_HALF_WIDTH", "RIVER_MARGIN", "ZONES",
           "EXISTING", "CO_LOCATED", "TOWN_CENTRES", "OLD_TOWN", "NEW_TOWN", "BRIDGES_X", "river_y", "river_offset",
           "in_ellipse", "zone_of", "zone_kind", "elevation", "terrace_relief", "TERRACE_PERIOD_M",
           "TERRACE_HEIGHT_M", "TERRACE_STEP_SHARE"]

CRS = "EPSG:32648"
SERVICES = (
    "elderly_care", "canteen", "health_station", "childcare", "fresh_market", "culture_sports", "service_centre",
)

# district frame (UTM 48N, near Chongqing): 12 km x 9 km
X0, Y0 = 640_000.0, 3_260_000.0
WIDTH, HEIGHT = 12_000.0, 9_000.0
RIVER_HALF_WIDTH = 160.0      # water
RIVER_MARGIN = 60.0           # no street nodes this close to the water


# zone name -> street spacing (m), share of non-tree links kept, share of the residential buildings, relative
# residents per building (walk-ups in the old town, towers in the new town, village houses in the fringe),
# elderly share, children share, share of the idle buildings, conversion cost (yuan/m2)
ZONES = {
    "old_town":      dict(spacing=28.0, keep=0.45, buildings=0.42, persons=1.0, elderly=0.235, children=0.08,
                          idle=0.38, yuan_m2=3600.0),
    "new_town":      dict(spacing=58.0, keep=0.85, buildings=0.20, persons=1.9, elderly=0.12, children=0.12,
                          idle=0.30, yuan_m2=2600.0),
    "town_centre":   dict(spacing=46.0, keep=0.5, buildings=0.22, persons=0.9, elderly=0.19, children=0.10,
                          idle=0.22, yuan_m2=2100.0),
    "fringe":        dict(spacing=100.0, keep=0.2, buildings=0.16, persons=0.45, elderly=0.22, children=0.09,
                          idle=0.10, yuan_m2=1600.0),
}

# Existing facilities as a district has them (the community service centres, about one per five communities,
# stand at community centres and come on top). service -> (share of the other facilities, share of those per
# zone kind old_town / new_town / town_centre / fringe). Services cluster in the town centres and along the
# old town's riverfront streets; the young new town has few elderly-care and childcare places.
EXISTING = {
    "elderly_care":   (0.20, (0.50, 0.03, 0.35, 0.12)),
    "canteen":        (0.10, (0.55, 0.05, 0.30, 0.10)),
    "health_station": (0.19, (0.30, 0.20, 0.35, 0.15)),
    "childcare":      (0.08, (0.35, 0.10, 0.50, 0.05)),
    "fresh_market":   (0.22, (0.35, 0.20, 0.35, 0.10)),
    "culture_sports": (0.21, (0.30, 0.22, 0.40, 0.08)),
}
# services added to a facility of the key's service with that probability (one building, several services)
CO_LOCATED = {
    "elderly_care": (("canteen", 0.45),),
    "health_station": (("elderly_care", 0.10),),
    "service_centre": (("culture_sports", 0.6), ("elderly_care", 0.35)),
}

TOWN_CENTRES = ((1_700.0, 7_300.0), (10_300.0, 7_600.0), (6_600.0, 1_300.0))  # local coordinates (m)
OLD_TOWN = (4_300.0, 5_250.0, 1_750.0, 1_000.0)    # centre x, y, semi-axes (north bank)
NEW_TOWN = (7_100.0, 3_200.0, 2_400.0, 1_350.0)    # (south bank)
BRIDGES_X = (3_600.0, 6_300.0, 9_600.0)


def river_y(x: ArrayLike) -> np.ndarray:
    """Centre line of the river (local metres): a meander running west to east."""
    x = np.asarray(x, dtype=float)
    return 4_450.0 + 420.0 * np.sin(2 * np.pi * x / 7_500.0 + 0.6) + 160.0 * np.sin(2 * np.pi * x / 2_300.0)


def river_offset(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Signed vertical offset to the river centre line (positive = north bank), good enough for a gentle meander."""
    return np.asarray(y, dtype=float) - river_y(x)


def in_ellipse(x: np.ndarray, y: np.ndarray, e: tuple[float, float, float, float]) -> np.ndarray:
    """Mask of the points inside the axis-aligned ellipse ``e = (centre x, centre y, semi-axis x, semi-axis y)``.

    Examples
    --------
    >>> in_ellipse(np.array([0.0, 3.0]), np.array([1.0, 0.0]), (0.0, 0.0, 2.0, 1.0)).tolist()
    [True, False]
    """
    cx, cy, a, b = e
    return ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 <= 1.0


def zone_of(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Zone label (``old_town``, ``new_town``, ``town_centre_1..3``, ``fringe``) of local coordinates."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    d = river_offset(x, y)
    out = np.full(x.shape, "fringe", dtype=object)
    for k, (cx, cy) in enumerate(TOWN_CENTRES, start=1):
        out[np.hypot(x - cx, y - cy) <= 850.0] = f"town_centre_{k}"
    out[in_ellipse(x, y, NEW_TOWN) & (d < 0)] = "new_town"
    out[in_ellipse(x, y, OLD_TOWN) & (d > 0)] = "old_town"
    return out


def zone_kind(label: ArrayLike) -> np.ndarray:
    """The zone kind of each label: ``town_centre_1..3`` become ``town_centre``, the others stay.

    Examples
    --------
    >>> zone_kind(["town_centre_2", "old_town"]).tolist()
    ['town_centre', 'old_town']
    """
    kind = np.asarray(label, dtype=object).copy()
    kind[np.char.startswith(np.asarray(label, dtype=str), "town_centre")] = "town_centre"
    return kind


def elevation(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Ground elevation (m): river valley at ~178 m, a steep old-town hillside, rolling hills up to ~450 m."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    d = np.abs(river_offset(x, y))
    z = 178.0 + 70.0 * (1.0 - np.exp(-d / 900.0))
    hills = (  # cx, cy, height, sigma
        (4_200.0, 6_150.0, 135.0, 650.0),   # old-town ridge (steep: stairs)
        (5_200.0, 6_500.0, 90.0, 500.0),
        (1_000.0, 2_000.0, 160.0, 1_400.0),
        (11_000.0, 2_500.0, 180.0, 1_600.0),
        (8_000.0, 8_500.0, 120.0, 1_200.0),
        (2_500.0, 8_500.0, 90.0, 900.0),
        (9_000.0, 3_800.0, 35.0, 700.0),
    )
    for cx, cy, h, s in hills:
        z = z + h * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s))
    # terraces in the old town: short-wavelength relief
    old = np.exp(-(((x - OLD_TOWN[0]) / OLD_TOWN[2]) ** 2 + ((y - OLD_TOWN[1]) / OLD_TOWN[3]) ** 2))
    z = z + 14.0 * old * np.sin(x / 95.0) * np.cos(y / 120.0)
    return z + terrace_relief(x, y) * np.clip(1.6 * old, 0.0, 1.0) * (river_offset(x, y) > 0)


#: old-town terraces around the ridge: rings TERRACE_PERIOD_M apart, TERRACE_HEIGHT_M high, the height taken in an
#: escarpment of TERRACE_STEP_SHARE of the period (the stairways: 40-70 % grade, as on Chongqing's 山城步道)
TERRACE_PERIOD_M, TERRACE_HEIGHT_M, TERRACE_STEP_SHARE = 90.0, 16.0, 0.25


def terrace_relief(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Height (m) that turns the old-town hillside into terraces: flat rings joined by steep escarpments.

    The staircase ``H * (floor(s) + step(frac(s)))`` minus its trend ``H * s``, with ``s`` the distance to the
    ridge top in periods and ``step`` a smoothstep over the last share of each period (zero mean: the hill keeps
    its height).

    Examples
    --------
    >>> r = terrace_relief(4_200.0 + TERRACE_PERIOD_M * np.array([0.0, 0.5, 0.7, 1.0]), np.full(4, 6_150.0))
    >>> bool(abs(r[0]) < 1e-9 and abs(r[3]) < 1e-9 and 0 < r[1] < r[2])  # flat ring, then the escarpment
    True
    """
    d = np.hypot(np.asarray(x, dtype=float) - 4_200.0, np.asarray(y, dtype=float) - 6_150.0)
    s = d / TERRACE_PERIOD_M
    frac = s - np.floor(s)
    t = np.clip((frac - (1.0 - TERRACE_STEP_SHARE)) / TERRACE_STEP_SHARE, 0.0, 1.0)
    return -TERRACE_HEIGHT_M * (np.floor(s) + t * t * (3.0 - 2.0 * t) - s)
