"""Reading tables from disk into a :class:`RawTable` (frame + where each row came from).

Every user-facing failure here is an :class:`~siting.errors.InputError` naming the file.
Nothing is validated beyond "the file exists and can be parsed"; column and value checks
live in :mod:`siting.data._validate` and :mod:`siting.data.load`.
"""
from __future__ import annotations

import csv
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["RawTable", "read_table", "raw_from_frame", "geometry_name", "drop_blank_rows", "csv_header",
           "unique_names", "crs_text", "same_crs", "map_columns", "layer_columns", "TABLE_SUFFIXES",
           "VECTOR_SUFFIXES"]

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

    def subset(self, positions: np.ndarray) -> RawTable:
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


_ENCODINGS = ("utf-8-sig", "gb18030")  # Excel in China often saves GBK/GB18030


def unique_names(names: Sequence[object], source: str, where: str) -> list[str]:
    """Column names as stripped text; a name that occurs twice is an error.

    pandas renames a repeated CSV column ``minutes.1`` and parquet readers refuse or keep one of
    them, so a repeated name would otherwise be read silently as two different columns (or one).

    Examples
    --------
    >>> unique_names([" id", 2], "t.csv", "header")
    ['id', '2']
    """
    texts = [str(name).strip() for name in names]
    first: dict[str, int] = {}
    for number, name in enumerate(texts, start=1):  # loops over columns, not rows
        if name in first:
            raise InputError(f"appears twice in the {where} (columns {first[name]} and {number}); "
                             "rename or drop one", file=source, column=name)
        first[name] = number
    return texts


def _clean_columns(frame: pd.DataFrame, source: str, where: str) -> pd.DataFrame:
    """``frame`` with stripped, unique column names (the active geometry column keeps its name)."""
    names = unique_names(list(frame.columns), source, where)
    geom_col = getattr(frame, "_geometry_column_name", None)
    names = [str(c) if c == geom_col else n for c, n in zip(frame.columns, names, strict=False)]
    if names != list(frame.columns):
        frame.columns = names
    return frame


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _first_long_row(path: Path, encoding: str, width: int) -> tuple[int, int] | None:
    """(spreadsheet row, field count) of the first record with more than ``width`` fields.

    Only called once pandas has complained, so a plain Python scan costs nothing on good files.
    """
    with open(path, newline="", encoding=encoding) as handle:
        reader = csv.reader(handle, skipinitialspace=True)
        next(reader, None)
        for record in reader:
            if len(record) > width:
                return reader.line_num, len(record)
    return None


def csv_header(path: Path, source: str) -> list[str]:
    """Column names of a CSV file as written on its first line (stripped, each at most once)."""
    _check_file(path, source)
    for encoding in _ENCODINGS:
        try:
            head = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False,
                               encoding=encoding, skipinitialspace=True, index_col=False,
                               skip_blank_lines=False)
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            cells = []  # an empty file, or one whose first line is blank
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputError(f"cannot read as CSV: {_one_line(exc)}", file=source) from None
        else:
            cells = head.iloc[0].tolist() if len(head) else []
        if not any(str(c).strip() for c in cells):
            with open(path, "rb") as handle:  # the first 64 kB tell a blank first line from an empty file
                text = handle.read(65536).removeprefix(b"\xef\xbb\xbf")
            if text.strip():
                raise InputError("line 1 is empty; the column names must be on the first line", file=source)
            raise InputError("the file is empty (no header line)", file=source)
        # an empty name (a trailing comma) gets the name pandas would give it
        cells = [c if str(c).strip() else f"Unnamed: {k}" for k, c in enumerate(cells)]
        names = unique_names(cells, source, "header")
        if len(names) == 1:
            separator = next((s for s in (";", "\t", "|") if s in names[0]), None)
            if separator is not None:
                shown = "tab" if separator == "\t" else f"'{separator}'"
                raise InputError(f"the header is one column '{names[0]}': the file uses {shown} "
                                 "between values; save it comma-separated (CSV)", file=source)
        return names
    raise InputError("cannot decode text (tried UTF-8 and GB18030)", file=source)


def _too_many_fields(path: Path, source: str, encoding: str, width: int, exc: Exception) -> InputError:
    found = _first_long_row(path, encoding, width)
    if found is None:
        return InputError(f"cannot read as CSV: {_one_line(exc)}", file=source)
    row, fields = found
    return InputError(f"{fields} fields but the header has {width}; quote values that contain a comma "
                      "(\"1,200\") and write decimals with '.'", file=source, row=row)


def _read_csv(path: Path, source: str, text_columns: Sequence[str] | None) -> pd.DataFrame:
    """CSV with ``text_columns`` kept verbatim (``None`` = every column as text).

    Every row must have at most as many fields as the header: pandas would otherwise take the
    first field of each row as an index (shifting all values one column to the left) or drop the
    extra fields (an unquoted decimal comma ``9,5`` read as 9).
    """
    header = csv_header(path, source)
    dtype = str if text_columns is None else {c: str for c in text_columns if c in header}
    last: Exception | None = None
    for encoding in _ENCODINGS:
        try:
            with warnings.catch_warnings():
                # "Length of header ... does not match length of data": rows longer than the header
                warnings.simplefilter("error", pd.errors.ParserWarning)
                # keep_default_na=False: an id "NA" stays an id; blank numbers are caught later
                # names=header: the stripped names, so ``dtype`` applies even to 'id ' written with a blank
                return pd.read_csv(path, header=0, names=header, dtype=dtype, encoding=encoding,
                                   index_col=False, skipinitialspace=True, skip_blank_lines=False,
                                   keep_default_na=False)
        except UnicodeDecodeError as exc:
            last = exc
            continue
        except pd.errors.EmptyDataError:
            raise InputError("the file is empty (no header line)", file=source) from None
        except (pd.errors.ParserWarning, pd.errors.ParserError) as exc:
            raise _too_many_fields(path, source, encoding, len(header), exc) from None
        except ValueError as exc:
            raise InputError(f"cannot read as CSV: {_one_line(exc)}", file=source) from None
    reason = _one_line(last) if last is not None else "unknown encoding"
    raise InputError(f"cannot decode text (tried UTF-8 and GB18030): {reason}", file=source)


def read_csv_text(path: Path, source: str) -> pd.DataFrame:
    """A CSV with every column as text (UTF-8, else GB18030); problems are one-line :class:`InputError`."""
    return _read_csv(Path(path), source, None)


def _crs_text(crs: Any) -> str | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg is not None else crs.to_string()


def crs_text(value: Any, source: str) -> str:
    """``value`` (``"epsg:32648"``, a pyproj CRS, WKT, ...) as the text layers carry (``"EPSG:32648"``).

    An unknown CRS is a one-line :class:`InputError` naming ``source``.

    Examples
    --------
    >>> crs_text("epsg:32648", "scenario")
    'EPSG:32648'
    """
    from pyproj import CRS

    try:
        crs = CRS.from_user_input(value.strip() if isinstance(value, str) else value)
    except Exception:  # noqa: BLE001 - pyproj's CRSError spans several lines
        raise InputError(f"unknown CRS {value!r} (give e.g. \"EPSG:32648\" or \"EPSG:4326\")", file=source) from None
    return _crs_text(crs) or crs.to_string()


def same_crs(a: str, b: str) -> bool:
    """Whether two CRS texts name the same CRS (pyproj equality; equal text when pyproj cannot parse one).

    Examples
    --------
    >>> same_crs("EPSG:32648", "epsg:32648"), same_crs("EPSG:32648", "EPSG:4326")
    (True, False)
    """
    if a == b:
        return True
    try:
        from pyproj import CRS

        return bool(CRS.from_user_input(a) == CRS.from_user_input(b))
    except Exception:  # noqa: BLE001 - unparseable CRS text: only equal text is the same CRS
        return a.strip().upper() == b.strip().upper()


def _read_parquet(path: Path, source: str, columns: list[str] | None = None) -> tuple[pd.DataFrame, str | None]:
    try:
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a user-facing format problem
        raise InputError(f"cannot read as Parquet: {_one_line(exc)}", file=source) from None
    unique_names(schema.names, source, "file")  # pyarrow's own message would not name the column
    try:
        if b"geo" in (schema.metadata or {}):
            import geopandas as gpd

            frame = gpd.read_parquet(path, columns=columns)
            return _clean_columns(frame, source, "file"), _crs_text(frame.crs)
        return _clean_columns(pd.read_parquet(path, columns=columns), source, "file"), None
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"cannot read as Parquet: {_one_line(exc)}", file=source) from None


class _RepeatedKey(Exception):
    def __init__(self, feature: int, key: str) -> None:
        super().__init__(key)
        self.feature, self.key = feature, key


def _check_geojson_keys(path: Path, source: str, frame: pd.DataFrame) -> None:
    """Raise when a feature repeats a property key (GDAL keeps the last value silently).

    Fast path: when every property key occurs exactly once per feature in the text and no value
    came back missing, no key can be repeated. Otherwise a JSON parse with a pairs hook finds the
    first repeat: inner objects are built first, so when a feature's ``properties`` repeat a key,
    the features counted so far are the ones before it.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return  # the GeoJSON reader has already read it; nothing more to check in plain text
    geom_col = getattr(frame, "_geometry_column_name", None)
    properties = [c for c in frame.columns if c != geom_col]
    if all(text.count(json.dumps(str(c), ensure_ascii=False) + ":") == len(frame)
           and not frame[c].isna().any() for c in properties):
        return
    features_done = 0

    def pairs_hook(pairs: list) -> dict:
        nonlocal features_done
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:  # only on the error path
                if key in seen:
                    raise _RepeatedKey(features_done + 1, key)
                seen.add(key)
        if obj.get("type") == "Feature":
            features_done += 1
        return obj

    try:
        json.loads(text, object_pairs_hook=pairs_hook)
    except _RepeatedKey as rep:
        raise InputError("appears twice in the properties of this feature (a GeoJSON reader keeps only "
                         "the last value); rename or drop one", file=source, feature=rep.feature,
                         column=rep.key) from None
    except (ValueError, UnicodeDecodeError):
        return  # not plain JSON text: the GeoJSON reader reports it


def _read_vector(path: Path, source: str) -> tuple[pd.DataFrame, str | None]:
    try:
        import geopandas as gpd

        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001
        kind = "GeoPackage" if path.suffix.lower() == ".gpkg" else "GeoJSON"
        raise InputError(f"cannot read as {kind}: {_one_line(exc)}", file=source) from None
    if path.suffix.lower() in (".geojson", ".json"):
        _check_geojson_keys(path, source, frame)
    crs = _crs_text(frame.crs) if "geometry" in frame.columns else None
    return _clean_columns(frame, source, "layer"), crs


def geometry_name(frame: pd.DataFrame) -> str | None:
    """Name of the active geometry column of a (geo)pandas frame, or None."""
    name = getattr(frame, "_geometry_column_name", None)
    return name if name is not None and name in frame.columns else None


def raw_from_frame(df: pd.DataFrame, source: str) -> RawTable:
    """An in-memory frame as a :class:`RawTable` (``feature N`` rows, stripped unique column names)."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame, got {type(df).__name__}", file=source)
    frame = _clean_columns(df.reset_index(drop=True), source, "frame")
    crs = _crs_text(getattr(df, "crs", None)) if geometry_name(frame) is not None else None
    return RawTable(frame, source, "feature", crs)


def layer_columns(columns: Mapping[str, Any] | None, layer: str) -> dict[str, str]:
    """The ``[data.columns]`` mapping for ``layer`` (``"demand"`` or ``"candidates"``).

    Plain entries (``population = "pop"``) apply to both layers; a sub-table ``[data.columns.demand]`` or
    ``[data.columns.candidates]`` adds or overrides entries for that layer only.

    Examples
    --------
    >>> layer_columns({"id": "gid", "candidates": {"id": "bldg_id"}}, "candidates")
    {'id': 'bldg_id'}
    """
    out = {k: v for k, v in (columns or {}).items() if isinstance(v, str)}
    own = (columns or {}).get(layer)
    if isinstance(own, Mapping):
        out.update({k: v for k, v in own.items() if isinstance(v, str)})
    return out


def map_columns(raw: RawTable, mapping: Mapping[str, str]) -> RawTable:
    """``raw`` with its columns renamed to the names siting reads (``{"population": "pop"}``: read ``pop``).

    An entry whose column is not in this layer is skipped (the caller reports a column that is required); a
    layer that has both the mapped column and a column of the target name is an error (which one is meant
    would be a guess).

    Examples
    --------
    >>> raw = RawTable(pd.DataFrame({"gid": ["a"], "pop": [3]}), "d.csv", "row")
    >>> list(map_columns(raw, {"id": "gid", "population": "pop", "elderly": "age65"}).frame.columns)
    ['id', 'population']
    """
    present = set(raw.frame.columns)
    rename: dict[str, str] = {}
    geom_col = getattr(raw.frame, "_geometry_column_name", None)
    for target, column in mapping.items():  # loops over mapped columns, not rows
        if column not in present or column == target:
            continue
        if column == geom_col:
            raise InputError(f"[data.columns] {target} = \"{column}\" names the geometry column", file=raw.source,
                             column=column)
        if target in present:
            raise InputError(f"[data.columns] {target} = \"{column}\" but the layer also has a column "
                             f"'{target}'; drop or rename one", file=raw.source, column=target)
        rename[column] = target
    if not rename:
        return raw
    targets = list(rename.values())
    if len(set(targets)) < len(targets):
        twice = next(t for t in targets if targets.count(t) > 1)
        raise InputError(f"[data.columns] maps two columns of this layer to '{twice}'", file=raw.source,
                         column=twice)
    frame = raw.frame.rename(columns=rename)
    return RawTable(frame, raw.source, raw.row_kind, raw.crs, raw.positions)


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
    >>> read_table("scenarios/example/demand.csv").row_number(0)  # the spreadsheet row: the header is row 1
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
