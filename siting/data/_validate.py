"""Vectorised column checks that turn bad cells into one-line :class:`~siting.errors.InputError`.

Each check computes a boolean mask over the whole column with numpy/pandas and, when any
cell is bad, names the FIRST offending one (``np.flatnonzero(mask)[0]``): file, row (CSV:
spreadsheet row with the header as row 1; other formats: ``feature N``, 1-based), id and column.
"""
from __future__ import annotations

import difflib
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ._read import RawTable

__all__ = ["fail", "require_columns", "closest", "id_column", "number_column",
           "numeric_share", "MISSING_TOKENS"]

#: cell texts read as "no value" (case-insensitive, after stripping blanks)
MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", "#n/a")


def closest(name: str, choices: Sequence[str]) -> str | None:
    """The choice most similar to ``name`` (case-insensitive), or None.

    Examples
    --------
    >>> closest("popualtion", ["id", "population", "x"])
    'population'
    """
    lowered = {str(c).lower(): str(c) for c in choices}
    hit = difflib.get_close_matches(str(name).lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[hit[0]] if hit else None


def fail(raw: RawTable, problem: str, *, pos: int | None = None, row_id: object | None = None,
         column: str | None = None) -> InputError:
    """Build the error for the cell at 0-based ``pos`` (the caller raises it)."""
    if pos is None:
        return InputError(problem, file=raw.source, row_id=row_id, column=column)
    number = raw.row_number(pos)
    if raw.row_kind == "row":
        return InputError(problem, file=raw.source, row=number, row_id=row_id, column=column)
    return InputError(problem, file=raw.source, feature=number, row_id=row_id, column=column)


def require_columns(raw: RawTable, required: Sequence[str], what: str, note: str = "") -> None:
    """Raise for the first required column that is absent, suggesting the closest present name."""
    present = [str(c) for c in raw.frame.columns]
    for name in required:
        if name in present:
            continue
        guess = closest(name, [c for c in present if c not in required])
        hint = f" (did you mean '{guess}'?)" if guess else ""
        shown = ", ".join(present) if present else "none"
        raise fail(raw, f"missing required {what} column{hint}{note}; columns found: {shown}", column=name)


def _text(series: pd.Series) -> pd.Series:
    """Values as stripped text, missing values as ``""``; integral floats lose their ``.0``."""
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(values)
        integral = finite & (np.floor(values) == values) & (np.abs(values) < 2**53)
        out = np.full(values.shape, "", dtype=object)
        out[~np.isnan(values)] = values[~np.isnan(values)].astype(str)
        out[integral] = values[integral].astype(np.int64).astype(str)
        return pd.Series(out, index=series.index, dtype=object)
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()


def id_column(raw: RawTable, column: str, *, unique: bool = True) -> np.ndarray:
    """Ids as a numpy ``str`` array; blank ids and (when ``unique``) repeated ids are errors.

    Examples
    --------
    >>> import pandas as pd
    >>> from siting.data._read import RawTable
    >>> id_column(RawTable(pd.DataFrame({"id": [1, 2]}), "t"), "id").tolist()
    ['1', '2']
    """
    text = _text(raw.frame[column])
    blank = (text == "").to_numpy()
    if blank.any():
        raise fail(raw, "missing id", pos=int(np.flatnonzero(blank)[0]), column=column)
    if unique:
        dup = text.duplicated().to_numpy()
        if dup.any():
            pos = int(np.flatnonzero(dup)[0])
            first = int(np.flatnonzero((text == text.iloc[pos]).to_numpy())[0])
            first_at = (f"row {raw.row_number(first)}" if raw.row_kind == "row"
                        else f"feature {raw.row_number(first)}")
            raise fail(raw, f"duplicate id (first used at {first_at})", pos=pos,
                       row_id=text.iloc[pos], column=column)
    return np.asarray(text.to_numpy(dtype=object), dtype=str)


def _parse(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, missing, non_numeric) masks for a column of any dtype."""
    if pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=float)
        return values, np.zeros(len(values), bool), np.zeros(len(values), bool)
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(values)
        return values, missing, np.zeros(len(values), bool)
    text = _text(series)
    missing = text.str.lower().isin(MISSING_TOKENS).to_numpy()
    values = pd.to_numeric(text.where(~missing, None), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    non_numeric = np.isnan(values) & ~missing
    return values, missing, non_numeric


def numeric_share(series: pd.Series) -> float:
    """Share of non-missing cells that parse as numbers (1.0 for numeric dtypes, 0.0 if all blank)."""
    _, missing, bad = _parse(series)
    filled = int((~missing).sum())
    return 0.0 if filled == 0 else float((~missing & ~bad).sum()) / filled


def number_column(raw: RawTable, column: str, ids: np.ndarray | None, *, what: str = "value",
                  allow_missing: bool | np.ndarray = False, minimum: float | None = 0.0,
                  allow_inf: bool = False) -> np.ndarray:
    """A float column checked for non-numeric, missing, infinite and too-small values.

    Parameters
    ----------
    allow_missing : True, or a bool mask of the rows where a blank cell is allowed (kept as NaN)
    minimum : smallest allowed value (inclusive), None for no limit

    Examples
    --------
    >>> import pandas as pd
    >>> from siting.data._read import RawTable
    >>> number_column(RawTable(pd.DataFrame({"p": ["3", "4.5"]}), "t", "row"), "p", None).tolist()
    [3.0, 4.5]
    """
    series = raw.frame[column]
    values, missing, bad = _parse(series)

    def _raise(mask: np.ndarray, problem) -> None:
        pos = int(np.flatnonzero(mask)[0])
        text = problem(pos) if callable(problem) else problem
        raise fail(raw, text, pos=pos, row_id=None if ids is None else ids[pos], column=column)

    if bad.any():
        _raise(bad, lambda p: f"non-numeric {what} '{series.iloc[p]}'")
    if isinstance(allow_missing, np.ndarray):
        bad_missing = missing & ~allow_missing
    else:
        bad_missing = missing & (not allow_missing)
    if bad_missing.any():
        _raise(bad_missing, f"missing {what} (empty or NaN)")
    if not allow_inf:
        inf = np.isinf(values)
        if inf.any():
            _raise(inf, f"{what} must be finite, got {values[np.flatnonzero(inf)[0]]}")
    if minimum is not None:
        low = values < minimum  # NaN compares False
        if low.any():
            word = "negative" if minimum == 0 else f"below {minimum:g}:"
            _raise(low, lambda p: f"{word} {what} {values[p]:g}")
    return values
