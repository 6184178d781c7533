"""Travel-time tables: a long ``demand_id, candidate_id, minutes`` table -> :class:`TravelTimes`.

CSV or Parquet only. Ids are matched as text against the demand and candidate layers (factorised
first, so only distinct ids are looked up); a pair that is absent or has ``minutes = inf`` is
unreachable. Every problem is a one-line :class:`~siting.errors.InputError` (see ``siting.data.load``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ._read import RawTable, _check_file, _read_csv, _read_parquet, csv_header, drop_blank_rows, raw_from_frame
from ._validate import _text, fail, number_column, require_columns, require_rows
from .instance import Demand, Sites, TravelTimes

__all__ = ["read_travel", "travel_from_frame", "TRAVEL_COLUMNS"]

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


def _travel(raw: RawTable, demand: Demand, sites: Sites, group: str | None) -> TravelTimes:
    require_columns(raw, TRAVEL_COLUMNS, "travel-time")
    require_rows(raw, "travel-time")
    present: list[str] = []
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
                       n_demand=len(demand), n_sites=len(sites), source=raw.source, groups=tuple(present))


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
    >>> from siting.data import demand_from_frame, sites_from_frame
    >>> d = demand_from_frame(pd.DataFrame({"id": [1], "population": [3], "x": [0], "y": [0]}))
    >>> s = sites_from_frame(pd.DataFrame({"id": ["a"], "cost": [1], "x": [0], "y": [0]}))
    >>> t = travel_from_frame(pd.DataFrame({"demand_id": [1], "candidate_id": ["a"],
    ...                                     "minutes": [4.0]}), d, s)
    >>> t.within(5).toarray().tolist()
    [[True]]
    """
    return _travel(raw_from_frame(df, source), demand, sites, group)


def read_travel(path: str | Path, demand: Demand, sites: Sites, *, group: str | None = None) -> TravelTimes:
    """Read a travel-time table (CSV or Parquet) and map its ids to positions.

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
    return _travel(raw, demand, sites, group)
