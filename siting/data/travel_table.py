"""Travel-time tables: a long ``demand_id, candidate_id, minutes`` table -> :class:`TravelTimes`.

CSV or Parquet only. Ids are matched as text against the demand and candidate layers (factorised
first, so only distinct ids are looked up); a pair that is absent or has ``minutes = inf`` is
unreachable. Every problem is a one-line :class:`~siting.errors.InputError` (see ``siting.data.load``).

A table computed by siting (``siting travel``, the ``[network]`` cache) records how: the search cutoff and the
speed groups (:func:`travel_metadata`; Parquet key-value metadata, or the sidecar ``<table>.csv.json`` of a
CSV). Reading keeps them on :class:`TravelTimes` (``cutoff_min``, ``speeds_m_s``), so a threshold above the
cutoff is a one-line error (:func:`check_thresholds`) instead of walks silently counted as unreachable. A table
without that metadata (made by another tool) is read as before: nothing can tell its cutoff.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..io import read_table_metadata
from ._read import RawTable, _check_file, _read_csv, _read_parquet, csv_header, drop_blank_rows, raw_from_frame
from ._validate import _text, fail, number_column, require_columns, require_rows
from .instance import Demand, Sites, TravelTimes

__all__ = ["read_travel", "travel_from_frame", "TRAVEL_COLUMNS", "travel_metadata", "check_thresholds",
           "unreachable_demand", "unreachable_summary", "FIRST_IDS"]

#: how many ids of unreachable demand points a summary (solution.json, messages) lists
FIRST_IDS = 10

TRAVEL_COLUMNS = ("demand_id", "candidate_id", "minutes")


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
    where = index.get_indexer(pd.Index(text))[codes]
    unknown = where < 0
    if unknown.any():
        pos = int(np.flatnonzero(unknown)[0])
        count = int(unknown.sum())
        more = f" ({count} rows with unknown ids)" if count > 1 else ""
        raise fail(raw, f"id '{ids[pos]}' is not in the {layer}{more}", pos=pos, row_id=ids[pos],
                   column=column)
    return where.astype(np.int64), ids


def travel_metadata(cutoff_min: float, speeds_m_s: Mapping[str, float], rows: int,
                    **settings: Any) -> dict[str, Any]:
    """What a table computed by siting records about itself (stored by the writer, read by :func:`read_travel`).

    Parameters
    ----------
    cutoff_min : float
        The search cutoff: pairs slower than this are missing from the table.
    speeds_m_s : mapping
        Walking speed of each speed group, in the order of the table (the first is the default rows).
    rows : int
        Rows written: a CSV sidecar whose count disagrees with its table (edited by hand since) is ignored.
    **settings
        Further JSON-ready facts (slope, stairs factor, snapping distance, network file), kept for readers.

    Examples
    --------
    >>> travel_metadata(15, {"adult": 1.0, "elderly": 0.76}, rows=3)["speeds_m_s"]
    {'adult': 1.0, 'elderly': 0.76}
    """
    return {"kind": "travel_times", "cutoff_min": float(cutoff_min),
            "speeds_m_s": {str(k): float(v) for k, v in speeds_m_s.items()}, "rows": int(rows), **settings}


def _limits(meta: Any, rows: int | None) -> tuple[float | None, tuple[tuple[str, float], ...]]:
    """(cutoff_min, speeds) from a table's metadata; (None, ()) when absent, malformed or stale."""
    if not isinstance(meta, Mapping) or meta.get("kind") != "travel_times":
        return None, ()
    if rows is not None and meta.get("rows") is not None and meta.get("rows") != rows:
        return None, ()        # the table changed since siting wrote it: its cutoff no longer describes it
    cutoff: Any = meta.get("cutoff_min")
    ok = isinstance(cutoff, (int, float)) and not isinstance(cutoff, bool) and np.isfinite(cutoff) and cutoff > 0
    speeds = meta.get("speeds_m_s")
    pairs = tuple((str(k), float(v)) for k, v in speeds.items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool)) if isinstance(speeds, Mapping) else ()
    return (float(cutoff) if ok else None), pairs


def _travel(raw: RawTable, demand: Demand, sites: Sites, group: str | None, meta: Any = None) -> TravelTimes:
    require_columns(raw, TRAVEL_COLUMNS, "travel-time")
    require_rows(raw, "travel-time")
    present: list[str] = []
    cutoff_min, speeds = _limits(meta, len(raw.frame))
    if "group" in raw.frame.columns:
        groups = _text(raw.frame["group"])
        chosen = (groups == ("" if group is None else str(group))).to_numpy()
        present = sorted(set(groups.unique()) - {""})
        if not chosen.any():
            which = f"group '{group}'" if group is not None else "the default table (blank group)"
            raise fail(raw, f"no rows for {which}; groups present: {', '.join(present) or 'none'}",
                       column="group")
        if not chosen.all():
            raw = raw.subset(np.flatnonzero(chosen))
    elif group is not None:
        raise fail(raw, f"no 'group' column, so group '{group}' cannot be selected", column="group")
    i, d_ids = _map_ids(raw, "demand_id", pd.Index(demand.ids), f"demand layer {demand.source}")
    j, s_ids = _map_ids(raw, "candidate_id", pd.Index(sites.ids), f"candidates layer {sites.source}")
    minutes = number_column(raw, "minutes", d_ids, what="travel time", allow_inf=True)  # type: ignore[arg-type]
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
                       n_demand=len(demand), n_sites=len(sites), source=raw.source, groups=tuple(present),
                       cutoff_min=cutoff_min, speeds_m_s=speeds)


def travel_from_frame(df: pd.DataFrame, demand: Demand, sites: Sites, source: str = "travel_times",
                      *, group: str | None = None) -> TravelTimes:
    """Validate a long travel-time table held in memory.

    Parameters
    ----------
    df : columns ``demand_id``, ``candidate_id``, ``minutes`` and optionally ``group``.
        A pair that is absent (or has ``minutes = inf``) is unreachable.
    group : with a ``group`` column, the rows of that group; None selects the rows whose
        group is blank (the default table)

    ``df.attrs["siting"]``, when it holds :func:`travel_metadata`, gives the table's cutoff and speeds.

    Examples
    --------
    >>> import pandas as pd
    >>> from siting.data import demand_from_frame, sites_from_frame
    >>> d = demand_from_frame(pd.DataFrame({"id": [1], "population": [3], "x": [0], "y": [0]}))
    >>> s = sites_from_frame(pd.DataFrame({"id": ["a"], "cost": [1], "x": [0], "y": [0]}))
    >>> t = travel_from_frame(pd.DataFrame({"demand_id": [1], "candidate_id": ["a"],
    ...                                     "minutes": [4.0]}), d, s)
    >>> t.within(5).toarray().tolist()
    [[True]]
    """
    return _travel(raw_from_frame(df, source), demand, sites, group, df.attrs.get("siting"))


def read_travel(path: str | Path, demand: Demand, sites: Sites, *, group: str | None = None) -> TravelTimes:
    """Read a travel-time table (CSV or Parquet) and map its ids to positions.

    The table's metadata (:func:`travel_metadata`, written by siting) sets ``cutoff_min`` and ``speeds_m_s``
    of the result; without it they are None and ``()``.

    Examples
    --------
    >>> from siting.data.load import read_demand, read_sites
    >>> d, s = read_demand("scenarios/example/demand.csv"), read_sites("scenarios/example/candidates.csv")
    >>> t = read_travel("scenarios/example/travel_times.csv", d, s)
    >>> len(t), t.n_demand, t.n_sites
    (57, 12, 6)
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
        # every column is read (no usecols) because pandas then checks that no row is longer than the header
        frame = _read_csv(path, source, ["demand_id", "candidate_id", "group"])
        raw = drop_blank_rows(RawTable(frame[wanted], source, "row"))
    elif suffix in (".parquet", ".pq"):
        frame, _ = _read_parquet(path, source)
        raw = RawTable(pd.DataFrame(frame), source, "feature")
    else:
        raise InputError(f"unsupported file format '{suffix or path.name}' for travel times "
                         "(use .csv or .parquet)", file=source)
    return _travel(raw, demand, sites, group, read_table_metadata(path))


def check_thresholds(tables: Iterable[TravelTimes], thresholds: Mapping[str, float]) -> None:
    """Refuse a threshold above the cutoff a travel table was computed with.

    Pairs slower than the cutoff are missing from such a table, so with a larger threshold the walks between
    the two would count as unreachable and coverage would be silently under-counted.

    Parameters
    ----------
    tables : iterable of TravelTimes
        The tables a model walks on (the default one and any speed group's); those without a known cutoff
        are not checked.
    thresholds : mapping
        ``{scenario key: minutes}`` (``ModelParams.thresholds_min()``): ``threshold_minutes``,
        ``services.<key>.threshold_minutes``, ...

    Raises
    ------
    InputError
        naming the key, both numbers and the table's file.

    Examples
    --------
    >>> t = TravelTimes(np.array([0]), np.array([0]), np.array([3.0]), 1, 1, source="t.parquet", cutoff_min=10.0)
    >>> check_thresholds([t], {"threshold_minutes": 15})
    Traceback (most recent call last):
    ...
    siting.errors.InputError: t.parquet: model.threshold_minutes = 15 min is above the 10 min cutoff this table was computed with (slower walks are missing from it and would count as unreachable); recompute it with a cutoff of at least 15 min (siting travel --cutoff 15, or network.cutoff_minutes) or lower the threshold
    """
    for table in tables:
        cutoff = table.cutoff_min
        if cutoff is None:
            continue
        for key, minutes in thresholds.items():
            if minutes > cutoff * (1.0 + 1e-9):
                name = key if "." in key else f"model.{key}"
                raise InputError(f"{name} = {minutes:g} min is above the {cutoff:g} min cutoff this table was "
                                 "computed with (slower walks are missing from it and would count as "
                                 f"unreachable); recompute it with a cutoff of at least {minutes:g} min "
                                 f"(siting travel --cutoff {minutes:g}, or network.cutoff_minutes) or lower the "
                                 "threshold", file=table.source)


def unreachable_demand(travel: TravelTimes, usable: np.ndarray | None = None,
                       weight: np.ndarray | None = None) -> np.ndarray:
    """Positions of the demand points with no pair in ``travel`` to a ``usable`` site (any site when None).

    With ``weight``, only points of positive weight count (a point nobody lives at needs no site).

    Examples
    --------
    >>> t = TravelTimes(np.array([0, 2]), np.array([1, 0]), np.array([3.0, 4.0]), 3, 2)
    >>> unreachable_demand(t).tolist(), unreachable_demand(t, np.array([True, False])).tolist()
    ([1], [0, 1])
    >>> unreachable_demand(t, weight=np.array([1.0, 0.0, 2.0])).tolist()
    []
    """
    keep = np.ones(len(travel), bool) if usable is None else np.asarray(usable, bool)[travel.site_index]
    lost = np.ones(travel.n_demand, dtype=bool)
    lost[travel.demand_index[keep]] = False
    if weight is not None:
        lost &= np.asarray(weight, float) > 0
    return np.flatnonzero(lost)


def unreachable_summary(positions: np.ndarray, demand: Demand, weight: np.ndarray | None = None
                        ) -> dict[str, Any]:
    """``{"count", "weight", "first_ids"}`` of unreachable demand points, for ``solution.json``.

    Examples
    --------
    >>> d = Demand(ids=np.array(["a", "b"]), population=np.array([5.0, 7.0]), x=np.zeros(2), y=np.zeros(2))
    >>> unreachable_summary(np.array([1]), d)
    {'count': 1, 'weight': 7.0, 'first_ids': ['b']}
    """
    positions = np.asarray(positions, dtype=np.int64)
    w = demand.population if weight is None else np.asarray(weight, float)
    return {"count": int(positions.size), "weight": float(w[positions].sum()),
            "first_ids": [str(v) for v in demand.ids[positions[:FIRST_IDS]]]}
