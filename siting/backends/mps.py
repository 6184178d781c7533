"""Write a :class:`LinearProgram` as a free-format MPS text, vectorised over the CSC arrays.

Notes
-----
Rows are named ``R<i>`` and columns ``C<j>`` (original indices, so a solution file maps back by parsing the
number). Row ``i`` with bounds ``[lo, up]`` becomes

* ``E`` with RHS ``lo`` when ``lo == up``;
* ``G`` with RHS ``lo`` when only ``lo`` is finite; ``L`` with RHS ``up`` when only ``up`` is finite;
* ``L`` with RHS ``up`` and RANGES ``up - lo`` when both are finite (MPS: ``[rhs - |R|, rhs]``);
* omitted when both are infinite (a free row constrains nothing).

Every column gets an objective entry (possibly 0) so columns without non-zeros are still declared, and
explicit bounds (``FR``, ``FX``, ``LO``/``MI`` plus ``UP``/``PL``) so no reader's defaults for integer columns
(some assume ``[0, 1]``) apply. Columns keep their order; each run of integer columns sits inside a
``MARKER INTORG``/``INTEND`` pair.
The objective is always written for minimisation (``c`` negated for a maximisation) and without the offset; the
caller adds ``c_0`` and flips signs back.

The text is assembled as bytes in numpy. Free MPS separates fields by any run of blanks, so every field of a
section is padded to one width and a section is a single ``uint8`` matrix (one row per line) written with
``tobytes``. Names and integer-valued numbers are written by digit arithmetic (right-aligned), other numbers by
numpy's shortest round-trip ``repr``. (``np.char`` string concatenation took 10 s for a 200,000-pair p-median,
longer than the time limits it serves.)

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.program import LinearProgram, Sense
>>> lp = LinearProgram(Sense.MINIMIZE, np.array([1.0]), sp.csr_matrix([[2.0]]), np.array([1.0]),
...                    np.array([np.inf]), np.zeros(1), np.array([np.inf]), np.zeros(1, dtype=bool))
>>> print(to_mps(lp).splitlines()[3])
 G R0
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..program import LinearProgram, Sense

__all__ = ["to_mps", "write_mps", "mps_bytes", "kept_rows"]

_BLANK = 32


def _digits(values: np.ndarray, prefix: bytes = b"") -> np.ndarray:
    """``prefix`` + decimal digits of non-negative integers, right-aligned in a blank-padded ``(n, width)`` matrix."""
    v = np.asarray(values, dtype=np.int64)
    n_digits = len(str(int(v.max(initial=0))))
    width = n_digits + len(prefix)
    mat = np.full((v.shape[0], width), _BLANK, dtype=np.uint8)
    rest = v.copy()
    length = np.zeros(v.shape[0], dtype=np.int64)
    for pos in range(width - 1, width - 1 - n_digits, -1):  # a loop over digit positions, not entries
        live = (rest > 0) | (pos == width - 1)
        rest, digit = np.divmod(rest, 10)
        mat[:, pos] = np.where(live, digit + 48, _BLANK)
        length += live
    rows = np.arange(v.shape[0])
    for k, byte in enumerate(reversed(prefix)):
        mat[rows, width - 1 - length - k] = byte
    return mat


def _numbers(values: np.ndarray) -> np.ndarray:
    """Exact decimal text of each float (integer digits when integral, else numpy's shortest ``repr``)."""
    v = np.asarray(values, dtype=np.float64) + 0.0  # + 0.0 turns -0 into 0
    integral = (v == np.round(v)) & (np.abs(v) < 1e15)
    ints, rest = np.flatnonzero(integral), np.flatnonzero(~integral)
    digits = _digits(np.abs(v[ints]).astype(np.int64), b" ")
    neg = v[ints] < 0
    lead = (digits[neg] != _BLANK).argmax(axis=1)  # the blank before the first digit takes the sign
    digits[np.flatnonzero(neg), lead - 1] = ord("-")
    text = np.frombuffer(v[rest].astype("S32").tobytes(), dtype=np.uint8).reshape(rest.size, 32).copy()
    text[text == 0] = _BLANK
    used = int((text != _BLANK).sum(axis=1).max(initial=0))
    width = max(digits.shape[1], used)
    mat = np.full((v.shape[0], width), _BLANK, dtype=np.uint8)
    mat[ints, width - digits.shape[1]:] = digits
    mat[rest, :used] = text[:, :used]
    return mat


def _const(n: int, text: str) -> np.ndarray:
    return np.broadcast_to(np.frombuffer(text.encode(), dtype=np.uint8), (n, len(text)))


def _lines(*fields: np.ndarray | str) -> bytes:
    """One line per row: a blank, the fields separated by blanks, a newline (strings are constant fields)."""
    mats = [f for f in fields if not isinstance(f, str)]
    n = mats[0].shape[0] if mats else 0
    parts = [_const(n, " ")]
    for f in fields:
        parts += [_const(n, f) if isinstance(f, str) else f, _const(n, " ")]
    parts[-1] = _const(n, "\n")
    return np.hstack(parts).tobytes() if n else b""


def _widen(mat: np.ndarray, width: int) -> np.ndarray:
    if mat.shape[1] >= width:
        return mat
    return np.hstack([np.full((mat.shape[0], width - mat.shape[1]), _BLANK, dtype=np.uint8), mat])


def kept_rows(program: LinearProgram) -> np.ndarray:
    """Indices of the rows that are written (rows free on both sides are dropped)."""
    return np.flatnonzero(np.isfinite(program.row_lower) | np.isfinite(program.row_upper))


def _columns_section(program: LinearProgram, keep: np.ndarray) -> bytes:
    """COLUMNS: per column its objective line then its non-zeros; integer runs inside INTORG/INTEND markers."""
    sign = -1.0 if program.sense == Sense.MAXIMIZE else 1.0
    integ = np.asarray(program.integrality, dtype=bool)
    A = program.constraints.tocsr()[keep].tocsc()
    A.sort_indices()
    n = program.n_cols
    prev = np.concatenate([[False], integ[:-1]])
    nxt = np.concatenate([integ[1:], [False]])
    run_start = np.flatnonzero(integ & ~prev)
    run_end = np.flatnonzero(integ & ~nxt)
    j = np.arange(n + 1)
    # line of column j's objective entry (j = n: one past the end), counting the marker lines before it
    obj_line = (j + A.indptr + np.searchsorted(run_end + 1, j, side="right")
                + np.searchsorted(run_start, j, side="right"))
    total = int(obj_line[n])
    col = np.repeat(np.arange(n), np.diff(A.indptr))
    nz_line = obj_line[col] + 1 + np.arange(A.nnz) - A.indptr[col]

    col_of_line = np.zeros(total, dtype=np.int64)
    col_of_line[obj_line[:n]] = np.arange(n)
    col_of_line[nz_line] = col
    row_of_line = np.zeros(total, dtype=np.int64)
    row_of_line[nz_line] = keep[A.indices]
    value = np.zeros(total)
    value[obj_line[:n]] = sign * np.asarray(program.objective, dtype=float)
    value[nz_line] = A.data
    names = _widen(_digits(col_of_line, b"C"), 8)
    rows = _widen(_digits(row_of_line, b"R"), 8)
    nums = _widen(_numbers(value), 8)

    def put(mat: np.ndarray, at: np.ndarray, text: str) -> None:
        mat[at] = _BLANK
        mat[at, mat.shape[1] - len(text):] = np.frombuffer(text.encode(), dtype=np.uint8)

    put(rows, obj_line[:n], "OBJ")
    for at, kind in ((obj_line[run_start] - 1, "'INTORG'"), (obj_line[run_end + 1] - 1, "'INTEND'")):
        put(names, at, "MARKER")
        put(rows, at, "'MARKER'")
        put(nums, at, kind)
    return _lines(names, rows, nums)


def _bound_lines(kind: str, cols: np.ndarray, values: np.ndarray | None) -> bytes:
    if cols.size == 0:
        return b""
    fields: list[np.ndarray | str] = [f"{kind} BND", _digits(cols, b"C")]
    return _lines(*fields) if values is None else _lines(*fields, _numbers(values))


def mps_bytes(program: LinearProgram) -> bytes:
    """The program as free-format MPS (minimisation, no offset), ASCII bytes."""
    lo_r, up_r = np.asarray(program.row_lower, float), np.asarray(program.row_upper, float)
    keep = kept_rows(program)
    lo_r, up_r = lo_r[keep], up_r[keep]
    fin_lo, fin_up = np.isfinite(lo_r), np.isfinite(up_r)
    is_e = fin_lo & fin_up & (lo_r == up_r)
    is_range = fin_lo & fin_up & ~is_e
    kind = np.where(is_e, ord("E"), np.where(fin_up, ord("L"), ord("G"))).astype(np.uint8)[:, None]
    rhs = np.where(fin_up, up_r, lo_r)

    name = "_".join(program.name.split()) or "program"
    # "FREE" after the name makes CoinMpsIO (CBC) read free format; without it short lines are misparsed as fixed
    parts = [f"NAME {name} FREE\nROWS\n N OBJ\n".encode()]
    parts.append(_lines(kind, _digits(keep, b"R")))
    parts.append(b"COLUMNS\n")
    parts.append(_columns_section(program, keep))
    parts.append(b"RHS\n")
    nz_rhs = np.flatnonzero(rhs != 0.0)
    parts.append(_lines("RHS", _digits(keep[nz_rhs], b"R"), _numbers(rhs[nz_rhs])))
    if is_range.any():
        r = np.flatnonzero(is_range)
        parts.append(b"RANGES\n")
        parts.append(_lines("RNG", _digits(keep[r], b"R"), _numbers(up_r[r] - lo_r[r])))

    parts.append(b"BOUNDS\n")
    lo_c, up_c = np.asarray(program.col_lower, float), np.asarray(program.col_upper, float)
    free = ~np.isfinite(lo_c) & ~np.isfinite(up_c)
    fixed = np.isfinite(lo_c) & (lo_c == up_c)
    rest = ~free & ~fixed
    m_lo, m_mi = rest & np.isfinite(lo_c), rest & ~np.isfinite(lo_c)
    m_up, m_pl = rest & np.isfinite(up_c), rest & ~np.isfinite(up_c)
    parts.append(_bound_lines("FR", np.flatnonzero(free), None))
    parts.append(_bound_lines("FX", np.flatnonzero(fixed), lo_c[fixed]))
    parts.append(_bound_lines("MI", np.flatnonzero(m_mi), None))
    parts.append(_bound_lines("LO", np.flatnonzero(m_lo), lo_c[m_lo]))
    parts.append(_bound_lines("UP", np.flatnonzero(m_up), up_c[m_up]))
    parts.append(_bound_lines("PL", np.flatnonzero(m_pl), None))
    parts.append(b"ENDATA\n")
    return b"".join(parts)


def to_mps(program: LinearProgram) -> str:
    """The program as free-format MPS text (minimisation, no offset)."""
    return mps_bytes(program).decode("ascii")


def write_mps(program: LinearProgram, path: str | Path) -> None:
    """Write :func:`mps_bytes` of ``program`` to ``path``."""
    Path(path).write_bytes(mps_bytes(program))
