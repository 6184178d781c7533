"""Loaders: files or data frames -> validated :class:`Demand`, :class:`Sites`, :class:`TravelTimes`.

Formats (chosen by suffix): CSV, Parquet (plain or GeoParquet), GeoPackage, GeoJSON; travel
times are CSV or Parquet only. Every problem is raised as a one-line
:class:`~siting.errors.InputError` naming the file, the row (CSV: spreadsheet row, header =
row 1, first data row = row 2; other formats and in-memory frames: ``feature N``, 1-based),
the id when known, and the column. See ``docs/INPUTS.md``.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ._read import RawTable, csv_header, drop_blank_rows, read_table, _check_file, _read_csv, _read_parquet, _crs_text
from ._validate import closest, fail, id_column, number_column, numeric_share, require_columns, _text
from .instance import Demand, Instance, SiteStatus, Sites, TravelTimes

__all__ = [
    "read_demand", "read_sites", "read_travel", "load_instance",
    "demand_from_frame", "sites_from_frame", "travel_from_frame", "instance_from_frames",
    "check_same_crs", "GeographicCRSWarning",
]

DEMAND_COLUMNS = ("id", "population")
SITE_COLUMNS = ("id", "cost")
TRAVEL_COLUMNS = ("demand_id", "candidate_id", "minutes")


class GeographicCRSWarning(UserWarning):
    """A layer uses degrees (e.g. EPSG:4326) where projected metres are expected."""


# --------------------------------------------------------------------------- positions
def _geometry_name(frame: pd.DataFrame) -> str | None:
    name = getattr(frame, "_geometry_column_name", None)
    return name if name is not None and name in frame.columns else None


def _positions(raw: RawTable, ids: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """x, y from a point geometry (when the layer has one) or from ``x``/``y`` columns."""
    geom_col = _geometry_name(raw.frame)
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
    if raw.crs is not None:
        _warn_geographic(raw)
    return geom.x.to_numpy(dtype=float), geom.y.to_numpy(dtype=float)


def _warn_geographic(raw: RawTable) -> None:
    try:
        from pyproj import CRS

        geographic = CRS.from_user_input(raw.crs).is_geographic
    except Exception:  # noqa: BLE001 - an unparseable CRS is reported by check_same_crs if it matters
        return
    if geographic:
        warnings.warn(
            f"{raw.source}: CRS {raw.crs} is geographic (degrees); maps and snapping expect metres, "
            "reproject to a projected CRS such as EPSG:32648 (UTM 48N, Chongqing)",
            GeographicCRSWarning, stacklevel=4,
        )


def _raw_from_frame(df: pd.DataFrame, source: str) -> RawTable:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame, got {type(df).__name__}", file=source)
    frame = df.reset_index(drop=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    crs = _crs_text(getattr(df, "crs", None)) if _geometry_name(frame) is not None else None
    return RawTable(frame, source, "feature", crs)


def _nonempty(raw: RawTable, what: str) -> None:
    if len(raw.frame) == 0:
        raise fail(raw, f"the {what} table has no rows")


def _extras(raw: RawTable, used: set[str]) -> list[str]:
    geom_col = _geometry_name(raw.frame)
    return [c for c in raw.frame.columns if c not in used and c not in (geom_col, "geometry")]


# --------------------------------------------------------------------------- demand
def _demand(raw: RawTable) -> Demand:
    require_columns(raw, DEMAND_COLUMNS, "demand")
    _nonempty(raw, "demand")
    ids = id_column(raw, "id")
    population = number_column(raw, "population", ids, what="population")
    x, y = _positions(raw, ids, "demand")
    groups: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    for column in _extras(raw, {"id", "population", "x", "y"}):
        if numeric_share(raw.frame[column]) >= 0.5:
            groups[column] = number_column(raw, column, ids, what="group count")
        else:
            labels[column] = _text(raw.frame[column]).to_numpy(dtype=object)
    return Demand(ids=ids, population=population, x=x, y=y, groups=groups, crs=raw.crs,
                  source=raw.source, labels=labels)


def demand_from_frame(df: pd.DataFrame, source: str = "demand") -> Demand:
    """Validate a demand table held in memory.

    Parameters
    ----------
    df : DataFrame with ``id``, ``population`` and ``x``/``y`` (or a GeoDataFrame of points).
        Extra columns that are mostly numeric become ``Demand.groups`` (non-negative counts,
        e.g. ``elderly``); other extra columns become ``Demand.labels`` (text, e.g. ``district``).
    source : name used in error messages

    Examples
    --------
    >>> import pandas as pd
    >>> d = demand_from_frame(pd.DataFrame({"id": [1, 2], "population": [10, 5],
    ...                                     "x": [0, 1], "y": [0, 0], "elderly": [2, 1]}))
    >>> d.ids.tolist(), d.groups["elderly"].tolist()
    (['1', '2'], [2.0, 1.0])
    """
    return _demand(_raw_from_frame(df, source))


def read_demand(path: str | Path) -> Demand:
    """Read and validate a demand layer (CSV, Parquet, GeoPackage or GeoJSON).

    Examples
    --------
    >>> read_demand("scenarios/example/demand.csv").population.sum()  # doctest: +SKIP
    """
    return _demand(read_table(path))


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
    return _status_array(pd.Index(_STATUS_VALUES).get_indexer(text))


def _sites(raw: RawTable) -> Sites:
    require_columns(raw, SITE_COLUMNS, "candidates")
    _nonempty(raw, "candidates")
    ids = id_column(raw, "id")
    status = _status(raw, ids)
    existing = status == SiteStatus.EXISTING
    cost = number_column(raw, "cost", ids, what="cost", allow_missing=existing)
    cost = np.where(existing, 0.0, cost)  # existing facilities are already paid for
    x, y = _positions(raw, ids, "candidates")
    optional: dict[str, np.ndarray | None] = {"capacity": None, "floor_area": None}
    for column in optional:
        if column in raw.frame.columns:
            optional[column] = number_column(raw, column, ids, what=column.replace("_", " "),
                                             allow_missing=True)
    extra: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    for column in _extras(raw, {"id", "cost", "x", "y", "status", "capacity", "floor_area"}):
        if numeric_share(raw.frame[column]) >= 0.5:
            extra[column] = number_column(raw, column, ids, allow_missing=True, minimum=None,
                                          allow_inf=True)
        else:
            labels[column] = _text(raw.frame[column]).to_numpy(dtype=object)
    return Sites(ids=ids, cost=cost, x=x, y=y, status=status, capacity=optional["capacity"],
                 floor_area=optional["floor_area"], extra=extra, crs=raw.crs, source=raw.source,
                 labels=labels)


def sites_from_frame(df: pd.DataFrame, source: str = "candidates") -> Sites:
    """Validate a candidate-site table held in memory.

    Parameters
    ----------
    df : DataFrame with ``id``, ``cost`` and ``x``/``y`` (or point geometry); optional
        ``status`` (candidate | existing | required | excluded; blank = candidate),
        ``capacity`` and ``floor_area`` (blank = unknown/unlimited). The cost of an
        ``existing`` site is forced to 0 (it may be blank). Other mostly-numeric columns go to
        ``Sites.extra``; other text columns (``name``, ``services``, ...) to ``Sites.labels``.
    source : name used in error messages

    Examples
    --------
    >>> import pandas as pd
    >>> s = sites_from_frame(pd.DataFrame({"id": ["a", "b"], "cost": [5, 9], "x": [0, 1],
    ...                                    "y": [0, 0], "status": ["existing", ""]}))
    >>> s.cost.tolist(), [str(v) for v in s.status]
    ([0.0, 9.0], ['existing', 'candidate'])
    """
    return _sites(_raw_from_frame(df, source))


def read_sites(path: str | Path) -> Sites:
    """Read and validate a candidates layer (CSV, Parquet, GeoPackage or GeoJSON).

    Examples
    --------
    >>> read_sites("scenarios/example/candidates.csv").ids.tolist()  # doctest: +SKIP
    """
    return _sites(read_table(path))


# --------------------------------------------------------------------------- travel times
class _IdView:
    """Row ids as ``uniques[codes]`` without building the full string array (for messages)."""

    def __init__(self, codes: np.ndarray, uniques: np.ndarray) -> None:
        self.codes, self.uniques = codes, uniques

    def __getitem__(self, pos: int) -> str:
        return str(self.uniques[self.codes[pos]])


def _map_ids(raw: RawTable, column: str, index: pd.Index, layer: str) -> tuple[np.ndarray, _IdView]:
    """Positions in ``index`` of the ids in ``column``: factorise first, so only distinct ids are mapped."""
    codes, uniques = pd.factorize(raw.frame[column], use_na_sentinel=True)
    text = _text(pd.Series(uniques)).to_numpy(dtype=object)
    blank = (codes < 0) | (text[np.maximum(codes, 0)] == "")
    if blank.any():
        raise fail(raw, "missing id", pos=int(np.flatnonzero(blank)[0]), column=column)
    ids = _IdView(codes, text)
    where = index.get_indexer(text)[codes]
    unknown = where < 0
    if unknown.any():
        pos = int(np.flatnonzero(unknown)[0])
        count = int(unknown.sum())
        more = f" ({count} rows with unknown ids)" if count > 1 else ""
        raise fail(raw, f"id '{ids[pos]}' is not in the {layer}{more}", pos=pos, row_id=ids[pos],
                   column=column)
    return where.astype(np.int64), ids


def _travel(raw: RawTable, demand: Demand, sites: Sites, group: str | None) -> TravelTimes:
    require_columns(raw, TRAVEL_COLUMNS, "travel-time")
    _nonempty(raw, "travel-time")
    if "group" in raw.frame.columns:
        groups = _text(raw.frame["group"])
        chosen = (groups == ("" if group is None else str(group))).to_numpy()
        if not chosen.any():
            present = sorted(set(groups.unique()) - {""})
            which = f"group '{group}'" if group is not None else "the default table (blank group)"
            raise fail(raw, f"no rows for {which}; groups present: {', '.join(present) or 'none'}",
                       column="group")
        if not chosen.all():
            raw = raw.subset(np.flatnonzero(chosen))
    elif group is not None:
        raise fail(raw, f"no 'group' column, so group '{group}' cannot be selected", column="group")
    i, d_ids = _map_ids(raw, "demand_id", pd.Index(demand.ids), f"demand layer {demand.source}")
    j, s_ids = _map_ids(raw, "candidate_id", pd.Index(sites.ids), f"candidates layer {sites.source}")
    minutes = number_column(raw, "minutes", d_ids, what="travel time", allow_inf=True)
    key = i * max(len(sites), 1) + j
    dup = pd.Index(key).duplicated(keep="first")
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero(key == key[pos])[0])
        raise fail(raw, f"duplicate pair (demand_id {d_ids[pos]}, candidate_id {s_ids[pos]}), "
                        f"first given at {raw.row_kind} {raw.row_number(first)}",
                   pos=pos, row_id=d_ids[pos], column="candidate_id")
    reachable = np.isfinite(minutes)  # inf = unreachable, same as a missing pair
    i, j, minutes = i[reachable], j[reachable], minutes[reachable]
    order = np.lexsort((j, i))
    return TravelTimes(demand_index=i[order], site_index=j[order], minutes=minutes[order],
                       n_demand=len(demand), n_sites=len(sites), source=raw.source)


def travel_from_frame(df: pd.DataFrame, demand: Demand, sites: Sites, source: str = "travel_times",
                      *, group: str | None = None) -> TravelTimes:
    """Validate a long travel-time table held in memory.

    Parameters
    ----------
    df : columns ``demand_id``, ``candidate_id``, ``minutes`` and optionally ``group``.
        A pair that is absent (or has ``minutes = inf``) is unreachable.
    group : with a ``group`` column, the rows of that group; None selects the rows whose
        group is blank (the default table)

    Examples
    --------
    >>> import pandas as pd
    >>> d = demand_from_frame(pd.DataFrame({"id": [1], "population": [3], "x": [0], "y": [0]}))
    >>> s = sites_from_frame(pd.DataFrame({"id": ["a"], "cost": [1], "x": [0], "y": [0]}))
    >>> t = travel_from_frame(pd.DataFrame({"demand_id": [1], "candidate_id": ["a"],
    ...                                     "minutes": [4.0]}), d, s)
    >>> t.within(5).toarray().tolist()
    [[True]]
    """
    return _travel(_raw_from_frame(df, source), demand, sites, group)


def read_travel(path: str | Path, demand: Demand, sites: Sites, *, group: str | None = None) -> TravelTimes:
    """Read a travel-time table (CSV or Parquet) and map its ids to positions.

    Examples
    --------
    >>> read_travel("scenarios/example/travel_times.csv", d, s)  # doctest: +SKIP
    """
    path = Path(path)
    source = str(path)
    _check_file(path, source)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        header = csv_header(path, source)
        raw = RawTable(pd.DataFrame(columns=header), source, "row")
        require_columns(raw, TRAVEL_COLUMNS, "travel-time")
        wanted = [c for c in (*TRAVEL_COLUMNS, "group") if c in header]
        frame = _read_csv(path, source, ["demand_id", "candidate_id", "group"], usecols=wanted)
        raw = drop_blank_rows(RawTable(frame, source, "row"))
    elif suffix in (".parquet", ".pq"):
        frame, _ = _read_parquet(path, source)
        raw = RawTable(pd.DataFrame(frame), source, "feature")
    else:
        raise InputError(f"unsupported file format '{suffix or path.name}' for travel times "
                         "(use .csv or .parquet)", file=source)
    return _travel(raw, demand, sites, group)


# --------------------------------------------------------------------------- instance
def check_same_crs(demand: Demand, sites: Sites) -> None:
    """Raise when both layers declare a CRS and they differ (layers without a CRS are not compared).

    Examples
    --------
    >>> check_same_crs(d, s)  # doctest: +SKIP
    """
    if demand.crs is None or sites.crs is None or demand.crs == sites.crs:
        return
    try:
        from pyproj import CRS

        if CRS.from_user_input(demand.crs) == CRS.from_user_input(sites.crs):
            return
    except Exception:  # noqa: BLE001 - unparseable CRS text: fall back to the text comparison
        pass
    raise InputError(f"CRS mismatch: candidates layer is {sites.crs} but demand layer {demand.source} "
                     f"is {demand.crs}; reproject one layer so both use the same CRS",
                     file=sites.source, column="geometry")


def load_instance(demand_path: str | Path, candidates_path: str | Path, travel_path: str | Path, *,
                  group: str | None = None, name: str | None = None) -> Instance:
    """Read the three tables and return a validated :class:`Instance`.

    Examples
    --------
    >>> inst = load_instance("scenarios/example/demand.csv", "scenarios/example/candidates.csv",
    ...                      "scenarios/example/travel_times.csv")  # doctest: +SKIP
    """
    demand = read_demand(demand_path)
    sites = read_sites(candidates_path)
    check_same_crs(demand, sites)
    travel = read_travel(travel_path, demand, sites, group=group)
    return Instance(demand=demand, sites=sites, travel=travel, name=name or "instance")


def instance_from_frames(demand: pd.DataFrame, candidates: pd.DataFrame, travel: pd.DataFrame, *,
                         group: str | None = None, name: str = "instance") -> Instance:
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
    d = demand_from_frame(demand, "demand")
    s = sites_from_frame(candidates, "candidates")
    check_same_crs(d, s)
    t = travel_from_frame(travel, d, s, "travel_times", group=group)
    return Instance(demand=d, sites=s, travel=t, name=name)
