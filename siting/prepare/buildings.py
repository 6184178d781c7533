"""OpenStreetMap buildings: idle candidates (by tags or a filter expression) and residential demand.

Defaults (assumptions to calibrate, stated in the written ``scenario.toml`` and docs/FROM-OSM.md):

- :data:`IDLE_TAGS`: a building is *idle* when ``building`` is one of ``disused``, ``abandoned`` or ``vacant``,
  or it carries ``disused=yes``, ``abandoned=yes``, ``vacant=yes``, ``building:use=vacant``, or any
  ``disused:*`` / ``abandoned:*`` lifecycle key (the OSM lifecycle-prefix convention).
- :data:`DEFAULT_COST_PER_M2`: conversion cost 2,000 CNY per m2 of floor area (a mid-range figure for
  refitting an old building as a community facility; a placeholder, not a norm).
- :data:`DEFAULT_PERSONS_PER_M2`: 0.025 residents per m2 of residential floor area, i.e. 40 m2 per person
  (China's urban per-capita housing floor area was about 37-41 m2 around the 2020 census [from memory]).
- :data:`DEFAULT_LEVELS`: 1 storey where ``building:levels`` is missing (the count is reported, never hidden).
- :data:`DEFAULT_SHARES`: ``elderly`` = 18.7 % (aged 60+), ``children`` = 17.95 % (aged 0-14) of the residents,
  the 2020 national census shares [from memory], so the multi-service catalog's target groups exist.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, ScenarioError

__all__ = ["read_buildings", "select_candidates", "residential_mask", "floor_area", "IDLE_TAGS",
           "RESIDENTIAL_BUILDINGS", "DEFAULT_COST_PER_M2", "DEFAULT_PERSONS_PER_M2", "DEFAULT_LEVELS",
           "DEFAULT_SHARES", "BuildingTable"]

IDLE_TAGS = {"building": ("disused", "abandoned", "vacant"), "disused": ("yes",), "abandoned": ("yes",),
             "vacant": ("yes",), "building:use": ("vacant",)}
RESIDENTIAL_BUILDINGS = ("residential", "apartments", "house", "detached", "semidetached_house", "terrace",
                         "dormitory", "bungalow")
DEFAULT_COST_PER_M2 = 2000.0
DEFAULT_PERSONS_PER_M2 = 0.025
DEFAULT_LEVELS = 1.0
DEFAULT_SHARES = {"elderly": 0.187, "children": 0.1795}


@dataclass(frozen=True)
class BuildingTable:
    """Building footprints in a metric CRS with their tags as columns.

    Attributes
    ----------
    frame : geopandas.GeoDataFrame
        One row per building: ``osm_id``, ``name``, ``building``, every other tag as a text column,
        ``area_m2`` (footprint), ``levels`` (``building:levels``, default filled in), ``levels_known``,
        ``floor_area_m2``, ``idle``; polygon geometry.
    crs : str
        The metric CRS (``EPSG:326xx`` / ``EPSG:327xx``, the local UTM zone unless given).
    """

    frame: Any
    crs: str


def _tag_columns(buildings: Any) -> Any:
    """Spread the JSON ``tags`` column, where pyrosm keeps uncommon tags, to columns (known columns win)."""
    if "tags" not in buildings.columns:
        return buildings
    parsed = buildings["tags"].map(lambda t: json.loads(t) if isinstance(t, str) and t else {})
    extra = pd.DataFrame(parsed.tolist(), index=buildings.index)
    extra = extra[[c for c in extra.columns if c not in buildings.columns]]
    return pd.concat([buildings.drop(columns="tags"), extra.astype(object)], axis=1)


def floor_area(area_m2: np.ndarray, levels_text: pd.Series, default_levels: float) -> tuple[np.ndarray, np.ndarray]:
    """``(levels, known)``: storeys from ``building:levels`` text (``"5"``, ``"5;6"``, ``"4.5"``), default elsewhere.

    Examples
    --------
    >>> lv, known = floor_area(np.array([100.0, 100.0, 100.0]), pd.Series(["5", None, "x"]), 1.0)
    >>> lv.tolist(), known.tolist()
    ([5.0, 1.0, 1.0], [True, False, False])
    """
    first = levels_text.astype("string").str.extract(r"(\d+(?:\.\d+)?)", expand=False)
    levels = pd.to_numeric(first, errors="coerce").to_numpy(dtype=float)
    known = np.isfinite(levels) & (levels > 0)
    return np.where(known, levels, float(default_levels)), known


def read_buildings(pbf: str, *, crs: str | None = None, default_levels: float = DEFAULT_LEVELS,
                   bounding_box: list[float] | None = None) -> BuildingTable:
    """Building footprints of an ``.osm.pbf`` extract (pyrosm, offline), projected to a metric CRS.

    ``bounding_box`` = ``[min_lon, min_lat, max_lon, max_lat]`` (WGS-84) keeps a district of a city extract.

    Raises
    ------
    InputError
        The file cannot be read or holds no building.
    """
    import pyrosm

    from ..travel.readers import crs_name

    try:
        raw = pyrosm.OSM(str(pbf), bounding_box=bounding_box).get_buildings()
    except Exception as exc:  # noqa: BLE001 - reader errors become one line
        raise InputError(f"cannot read buildings from the OpenStreetMap extract: {exc}", file=str(pbf)) from None
    if raw is None or len(raw) == 0:
        raise InputError("no building (building=*) in the OpenStreetMap extract", file=str(pbf))
    raw = raw[raw.geom_type.isin(["Polygon", "MultiPolygon"])].reset_index(drop=True)
    target = crs or raw.estimate_utm_crs()
    gdf = _tag_columns(raw).to_crs(target)
    gdf = gdf.rename(columns={"id": "osm_id"})
    gdf["osm_id"] = gdf["osm_type"].astype(str).str[0] + gdf["osm_id"].astype("int64").astype(str) \
        if "osm_type" in gdf.columns else gdf["osm_id"].astype("int64").astype(str)
    if "name" not in gdf.columns:
        gdf["name"] = None
    gdf["area_m2"] = gdf.geometry.area.to_numpy()
    levels_col = gdf["building:levels"] if "building:levels" in gdf.columns else pd.Series(None, index=gdf.index)
    gdf["levels"], gdf["levels_known"] = floor_area(gdf["area_m2"].to_numpy(), levels_col, default_levels)
    gdf["floor_area_m2"] = gdf["area_m2"] * gdf["levels"]
    gdf["idle"] = _idle_mask(gdf)
    return BuildingTable(frame=gdf, crs=crs_name(gdf.crs) or str(target))


def _idle_mask(frame: pd.DataFrame) -> np.ndarray:
    """The default idle test of :data:`IDLE_TAGS` plus any ``disused:*`` / ``abandoned:*`` key."""
    idle = np.zeros(len(frame), dtype=bool)
    for key, values in IDLE_TAGS.items():  # loop over a handful of tags, not over buildings
        if key in frame.columns:
            idle |= frame[key].astype("string").str.lower().isin(values).fillna(False).to_numpy(dtype=bool)
    for col in frame.columns:
        if isinstance(col, str) and re.match(r"^(disused|abandoned):", col):
            idle |= frame[col].notna().to_numpy()
    return idle


def select_candidates(frame: pd.DataFrame, expression: str | None, *, source: str = "--candidates") -> np.ndarray:
    """Boolean mask of the candidate buildings: the default idle test, or a pandas ``query`` ``expression``.

    The expression sees every tag as a column (backquote names with ``:``, e.g. ```building:levels```),
    plus ``idle`` (the default test), ``area_m2``, ``levels`` and ``floor_area_m2``;
    e.g. ``"idle or building == 'public'"`` or ``"idle and area_m2 >= 200"``.

    Examples
    --------
    >>> f = pd.DataFrame({"building": ["yes", "disused"], "idle": [False, True], "area_m2": [50.0, 300.0]})
    >>> select_candidates(f, None).tolist(), select_candidates(f, "area_m2 > 100 or building == 'yes'").tolist()
    ([False, True], [True, True])
    """
    if expression is None:
        return frame["idle"].to_numpy(dtype=bool)
    plain = pd.DataFrame(frame.drop(columns=frame.geometry.name) if hasattr(frame, "geometry") else frame)
    try:
        picked = plain.query(expression, engine="python")
    except Exception as exc:  # noqa: BLE001 - any bad expression is the user's input
        raise ScenarioError(f"cannot evaluate the filter expression {expression!r}: {type(exc).__name__}: {exc}",
                            key=source) from None
    return plain.index.isin(picked.index)


def residential_mask(frame: pd.DataFrame) -> np.ndarray:
    """Buildings whose ``building`` tag is residential (:data:`RESIDENTIAL_BUILDINGS`)."""
    return frame["building"].astype("string").str.lower().isin(RESIDENTIAL_BUILDINGS).fillna(False).to_numpy(bool)
