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

import numpy as np

from ..program import LinearProgram, Sense

__all__ = ["to_mps", "kept_rows"]


def _num(values: np.ndarray) -> np.ndarray:
    """Shortest exact decimal text of each float (``repr`` precision, vectorised)."""
    return (np.asarray(values, dtype=np.float64) + 0.0).astype(str)  # + 0.0 turns -0 into 0


def _names(prefix: str, idx: np.ndarray) -> np.ndarray:
    return np.char.add(prefix, np.asarray(idx).astype(np.int64).astype(str))


def kept_rows(program: LinearProgram) -> np.ndarray:
    """Indices of the rows that are written (rows free on both sides are dropped)."""
    return np.flatnonzero(np.isfinite(program.row_lower) | np.isfinite(program.row_upper))


def to_mps(program: LinearProgram) -> str:
    """The program as free-format MPS text (minimisation, no offset)."""
    lo_r, up_r = np.asarray(program.row_lower, float), np.asarray(program.row_upper, float)
    keep = kept_rows(program)
    lo_r, up_r = lo_r[keep], up_r[keep]
    row_names = _names("R", keep)
    fin_lo, fin_up = np.isfinite(lo_r), np.isfinite(up_r)
    is_e = fin_lo & fin_up & (lo_r == up_r)
    is_range = fin_lo & fin_up & ~is_e
    kind = np.where(is_e, "E", np.where(fin_up, "L", "G"))
    rhs = np.where(fin_up, up_r, lo_r)

    name = "_".join(program.name.split()) or "program"
    # "FREE" after the name makes CoinMpsIO (CBC) read free format; without it short lines are misparsed as fixed
    out: list[str] = [f"NAME {name} FREE", "ROWS", " N OBJ"]
    if keep.size:
        out.append("\n".join(np.char.add(np.char.add(" ", kind), np.char.add(" ", row_names))))

    # COLUMNS in the original column order (readers such as OR-Tools number columns by appearance); each column
    # is its objective entry then its non-zeros; every run of integer columns is wrapped in INTORG/INTEND markers
    sign = -1.0 if program.sense == Sense.MAXIMIZE else 1.0
    integ = np.asarray(program.integrality, dtype=bool)
    A = program.constraints.tocsr()[keep].tocsc()
    A.sort_indices()
    n = program.n_cols
    counts = np.diff(A.indptr)
    total = n + A.nnz
    entry_col = np.repeat(np.arange(n), counts)
    obj_pos = A.indptr[:-1] + np.arange(n)
    nz_pos = np.arange(A.nnz) + entry_col + 1
    col_of_line = np.empty(total, dtype=np.int64)
    row_of_line = np.empty(total, dtype=object)
    val_of_line = np.empty(total, dtype=np.float64)
    col_of_line[obj_pos] = np.arange(n)
    col_of_line[nz_pos] = entry_col
    row_of_line[obj_pos] = "OBJ"
    row_of_line[nz_pos] = row_names[A.indices] if A.nnz else np.array([], dtype=object)
    val_of_line[obj_pos] = sign * np.asarray(program.objective, float)
    val_of_line[nz_pos] = A.data
    lines = np.char.add(
        np.char.add(np.char.add(" ", _names("C", col_of_line)), np.char.add(" ", row_of_line.astype(str))),
        np.char.add(" ", _num(val_of_line)),
    ).astype(object)
    prev = np.concatenate([[False], integ[:-1]])
    nxt = np.concatenate([integ[1:], [False]])
    starts = np.flatnonzero(integ & ~prev)
    ends = np.flatnonzero(integ & ~nxt)
    line_start = np.append(obj_pos, total)  # first line of column j; total for "after the last column"
    at = np.concatenate([line_start[starts], line_start[ends + 1]])
    marks = np.array(
        [" MARKER 'MARKER' 'INTORG'"] * starts.size + [" MARKER 'MARKER' 'INTEND'"] * ends.size, dtype=object
    )
    order = np.argsort(at, kind="stable")
    lines = np.insert(lines, at[order], marks[order])
    out.append("COLUMNS")
    if lines.size:
        out.append("\n".join(lines.tolist()))

    out.append("RHS")
    nz_rhs = np.flatnonzero(rhs != 0.0)
    if nz_rhs.size:
        rhs_lines = np.char.add(np.char.add(" RHS ", row_names[nz_rhs]), np.char.add(" ", _num(rhs[nz_rhs])))
        out.append("\n".join(rhs_lines))
    if is_range.any():
        out.append("RANGES")
        r = np.flatnonzero(is_range)
        rng_lines = np.char.add(np.char.add(" RNG ", row_names[r]), np.char.add(" ", _num(up_r[r] - lo_r[r])))
        out.append("\n".join(rng_lines))

    out.append("BOUNDS")
    lo_c, up_c = np.asarray(program.col_lower, float), np.asarray(program.col_upper, float)
    cols = _names("C", np.arange(program.n_cols))
    free = ~np.isfinite(lo_c) & ~np.isfinite(up_c)
    fixed = np.isfinite(lo_c) & (lo_c == up_c)
    rest = ~free & ~fixed
    parts: list[np.ndarray] = []
    if free.any():
        parts.append(np.char.add(" FR BND ", cols[free]))
    if fixed.any():
        parts.append(np.char.add(np.char.add(" FX BND ", cols[fixed]), np.char.add(" ", _num(lo_c[fixed]))))
    m_lo = rest & np.isfinite(lo_c)
    m_mi = rest & ~np.isfinite(lo_c)
    m_up = rest & np.isfinite(up_c)
    m_pl = rest & ~np.isfinite(up_c)
    if m_mi.any():
        parts.append(np.char.add(" MI BND ", cols[m_mi]))
    if m_lo.any():
        parts.append(np.char.add(np.char.add(" LO BND ", cols[m_lo]), np.char.add(" ", _num(lo_c[m_lo]))))
    if m_up.any():
        parts.append(np.char.add(np.char.add(" UP BND ", cols[m_up]), np.char.add(" ", _num(up_c[m_up]))))
    if m_pl.any():
        parts.append(np.char.add(" PL BND ", cols[m_pl]))
    for p in parts:
        out.append("\n".join(p))
    out.append("ENDATA")
    return "\n".join(out) + "\n"
