"""Reading tables from disk into a :class:`RawTable` (frame + where each row came from).

Every user-facing failure here is an :class:`~siting.errors.InputError` naming the file.
Nothing is validated beyond "the file exists and can be parsed"; column and value checks
live in :mod:`siting.data._validate` and :mod:`siting.data.load`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["RawTable", "read_table", "drop_blank_rows", "TABLE_SUFFIXES", "VECTOR_SUFFIXES"]

TABLE_SUFFIXES = (".csv", ".txt", ".parquet", ".pq")
VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json")
_ALL = (".csv", ".parquet", ".gpkg", ".geojson")


@dataclass(frozen=True)
class RawTable:
    """A table as read, before validation.

    frame : pandas (or geopandas) frame; for CSV every cell is a string (``""`` when empty)
    source : the file name shown in messages (or a label such as ``"demand"`` for frames)
    row_kind : ``"row"`` (CSV: spreadsheet row, header = row 1) or ``"feature"`` (1-based record)
    crs : the layer's CRS as text (``"EPSG:32648"``), or None
    """

    frame: pd.DataFrame
    source: str
    row_kind: str = "feature"
    crs: str | None = None
    positions: np.ndarray | None = None  # original 0-based positions when ``frame`` is a row subset

    def row_number(self, position: int) -> int:
        """The number a user sees for the 0-based ``position``: CSV row (header = 1) or feature (1-based)."""
        if self.positions is not None:
            position = int(self.positions[position])
        return int(position) + (2 if self.row_kind == "row" else 1)

    def subset(self, positions: np.ndarray) -> "RawTable":
        """The rows at ``positions``, still numbered as in the file."""
        base = positions if self.positions is None else self.positions[positions]
        frame = self.frame.iloc[positions].reset_index(drop=True)
        return RawTable(frame, self.source, self.row_kind, self.crs, np.asarray(base, dtype=np.int64))


def drop_blank_rows(raw: RawTable) -> RawTable:
    """Drop CSV lines that are entirely empty, keeping the file's row numbers for the others."""
    frame = raw.frame
    if frame.shape[1] == 0 or len(frame) == 0:
        return raw
    cells = frame.astype(object)
    empty = (cells.isna() | (cells == "")).all(axis=1).to_numpy()
    return raw.subset(np.flatnonzero(~empty)) if empty.any() else raw


def _check_file(path: Path, source: str) -> None:
    if not path.exists():
        raise InputError(f"file not found: {path.resolve()}", file=source)
    if path.is_dir():
        raise InputError("is a folder, expected a file", file=source)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _read_csv(path: Path, source: str, text_columns: Sequence[str] | None, usecols=None) -> pd.DataFrame:
    """CSV with ``text_columns`` kept verbatim (``None`` = every column as text)."""
    last: Exception | None = None
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China often saves GBK/GB18030
        try:
            if text_columns is None:
                frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding,
                                    skipinitialspace=True, skip_blank_lines=False)
            else:
                # keep_default_na=False: an id "NA" stays an id; blank numbers are caught later
                frame = pd.read_csv(path, dtype={c: str for c in text_columns}, encoding=encoding,
                                    usecols=usecols, skipinitialspace=True, skip_blank_lines=False,
                                    keep_default_na=False)
            frame.columns = [str(c).strip() for c in frame.columns]
            return frame
        except UnicodeDecodeError as exc:
            last = exc
            continue
        except pd.errors.EmptyDataError:
            raise InputError("the file is empty (no header line)", file=source) from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputError(f"cannot read as CSV: {_one_line(exc)}", file=source) from None
    raise InputError(f"cannot decode text (tried UTF-8 and GB18030): {_one_line(last)}", file=source)


def csv_header(path: Path, source: str) -> list[str]:
    """Column names of a CSV file (reads only the header line)."""
    _check_file(path, source)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            head = pd.read_csv(path, nrows=0, encoding=encoding)
            return [str(c).strip() for c in head.columns]
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise InputError("the file is empty (no header line)", file=source) from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputError(f"cannot read as CSV: {_one_line(exc)}", file=source) from None
    raise InputError("cannot decode text (tried UTF-8 and GB18030)", file=source)


def _crs_text(crs) -> str | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else crs.to_string()


def _read_parquet(path: Path, source: str, columns=None) -> tuple[pd.DataFrame, str | None]:
    try:
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
    except Exception as exc:  # noqa: BLE001 - any parse failure is a user-facing format problem
        raise InputError(f"cannot read as Parquet: {_one_line(exc)}", file=source) from None
    try:
        if b"geo" in meta:
            import geopandas as gpd

            frame = gpd.read_parquet(path, columns=columns)
            return frame, _crs_text(frame.crs)
        return pd.read_parquet(path, columns=columns), None
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"cannot read as Parquet: {_one_line(exc)}", file=source) from None


def _read_vector(path: Path, source: str) -> tuple[pd.DataFrame, str | None]:
    try:
        import geopandas as gpd

        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001
        kind = "GeoPackage" if path.suffix.lower() == ".gpkg" else "GeoJSON"
        raise InputError(f"cannot read as {kind}: {_one_line(exc)}", file=source) from None
    crs = _crs_text(frame.crs) if "geometry" in frame.columns else None
    return frame, crs


def read_table(path: str | Path, *, text_columns: Sequence[str] | None = None,
               geometry: bool = True) -> RawTable:
    """Read a CSV, Parquet, GeoPackage or GeoJSON file.

    Parameters
    ----------
    path : file to read; the format is chosen by its suffix
    text_columns : for CSV, the columns read as text (ids); ``None`` reads every CSV column as text
    geometry : whether vector formats are allowed (travel tables: no)

    Examples
    --------
    >>> read_table("scenarios/example/demand.csv").row_number(0)  # doctest: +SKIP
    2
    """
    path = Path(path)
    source = str(path)
    _check_file(path, source)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return drop_blank_rows(RawTable(_read_csv(path, source, text_columns), source, "row", None))
    if suffix in (".parquet", ".pq"):
        frame, crs = _read_parquet(path, source)
        return RawTable(frame, source, "feature", crs)
    if suffix in VECTOR_SUFFIXES and geometry:
        frame, crs = _read_vector(path, source)
        return RawTable(frame, source, "feature", crs)
    allowed = ", ".join(_ALL if geometry else (".csv", ".parquet"))
    raise InputError(f"unsupported file format '{suffix or path.name}' (use {allowed})", file=source)
