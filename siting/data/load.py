"""Loaders: files or data frames -> validated :class:`Demand`, :class:`Sites`, :class:`TravelTimes`.

Formats (chosen by suffix): CSV, Parquet (plain or GeoParquet), GeoPackage, GeoJSON; travel
times are CSV or Parquet only. Every problem is raised as a one-line
:class:`~siting.errors.InputError` naming the file, the row (CSV: spreadsheet row, header =
row 1, first data row = row 2; other formats and in-memory frames: ``feature N``, 1-based),
the id when known, and the column. See ``docs/INPUTS.md``.

CRS: a GeoPackage, GeoJSON or GeoParquet layer carries its own CRS; plain ``x``/``y`` tables (CSV,
Parquet) carry none unless the caller states one (``crs=``, a scenario's ``[data] crs``). A projected layer
whose own CRS differs from the stated one is an error naming the file: metres are never reprojected silently.
Degrees (``lon``/``lat`` columns, EPSG:4326 layers, x/y stated as EPSG:4326) are projected to a metric CRS on
loading (the stated one when projected, else the other layer's, else the local UTM zone): nothing is computed
in degrees. Polygon layers (building footprints) are placed at representative points (:mod:`._geometry`).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ._position import place, projected_crs
from ._read import (
    RawTable,
    geometry_name,
    layer_columns,
    map_columns,
    raw_from_frame,
    read_table,
    same_crs,
)
from ._validate import (
    _text,
    check_total,
    closest,
    fail,
    id_column,
    number_column,
    numeric_share,
    require_columns,
    require_rows,
)
from .instance import Demand, Instance, Sites, SiteStatus
from .recent import recent_instance
from .travel_table import read_travel, travel_from_frame

__all__ = [
    "read_demand", "read_sites", "read_travel", "load_instance",
    "demand_from_frame", "sites_from_frame", "travel_from_frame", "instance_from_frames",
    "check_same_crs", "GeographicCRSWarning", "read_layers",
]

DEMAND_COLUMNS = ("id", "population")
SITE_COLUMNS = ("id", "cost")


class GeographicCRSWarning(UserWarning):
    """Kept for scripts that filter it: degrees are now projected to metres on loading, never warned about."""


#: position columns, never read as group counts or labels
_POSITION_COLUMNS = ("x", "y", "lon", "lat")
#: columns that give a point's ground elevation (metres), in this order of preference; never a group count
ELEVATION_COLUMNS = ("elevation_m", "z")


def _extras(raw: RawTable, used: set[str]) -> list[str]:
    geom_col = geometry_name(raw.frame)
    skip = used | set(_POSITION_COLUMNS) | {geom_col, "geometry"}
    return [c for c in raw.frame.columns if c not in skip]


def _mapped(raw: RawTable, columns: Mapping[str, Any] | None, layer: str, required: tuple[str, ...]) -> RawTable:
    """``raw`` with the ``[data.columns]`` names applied; a mapped required column that is absent is an error."""
    mapping = layer_columns(columns, layer)
    for name in required:
        given = mapping.get(name)
        if given is not None and given != name and given not in raw.frame.columns:
            guess = closest(given, [str(c) for c in raw.frame.columns])
            hint = f" (did you mean '{guess}'?)" if guess else ""
            raise InputError(f"no column '{given}' (named by [data.columns] {name}){hint}; columns found: "
                             f"{', '.join(map(str, raw.frame.columns))}", file=raw.source, column=given)
    return map_columns(raw, mapping)


# --------------------------------------------------------------------------- demand
def _demand(raw: RawTable, crs: str | None = None, target: str | None = None,
            columns: Mapping[str, Any] | None = None) -> Demand:
    raw = _mapped(raw, columns, "demand", DEMAND_COLUMNS)
    require_columns(raw, DEMAND_COLUMNS, "demand")
    require_rows(raw, "demand")
    ids = id_column(raw, "id")
    population = number_column(raw, "population", ids, what="population")
    check_total(raw, "population", population, ids, what="population")
    at = place(raw, ids, "demand", crs, target)
    groups: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    height = next((c for c in ELEVATION_COLUMNS if c in raw.frame.columns), None)
    elevation = None if height is None else number_column(raw, height, ids, what="elevation", allow_missing=True,
                                                           minimum=None)
    for column in _extras(raw, {"id", "population", *ELEVATION_COLUMNS}):
        if numeric_share(raw.frame[column]) >= 0.5:
            groups[column] = number_column(raw, column, ids, what="group count")
            check_total(raw, column, groups[column], ids, what="group count")
        else:
            labels[column] = _text(raw.frame[column]).to_numpy(dtype=object)
    return Demand(ids=ids, population=population, x=at.x, y=at.y, groups=groups, crs=at.crs,
                  source=raw.source, labels=labels, footprints=at.footprints, input_crs=at.input_crs,
                  elevation_m=elevation)


def demand_from_frame(df: pd.DataFrame, source: str = "demand", *, crs: str | None = None,
                      columns: Mapping[str, Any] | None = None) -> Demand:
    """Validate a demand table held in memory.

    Parameters
    ----------
    df : DataFrame with ``id``, ``population`` and ``x``/``y`` or ``lon``/``lat`` (degrees, WGS-84), or a
        GeoDataFrame of points or building footprints (polygons: placed at their representative points).
        Extra columns that are mostly numeric become ``Demand.groups`` (non-negative counts,
        e.g. ``elderly``); other extra columns become ``Demand.labels`` (text, e.g. ``district``).
    source : name used in error messages
    crs : the CRS plain x/y are in (``"EPSG:32648"``); a GeoDataFrame's own projected CRS must agree with it.
        Degrees are projected to it when it is projected, else to the UTM zone of the points.
    columns : ``{"population": "pop", "id": "gid"}``: the frame's names of the columns siting reads
        (``[data.columns]``)

    Examples
    --------
    >>> import pandas as pd
    >>> d = demand_from_frame(pd.DataFrame({"id": [1, 2], "population": [10, 5],
    ...                                     "x": [0, 1], "y": [0, 0], "elderly": [2, 1]}))
    >>> d.ids.tolist(), d.groups["elderly"].tolist()
    (['1', '2'], [2.0, 1.0])
    """
    return _demand(raw_from_frame(df, source), crs, columns=columns)


def read_demand(path: str | Path, *, crs: str | None = None, columns: Mapping[str, Any] | None = None,
                target: str | None = None) -> Demand:
    """Read and validate a demand layer (CSV, Parquet, GeoPackage or GeoJSON).

    ``crs`` is the CRS plain x/y are in (a scenario's ``[data] crs``); a layer's own projected CRS must agree
    with it; degrees (``lon``/``lat`` columns, an EPSG:4326 layer) are projected to ``target`` (a metric CRS),
    else to ``crs`` when projected, else to the UTM zone of the points. ``columns`` is ``[data.columns]``.

    Examples
    --------
    >>> float(read_demand("scenarios/example/demand.csv").population.sum())
    33500.0
    """
    return _demand(read_table(path), crs, target, columns)


# --------------------------------------------------------------------------- sites
_STATUS_VALUES = tuple(s.value for s in SiteStatus)


def _status_array(codes: np.ndarray) -> np.ndarray:
    """Object array of :class:`SiteStatus` members (not plain strings) for positions in ``SiteStatus``."""
    members = np.empty(len(SiteStatus), dtype=object)
    for k, member in enumerate(SiteStatus):  # 4 members, not rows
        members[k] = member
    return members[codes]


def _status(raw: RawTable, ids: np.ndarray) -> np.ndarray:
    n = len(raw.frame)
    if "status" not in raw.frame.columns:
        return _status_array(np.zeros(n, dtype=np.int64))
    text = _text(raw.frame["status"]).str.lower()
    text = text.where(text != "", SiteStatus.CANDIDATE.value)
    unknown = (~text.isin(_STATUS_VALUES)).to_numpy()
    if unknown.any():
        pos = int(np.flatnonzero(unknown)[0])
        value = raw.frame["status"].iloc[pos]
        guess = closest(text.iloc[pos], _STATUS_VALUES)
        hint = f" (did you mean '{guess}'?)" if guess else ""
        raise fail(raw, f"unknown status '{value}'{hint}; allowed: {', '.join(_STATUS_VALUES)}",
                   pos=pos, row_id=ids[pos], column="status")
    return _status_array(pd.Index(_STATUS_VALUES).get_indexer(pd.Index(text)))


def _sites(raw: RawTable, crs: str | None = None, target: str | None = None,
           columns: Mapping[str, Any] | None = None) -> Sites:
    raw = _mapped(raw, columns, "candidates", SITE_COLUMNS)
    require_columns(raw, SITE_COLUMNS, "candidates")
    require_rows(raw, "candidates")
    ids = id_column(raw, "id")
    status = _status(raw, ids)
    existing = status == SiteStatus.EXISTING
    cost = number_column(raw, "cost", ids, what="cost", allow_missing=existing)
    cost = np.where(existing, 0.0, cost)  # existing facilities are already paid for
    check_total(raw, "cost", cost, ids, what="cost")
    at = place(raw, ids, "candidates", crs, target)
    optional: dict[str, np.ndarray | None] = {"capacity": None, "floor_area": None}
    for column in optional:
        if column in raw.frame.columns:
            values = number_column(raw, column, ids, what=column.replace("_", " "), allow_missing=True)
            check_total(raw, column, values, ids, what=column.replace("_", " "))
            optional[column] = values
    extra: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    for column in _extras(raw, {"id", "cost", "status", "capacity", "floor_area"}):
        if numeric_share(raw.frame[column]) >= 0.5:
            extra[column] = number_column(raw, column, ids, allow_missing=True, minimum=None,
                                          allow_inf=True)
        else:
            labels[column] = _text(raw.frame[column]).to_numpy(dtype=object)
    return Sites(ids=ids, cost=cost, x=at.x, y=at.y, status=status, capacity=optional["capacity"],
                 floor_area=optional["floor_area"], extra=extra, crs=at.crs, source=raw.source,
                 labels=labels, footprints=at.footprints, input_crs=at.input_crs)


def sites_from_frame(df: pd.DataFrame, source: str = "candidates", *, crs: str | None = None,
                     columns: Mapping[str, Any] | None = None) -> Sites:
    """Validate a candidate-site table held in memory.

    Parameters
    ----------
    df : DataFrame with ``id``, ``cost`` and a position (as for :func:`demand_from_frame`); optional
        ``status`` (candidate | existing | required | excluded; blank = candidate),
        ``capacity`` and ``floor_area`` (blank = unknown/unlimited). The cost of an
        ``existing`` site is forced to 0 (it may be blank). Other mostly-numeric columns go to
        ``Sites.extra``; other text columns (``name``, ``address``, ``services``, ...) to ``Sites.labels``
        (carried to ``sites.csv``, ``rank.csv`` and the GeoPackage).
    source : name used in error messages
    crs, columns : as for :func:`demand_from_frame`

    Examples
    --------
    >>> import pandas as pd
    >>> s = sites_from_frame(pd.DataFrame({"id": ["a", "b"], "cost": [5, 9], "x": [0, 1],
    ...                                    "y": [0, 0], "status": ["existing", ""]}))
    >>> s.cost.tolist(), [str(v) for v in s.status]
    ([0.0, 9.0], ['existing', 'candidate'])
    """
    return _sites(raw_from_frame(df, source), crs, columns=columns)


def read_sites(path: str | Path, *, crs: str | None = None, columns: Mapping[str, Any] | None = None,
               target: str | None = None) -> Sites:
    """Read and validate a candidates layer (CSV, Parquet, GeoPackage or GeoJSON).

    ``crs``, ``columns`` and ``target`` as for :func:`read_demand`.

    Examples
    --------
    >>> read_sites("scenarios/example/candidates.csv").ids.tolist()
    ['S1', 'S2', 'S3', 'S4', 'S5', 'S6']
    """
    return _sites(read_table(path), crs, target, columns)


# --------------------------------------------------------------------------- instance
def check_same_crs(demand: Demand, sites: Sites) -> None:
    """Raise when both layers declare a CRS and they differ (layers without a CRS are not compared).

    Examples
    --------
    >>> d, s = read_demand("scenarios/example/demand.csv"), read_sites("scenarios/example/candidates.csv")
    >>> check_same_crs(d, s)  # plain x/y layers declare no CRS: nothing to compare
    """
    if demand.crs is None or sites.crs is None or same_crs(demand.crs, sites.crs):
        return
    raise InputError(f"CRS mismatch: candidates layer is {sites.crs} but demand layer {demand.source} "
                     f"is {demand.crs}; reproject one layer so both use the same CRS",
                     file=sites.source, column="geometry")


def _check_degrees(demand: Demand, sites: Sites) -> None:
    """Raise when one layer was projected from degrees and the other has no CRS (its x/y could be anything)."""
    for a, b in ((demand, sites), (sites, demand)):
        if a.input_crs is not None and b.crs is None:
            raise InputError(f"{b.source} has plain x/y without a CRS but {a.source} is in degrees (projected to "
                             f"{a.crs}); state the CRS of the x/y with [data] crs", file=b.source, column="x")


def _pair(raw_demand: RawTable, raw_sites: RawTable, crs: str | None, columns: Mapping[str, Any] | None,
          target: str | None = None) -> tuple[Demand, Sites]:
    """Both point layers in one metric CRS (degrees go to the other layer's, else one UTM zone for both)."""
    target = projected_crs(raw_demand, crs) or projected_crs(raw_sites, crs) or target
    demand = _demand(raw_demand, crs, target, columns)
    if target is None and demand.input_crs is not None:
        target = demand.crs  # the UTM zone chosen for the demand: the candidates go there too
    sites = _sites(raw_sites, crs, target, columns)
    check_same_crs(demand, sites)
    _check_degrees(demand, sites)
    _check_mapped(columns, demand, sites)
    return demand, sites


def _check_mapped(columns: Mapping[str, Any] | None, demand: Demand, sites: Sites) -> None:
    """A ``[data.columns]`` entry that names a column of neither layer is an error (a typo would be silent)."""
    if not columns:
        return
    read = {"demand": {"id", "population", *_POSITION_COLUMNS, *demand.groups, *demand.labels},
            "candidates": {"id", "cost", "status", "capacity", "floor_area", *_POSITION_COLUMNS, *sites.extra,
                           *sites.labels}}
    shared = {k for k, v in columns.items() if isinstance(v, str)}
    for layer, source in (("demand", demand.source), ("candidates", sites.source)):
        for name, column in layer_columns(columns, layer).items():
            either = name in shared and (name in read["demand"] or name in read["candidates"])
            if name not in read[layer] and not either:
                shown = source if name not in shared else f"{demand.source} or {sites.source}"
                raise InputError(f"[data.columns] {name} = \"{column}\": no column '{column}' in {shown}",
                                 file=source, column=column)


def read_layers(demand_path: str | Path, candidates_path: str | Path, *, crs: str | None = None,
                columns: Mapping[str, Any] | None = None, target: str | None = None) -> tuple[Demand, Sites]:
    """The demand and candidate layers, validated and in one metric CRS (as :func:`load_instance` reads them).

    ``target`` : the metric CRS degrees are projected to when neither ``crs`` nor a layer names one (a street
    network's CRS, so points and streets agree).

    Examples
    --------
    >>> d, s = read_layers("scenarios/example/demand.csv", "scenarios/example/candidates.csv", crs="EPSG:32648")
    >>> d.crs, s.crs, len(s)
    ('EPSG:32648', 'EPSG:32648', 6)
    """
    return _pair(read_table(demand_path), read_table(candidates_path), crs, columns, target)


def load_instance(demand_path: str | Path, candidates_path: str | Path, travel_path: str | Path, *,
                  group: str | None = None, name: str | None = None, crs: str | None = None,
                  columns: Mapping[str, Any] | None = None) -> Instance:
    """Read the three tables and return a validated :class:`Instance`.

    ``crs`` is the CRS plain x/y are in (a scenario's ``[data] crs``) and ``columns`` the ``[data.columns]``
    mapping: see :func:`read_demand`. Layers in degrees are projected to one metric CRS for both (``crs`` when
    projected, else the other layer's, else the UTM zone of the demand); ``Instance.demand.crs`` names it.
    Files read before and unchanged since are not read again (:mod:`siting.data.recent`; fresh arrays).

    Examples
    --------
    >>> inst = load_instance("scenarios/example/demand.csv", "scenarios/example/candidates.csv",
    ...                      "scenarios/example/travel_times.csv")
    >>> inst.n_demand, inst.n_sites, len(inst.travel)
    (12, 6, 57)
    """
    def load() -> Instance:
        demand, sites = _pair(read_table(demand_path), read_table(candidates_path), crs, columns)
        travel = read_travel(travel_path, demand, sites, group=group)
        return Instance(demand=demand, sites=sites, travel=travel, name=name or "instance")

    # the same files are read several times per command (speed groups, evaluation, report): reused while unchanged
    options = {"group": group, "crs": crs, "columns": columns}
    inst = recent_instance((demand_path, candidates_path, travel_path), options, load)
    return inst if inst.name == (name or "instance") else replace(inst, name=name or "instance")


def instance_from_frames(demand: pd.DataFrame, candidates: pd.DataFrame, travel: pd.DataFrame, *,
                         group: str | None = None, name: str = "instance", crs: str | None = None,
                         columns: Mapping[str, Any] | None = None) -> Instance:
    """An :class:`Instance` from tables already in memory (pandas DataFrames or GeoDataFrames).

    The in-memory twin of :func:`load_instance`, with the same checks and one-line errors (rows are named
    ``feature N``, 1-based).

    Parameters
    ----------
    demand : DataFrame
        ``id``, ``population`` and ``x``/``y``, or ``lon``/``lat`` (degrees, WGS-84), or a GeoDataFrame of points
        or building footprints (polygons are placed at their representative points and kept as
        ``Demand.footprints``). Other numeric columns are group counts (``elderly``), text columns labels.
    candidates : DataFrame
        ``id``, ``cost`` and a position as for ``demand``; optional ``status``, ``capacity``, ``floor_area``;
        other text columns (``name``, ``address``, ...) are kept (``Sites.labels``) and reach the outputs.
    travel : DataFrame
        ``demand_id``, ``candidate_id``, ``minutes`` (a missing pair is unreachable); optional ``group``.
    group : str, optional
        The speed group whose rows are read when ``travel`` has a ``group`` column.
    name : str
        Instance name (shown in records).
    crs : str, optional
        The CRS plain x/y are in; a GeoDataFrame's own projected CRS must agree. Layers in degrees are
        projected to one metric CRS (this one when projected, else the other layer's, else a UTM zone).
    columns : mapping, optional
        ``{"population": "pop", "id": "gid", "cost": "yuan"}``: your column names for the ones siting reads
        (as ``[data.columns]``; a ``{"candidates": {...}}`` entry applies to one layer only).

    Examples
    --------
    >>> import pandas as pd, siting
    >>> demand = pd.DataFrame({"gid": ["a", "b"], "pop": [50, 30], "lon": [106.550, 106.560],
    ...                        "lat": [29.560, 29.560]})
    >>> sites = pd.DataFrame({"gid": ["s1"], "yuan": [10.0], "name": ["old school"], "lon": [106.555],
    ...                       "lat": [29.561]})
    >>> times = pd.DataFrame({"demand_id": ["a", "b"], "candidate_id": ["s1", "s1"], "minutes": [4.0, 12.0]})
    >>> inst = instance_from_frames(demand, sites, times, columns={"id": "gid", "population": "pop",
    ...                                                           "cost": "yuan"})
    >>> inst.demand.crs, inst.sites.labels["name"].tolist()  # degrees projected to the local UTM zone
    ('EPSG:32648', ['old school'])
    >>> res = siting.solve(inst, model="mclp", threshold_min=5, budget=10)
    >>> res.selected, res.covered_weight, res.to_geodataframe().crs.to_string()
    (('s1',), 50.0, 'EPSG:32648')
    """
    d, s = _pair(raw_from_frame(demand, "demand"), raw_from_frame(candidates, "candidates"), crs, columns)
    t = travel_from_frame(travel, d, s, "travel_times", group=group)
    return Instance(demand=d, sites=s, travel=t, name=name)
