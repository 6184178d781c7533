"""Compiled (numba) moves of the row-weighting local search for equal-cost set covers (:mod:`.rwls`).

One compiled entry point, :func:`run_steps` (numba takes seconds per function to compile; the start state is
built with numpy in :mod:`.rwls`). State arrays (all updated in place; ``scalars`` = [steps, since_best, best_size, tabu, rng]):

* ``x`` (n_cols,) uint8 the current columns; ``members`` / ``member_pos`` the same as a list;
* ``count`` (n_rows,) how many current columns cover each row; ``uncovered`` / ``uncovered_pos`` the rows at 0;
* ``weight`` (n_rows,) the row weights; ``score`` (n_cols,): for a column outside the set the weight of the
  uncovered rows it would cover, for a member minus the weight of the rows only it covers;
* ``stamp`` (n_cols,) the step a column last moved; ``conf`` (n_cols,) 1 when a neighbour moved since it left.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["run_steps"]

_STEPS, _SINCE_BEST, _BEST_SIZE, _TABU, _RNG = 0, 1, 2, 3, 4


@njit(cache=True, nogil=True)
def _add(j: int, x: np.ndarray, count: np.ndarray, weight: np.ndarray, score: np.ndarray, conf: np.ndarray,
        col_ptr: np.ndarray, col_rows: np.ndarray, row_ptr: np.ndarray, row_cols: np.ndarray,
        uncovered: np.ndarray, uncovered_pos: np.ndarray, n_uncovered: np.ndarray, members: np.ndarray,
        member_pos: np.ndarray) -> None:  # pragma: no cover - compiled
    x[j] = 1
    member_pos[j] = members[0]
    members[1 + members[0]] = j
    members[0] += 1
    score[j] = -score[j]
    for p in range(col_ptr[j], col_ptr[j + 1]):
        i = col_rows[p]
        c = count[i]
        if c == 0:            # row i is covered now: nobody else gains it
            q = uncovered_pos[i]
            last = uncovered[n_uncovered[0] - 1]
            uncovered[q] = last
            uncovered_pos[last] = q
            uncovered_pos[i] = -1
            n_uncovered[0] -= 1
            for r in range(row_ptr[i], row_ptr[i + 1]):
                k = row_cols[r]
                if k != j:
                    score[k] -= weight[i]
                    conf[k] = 1
        elif c == 1:          # its one member no longer covers it alone
            for r in range(row_ptr[i], row_ptr[i + 1]):
                k = row_cols[r]
                if k != j and x[k] == 1:
                    score[k] += weight[i]
                    break
        count[i] = c + 1


@njit(cache=True, nogil=True)
def _remove(j: int, x: np.ndarray, count: np.ndarray, weight: np.ndarray, score: np.ndarray, conf: np.ndarray,
        col_ptr: np.ndarray, col_rows: np.ndarray, row_ptr: np.ndarray, row_cols: np.ndarray,
        uncovered: np.ndarray, uncovered_pos: np.ndarray, n_uncovered: np.ndarray, members: np.ndarray,
        member_pos: np.ndarray) -> None:  # pragma: no cover - compiled
    x[j] = 0
    q = member_pos[j]
    last = members[members[0]]
    members[1 + q] = last
    member_pos[last] = q
    member_pos[j] = -1
    members[0] -= 1
    score[j] = -score[j]
    conf[j] = 0
    for p in range(col_ptr[j], col_ptr[j + 1]):
        i = col_rows[p]
        c = count[i] - 1
        count[i] = c
        if c == 0:            # row i is uncovered: every column of it gains it
            uncovered[n_uncovered[0]] = i
            uncovered_pos[i] = n_uncovered[0]
            n_uncovered[0] += 1
            for r in range(row_ptr[i], row_ptr[i + 1]):
                k = row_cols[r]
                if k != j:
                    score[k] += weight[i]
                    conf[k] = 1
        elif c == 1:          # the one member left covers it alone
            for r in range(row_ptr[i], row_ptr[i + 1]):
                k = row_cols[r]
                if x[k] == 1:
                    score[k] -= weight[i]
                    break


@njit(cache=True, nogil=True)
def _best_member(members: np.ndarray, score: np.ndarray, stamp: np.ndarray,
                 skip: int) -> int:  # pragma: no cover - compiled
    """The member losing least (highest score), the longest unmoved first; not ``skip``."""
    best = -1
    for t in range(members[0]):
        k = members[1 + t]
        if k == skip:
            continue
        if best < 0 or score[k] > score[best] or (score[k] == score[best] and stamp[k] < stamp[best]):
            best = k
    return best


@njit(cache=True, nogil=True)
def run_steps(col_ptr: np.ndarray, col_rows: np.ndarray, row_ptr: np.ndarray, row_cols: np.ndarray,
        x: np.ndarray, count: np.ndarray, weight: np.ndarray, score: np.ndarray, conf: np.ndarray,
        stamp: np.ndarray, uncovered: np.ndarray, uncovered_pos: np.ndarray, n_uncovered: np.ndarray,
        members: np.ndarray, member_pos: np.ndarray, best: np.ndarray, scalars: np.ndarray, steps: int,
        stall: int, target: int) -> None:  # pragma: no cover - compiled
    """Up to ``steps`` swap steps; stops early at ``target`` columns or ``stall`` steps without a better cover."""
    for _ in range(steps):
        while n_uncovered[0] == 0:                 # a cover: keep it if smaller, then drop a member
            if members[0] < scalars[_BEST_SIZE]:
                scalars[_BEST_SIZE] = members[0]
                scalars[_SINCE_BEST] = 0
                for k in range(x.shape[0]):       # a loop: numba took ~6 s more to compile a slice assignment
                    best[k] = x[k]
            if members[0] <= target:
                return
            j = _best_member(members, score, stamp, -1)
            _remove(j, x, count, weight, score, conf, col_ptr, col_rows, row_ptr, row_cols, uncovered,
                    uncovered_pos, n_uncovered, members, member_pos)
            stamp[j] = scalars[_STEPS]
        if scalars[_SINCE_BEST] >= stall:
            return
        # swap: drop the member losing least (not the one just added), add the best column of a random uncovered
        # row among those whose neighbourhood moved since they left (configuration checking)
        j = _best_member(members, score, stamp, scalars[_TABU])
        if j >= 0:
            _remove(j, x, count, weight, score, conf, col_ptr, col_rows, row_ptr, row_cols, uncovered,
                    uncovered_pos, n_uncovered, members, member_pos)
            stamp[j] = scalars[_STEPS]
        s = scalars[_RNG]                           # xorshift64*, kept in the state: chunks do not change the run
        s ^= s >> 12
        s ^= (s << 25) & 0x7FFFFFFFFFFFFFFF
        s ^= s >> 27
        scalars[_RNG] = s & 0x7FFFFFFFFFFFFFFF
        i = uncovered[scalars[_RNG] % n_uncovered[0]]
        a = -1
        for r in range(row_ptr[i], row_ptr[i + 1]):
            k = row_cols[r]
            if conf[k] == 0:
                continue
            if a < 0 or score[k] > score[a] or (score[k] == score[a] and stamp[k] < stamp[a]):
                a = k
        if a < 0:
            a = row_cols[row_ptr[i]]
        _add(a, x, count, weight, score, conf, col_ptr, col_rows, row_ptr, row_cols, uncovered, uncovered_pos,
             n_uncovered, members, member_pos)
        stamp[a] = scalars[_STEPS]
        scalars[_TABU] = a
        for t in range(n_uncovered[0]):             # the rows left uncovered weigh one more
            i = uncovered[t]
            weight[i] += 1
            for r in range(row_ptr[i], row_ptr[i + 1]):
                score[row_cols[r]] += 1
        scalars[_STEPS] += 1
        scalars[_SINCE_BEST] += 1
