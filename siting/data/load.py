"""Loaders: files or data frames -> validated :class:`Demand`, :class:`Sites`, :class:`TravelTimes`.

Formats (chosen by suffix): CSV, Parquet (plain or GeoParquet), GeoPackage, GeoJSON; travel
times are CSV or Parquet only. Every problem is raised as a one-line
:class:`~siting.errors.InputError` naming the file, the row (CSV: spreadsheet row, header =
row 1, first data row = row 2; other formats and in-memory frames: ``feature N``, 1-based),
the id when known, and the column. See ``docs/INPUTS.md``.

CRS: a GeoPackage, GeoJSON or GeoParquet layer carries its own CRS; plain ``x``/``y`` tables (CSV,
Parquet) carry none unless the caller states one (``crs=``, a scenario's ``[data] crs``). A layer whose own
CRS differs from the stated one is an error naming the file: coordinates are never reprojected silently.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ._read import RawTable, crs_text, geometry_name, raw_from_frame, read_table, same_crs
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
from .travel_table import read_travel, travel_from_frame

__all__ = [
    "read_demand", "read_sites", "read_travel", "load_instance",
    "demand_from_frame", "sites_from_frame", "travel_from_frame", "instance_from_frames",
    "check_same_crs", "GeographicCRSWarning",
]

DEMAND_COLUMNS = ("id", "population")
SITE_COLUMNS = ("id", "cost")


class GeographicCRSWarning(UserWarning):
    """A layer uses degrees (e.g. EPSG:4326) where projected metres are expected."""


# --------------------------------------------------------------------------- positions
def _positions(raw: RawTable, ids: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """x, y from a point geometry (when the layer has one) or from ``x``/``y`` columns."""
    geom_col = geometry_name(raw.frame)
    if geom_col is None:
        require_columns(raw, ("x", "y"), what, " (give x and y columns or a point geometry)")
        x = number_column(raw, "x", ids, what="coordinate", minimum=None)
        y = number_column(raw, "y", ids, what="coordinate", minimum=None)
        return x, y
    geom = raw.frame[geom_col]
    empty = (geom.isna() | geom.is_empty).to_numpy()
    if empty.any():
        pos = int(np.flatnonzero(empty)[0])
        raise fail(raw, "missing or empty geometry", pos=pos, row_id=ids[pos], column=geom_col)
    kind = geom.geom_type.to_numpy(dtype=object)
    not_point = kind != "Point"
    if not_point.any():
        pos = int(np.flatnonzero(not_point)[0])
        raise fail(raw, f"expected a Point geometry, got {kind[pos]}", pos=pos, row_id=ids[pos],
                   column=geom_col)
    return geom.x.to_numpy(dtype=float), geom.y.to_numpy(dtype=float)


def _is_geographic(crs: str) -> bool:
    try:
        from pyproj import CRS

        return bool(CRS.from_user_input(crs).is_geographic)
    except Exception:  # noqa: BLE001 - an unparseable CRS is reported by check_same_crs if it matters
        return False


def _layer_crs(raw: RawTable, declared: str | None, ids: np.ndarray, x: np.ndarray, y: np.ndarray) -> str | None:
    """The layer's CRS: its own when it has one (it must agree with ``declared``), else ``declared``.

    ``declared`` is what the caller says plain x/y are in (a scenario's ``[data] crs``). Degrees out of range
    under a declared geographic CRS are an error (metres declared as EPSG:4326 would otherwise be drawn and
    snapped nowhere); any geographic CRS warns, as maps and snapping expect metres.
    """
    crs = raw.crs
    if declared is not None:
        declared = crs_text(declared, raw.source)
        if crs is None:
            crs = declared
        elif not same_crs(crs, declared):
            raise InputError(f"the layer's CRS is {crs} but [data] crs is {declared}; reproject the layer "
                             f"(ogr2ogr -t_srs {declared}) or set [data] crs = \"{crs}\"", file=raw.source,
                             column=geometry_name(raw.frame) or "geometry")
    if crs is None or not _is_geographic(crs):
        return crs
    if raw.crs is None:  # plain x/y declared in degrees: they must be longitudes and latitudes
        for column, values, limit in (("x", x, 180.0), ("y", y, 90.0)):
            out = np.abs(values) > limit
            if out.any():
                pos = int(np.flatnonzero(out)[0])
                raise fail(raw, f"{values[pos]:g} is not a {'longitude' if column == 'x' else 'latitude'} but "
                           f"[data] crs {crs} is in degrees; give the CRS the x/y are in (e.g. EPSG:32648)",
                           pos=pos, row_id=ids[pos], column=column)
    warnings.warn(
        f"{raw.source}: CRS {crs} is geographic (degrees); maps and snapping expect metres, "
        "reproject to a projected CRS such as EPSG:32648 (UTM 48N, Chongqing)",
        GeographicCRSWarning, stacklevel=3,
    )
    return crs


def _extras(raw: RawTable, used: set[str]) -> list[str]:
    geom_col = geometry_name(raw.frame)
    return [c for c in raw.frame.columns if c not in used and c not in (geom_col, "geometry")]


# --------------------------------------------------------------------------- demand
def _demand(raw: RawTable, crs: str | None = None) -> Demand:
    require_columns(raw, DEMAND_COLUMNS, "demand")
    require_rows(raw, "demand")
    ids = id_column(raw, "id")
    population = number_column(raw, "population", ids, what="population")
    check_total(raw, "population", population, ids, what="population")
    x, y = _positions(raw, ids, "demand")
    crs = _layer_crs(raw, crs, ids, x, y)
    groups: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    for column in _extras(raw, {"id", "population", "x", "y"}):
        if numeric_share(raw.frame[column]) >= 0.5:
            groups[column] = number_column(raw, column, ids, what="group count")
            check_total(raw, column, groups[column], ids, what="group count")
        else:
            labels[column] = _text(raw.frame[column]).to_numpy(dtype=object)
    return Demand(ids=ids, population=population, x=x, y=y, groups=groups, crs=crs,
                  source=raw.source, labels=labels)


def demand_from_frame(df: pd.DataFrame, source: str = "demand", *, crs: str | None = None) -> Demand:
    """Validate a demand table held in memory.

    Parameters
    ----------
    df : DataFrame with ``id``, ``population`` and ``x``/``y`` (or a GeoDataFrame of points).
        Extra columns that are mostly numeric become ``Demand.groups`` (non-negative counts,
        e.g. ``elderly``); other extra columns become ``Demand.labels`` (text, e.g. ``district``).
    source : name used in error messages
    crs : the CRS plain x/y are in (``"EPSG:32648"``); a GeoDataFrame's own CRS must agree with it

    Examples
    --------
    >>> import pandas as pd
    >>> d = demand_from_frame(pd.DataFrame({"id": [1, 2], "population": [10, 5],
    ...                                     "x": [0, 1], "y": [0, 0], "elderly": [2, 1]}))
    >>> d.ids.tolist(), d.groups["elderly"].tolist()
    (['1', '2'], [2.0, 1.0])
    """
    return _demand(raw_from_frame(df, source), crs)


def read_demand(path: str | Path, *, crs: str | None = None) -> Demand:
    """Read and validate a demand layer (CSV, Parquet, GeoPackage or GeoJSON).

    ``crs`` is the CRS plain x/y are in (a scenario's ``[data] crs``); a layer's own CRS must agree with it.

    Examples
    --------
    >>> float(read_demand("scenarios/example/demand.csv").population.sum())
    33500.0
    """
    return _demand(read_table(path), crs)


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


def _sites(raw: RawTable, crs: str | None = None) -> Sites:
    require_columns(raw, SITE_COLUMNS, "candidates")
    require_rows(raw, "candidates")
    ids = id_column(raw, "id")
    status = _status(raw, ids)
    existing = status == SiteStatus.EXISTING
    cost = number_column(raw, "cost", ids, what="cost", allow_missing=existing)
    cost = np.where(existing, 0.0, cost)  # existing facilities are already paid for
    check_total(raw, "cost", cost, ids, what="cost")
    x, y = _positions(raw, ids, "candidates")
    crs = _layer_crs(raw, crs, ids, x, y)
    optional: dict[str, np.ndarray | None] = {"capacity": None, "floor_area": None}
    for column in optional:
        if column in raw.frame.columns:
            values = number_column(raw, column, ids, what=column.replace("_", " "), allow_missing=True)
            check_total(raw, column, values, ids, what=column.replace("_", " "))
            optional[column] = values
    extra: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    for column in _extras(raw, {"id", "cost", "x", "y", "status", "capacity", "floor_area"}):
        if numeric_share(raw.frame[column]) >= 0.5:
            extra[column] = number_column(raw, column, ids, allow_missing=True, minimum=None,
                                          allow_inf=True)
        else:
            labels[column] = _text(raw.frame[column]).to_numpy(dtype=object)
    return Sites(ids=ids, cost=cost, x=x, y=y, status=status, capacity=optional["capacity"],
                 floor_area=optional["floor_area"], extra=extra, crs=crs, source=raw.source,
                 labels=labels)


def sites_from_frame(df: pd.DataFrame, source: str = "candidates", *, crs: str | None = None) -> Sites:
    """Validate a candidate-site table held in memory.

    Parameters
    ----------
    df : DataFrame with ``id``, ``cost`` and ``x``/``y`` (or point geometry); optional
        ``status`` (candidate | existing | required | excluded; blank = candidate),
        ``capacity`` and ``floor_area`` (blank = unknown/unlimited). The cost of an
        ``existing`` site is forced to 0 (it may be blank). Other mostly-numeric columns go to
        ``Sites.extra``; other text columns (``name``, ``services``, ...) to ``Sites.labels``.
    source : name used in error messages
    crs : the CRS plain x/y are in (``"EPSG:32648"``); a GeoDataFrame's own CRS must agree with it

    Examples
    --------
    >>> import pandas as pd
    >>> s = sites_from_frame(pd.DataFrame({"id": ["a", "b"], "cost": [5, 9], "x": [0, 1],
    ...                                    "y": [0, 0], "status": ["existing", ""]}))
    >>> s.cost.tolist(), [str(v) for v in s.status]
    ([0.0, 9.0], ['existing', 'candidate'])
    """
    return _sites(raw_from_frame(df, source), crs)


def read_sites(path: str | Path, *, crs: str | None = None) -> Sites:
    """Read and validate a candidates layer (CSV, Parquet, GeoPackage or GeoJSON).

    ``crs`` is the CRS plain x/y are in (a scenario's ``[data] crs``); a layer's own CRS must agree with it.

    Examples
    --------
    >>> read_sites("scenarios/example/candidates.csv").ids.tolist()
    ['S1', 'S2', 'S3', 'S4', 'S5', 'S6']
    """
    return _sites(read_table(path), crs)


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


def load_instance(demand_path: str | Path, candidates_path: str | Path, travel_path: str | Path, *,
                  group: str | None = None, name: str | None = None, crs: str | None = None) -> Instance:
    """Read the three tables and return a validated :class:`Instance`.

    ``crs`` is the CRS plain x/y are in (a scenario's ``[data] crs``): see :func:`read_demand`.

    Examples
    --------
    >>> inst = load_instance("scenarios/example/demand.csv", "scenarios/example/candidates.csv",
    ...                      "scenarios/example/travel_times.csv")
    >>> inst.n_demand, inst.n_sites, len(inst.travel)
    (12, 6, 57)
    """
    demand = read_demand(demand_path, crs=crs)
    sites = read_sites(candidates_path, crs=crs)
    check_same_crs(demand, sites)
    travel = read_travel(travel_path, demand, sites, group=group)
    return Instance(demand=demand, sites=sites, travel=travel, name=name or "instance")


def instance_from_frames(demand: pd.DataFrame, candidates: pd.DataFrame, travel: pd.DataFrame, *,
                         group: str | None = None, name: str = "instance", crs: str | None = None) -> Instance:
    """The in-memory twin of :func:`load_instance`.

    Examples
    --------
    >>> import pandas as pd
    >>> inst = instance_from_frames(
    ...     pd.DataFrame({"id": ["d1"], "population": [10], "x": [0], "y": [0]}),
    ...     pd.DataFrame({"id": ["s1"], "cost": [2], "x": [1], "y": [0]}),
    ...     pd.DataFrame({"demand_id": ["d1"], "candidate_id": ["s1"], "minutes": [3]}))
    >>> inst.n_demand, inst.n_sites, len(inst.travel)
    (1, 1, 1)
    """
    d = demand_from_frame(demand, "demand", crs=crs)
    s = sites_from_frame(candidates, "candidates", crs=crs)
    check_same_crs(d, s)
    t = travel_from_frame(travel, d, s, "travel_times", group=group)
    return Instance(demand=d, sites=s, travel=t, name=name)
