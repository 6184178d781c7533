"""Vectorised column checks that turn bad cells into one-line :class:`~siting.errors.InputError`.

Each check computes a boolean mask over the whole column with numpy/pandas and, when any
cell is bad, names the FIRST offending one (``np.flatnonzero(mask)[0]``): file, row (CSV:
spreadsheet row with the header as row 1; other formats: ``feature N``, 1-based), id and column.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ._read import RawTable

__all__ = ["fail", "require_columns", "require_rows", "closest", "id_column", "number_column", "check_total",
           "numeric_share", "MISSING_TOKENS"]

#: cell texts read as "no value" (case-insensitive, after stripping blanks)
MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", "#n/a")

#: "1,200" / "4,5": a thousands separator or a decimal comma, never parsed (which one is meant is a guess)
_COMMA_NUMBER = r"^[+-]?(\d{1,3}(,\d{3})+(\.\d*)?|\d*,\d+)$"
_TRUTH_WORDS = ("true", "false", "yes", "no")


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


def require_rows(raw: RawTable, what: str) -> None:
    """Raise when the table has no data rows."""
    if len(raw.frame) == 0:
        raise fail(raw, f"the {what} table has no rows")


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


def _not_a_number_dtype(series: pd.Series) -> bool:
    """Booleans (True/False would count as 1/0) and complex numbers are not quantities."""
    return pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_complex_dtype(series.dtype)


def _parse(series: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, missing, non_numeric) masks for a column of any dtype."""
    if _not_a_number_dtype(series):
        missing = series.isna().to_numpy()
        return np.full(len(series), np.nan), missing, ~missing
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
    """Share of non-missing cells that look like numbers (1.0 for numeric dtypes, 0.0 if all blank).

    ``"1,200"`` counts as a number here, so a column of counts written with thousands separators
    is checked as numbers (and refused with a hint) instead of becoming a text label silently.
    Booleans count as text.
    """
    _, missing, bad = _parse(series)
    if bad.any() and not _not_a_number_dtype(series):
        bad = bad & ~_text(series).str.match(_COMMA_NUMBER).to_numpy(dtype=bool)
    filled = int((~missing).sum())
    return 0.0 if filled == 0 else float((~missing & ~bad).sum()) / filled


def _hint(text: str) -> str:
    """Why a cell that is almost a number is refused, and what to write instead."""
    stripped = text.strip()
    if re.match(_COMMA_NUMBER, stripped):
        return " (write numbers without thousands separators, with '.' as the decimal point)"
    if stripped.lower() in _TRUTH_WORDS:
        return " (True/False is not a number)"
    return ""


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

    def _raise(mask: np.ndarray, problem: str | Callable[[int], str]) -> None:
        pos = int(np.flatnonzero(mask)[0])
        text = problem(pos) if callable(problem) else problem
        raise fail(raw, text, pos=pos, row_id=None if ids is None else ids[pos], column=column)

    if bad.any() and _not_a_number_dtype(series):
        kind = "boolean" if pd.api.types.is_bool_dtype(series.dtype) else "complex"
        _raise(bad, lambda p: f"{kind} {what} {series.iloc[p]} where a number is expected"
                              + (" (True/False does not count as 1/0)" if kind == "boolean" else ""))
    if bad.any():
        _raise(bad, lambda p: f"non-numeric {what} '{series.iloc[p]}'{_hint(str(series.iloc[p]))}")
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


def check_total(raw: RawTable, column: str, values: np.ndarray, ids: np.ndarray | None, *,
                what: str = "value") -> None:
    """Raise when the column's total is not a finite float (every cell finite, the sum ``inf``).

    Models sum these columns (covered population, total cost); an ``inf`` total would turn every
    plan's objective or budget check into ``inf`` or ``nan``. Blank cells (NaN) count as 0.
    The message names the row where the running total first overflows.

    Examples
    --------
    >>> import pandas as pd
    >>> from siting.data._read import RawTable
    >>> check_total(RawTable(pd.DataFrame({"p": [1e308, 1e308]}), "t"), "p", np.array([1e308, 1e308]),
    ...             None)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    siting.errors.InputError: t: feature 2, column 'p': value total overflows ...
    """
    filled = np.where(np.isnan(values), 0.0, values)
    with np.errstate(over="ignore", invalid="ignore"):
        running = np.cumsum(filled)
        total = filled.sum()
    if len(filled) == 0 or (np.isfinite(total) and np.isfinite(running[-1])):
        return
    over = np.flatnonzero(~np.isfinite(running))
    pos = int(over[0]) if len(over) else len(filled) - 1
    limit = float(np.finfo(float).max)
    raise fail(raw, f"{what} total overflows: the sum passes {limit:.4g} at this row; use smaller units",
               pos=pos, row_id=None if ids is None else ids[pos], column=column)
