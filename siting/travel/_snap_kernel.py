"""Compiled (numba) nearest street piece of many points, over a uniform grid of stretch midpoints.

Optional, like :mod:`siting.travel._kernels`: :class:`siting.travel.snap.SnapIndex` uses it when numba is
installed and falls back to its KD-tree query otherwise. Both give the same pieces, distances and positions
(the same floating-point formulas; ties to the lowest piece).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["nearest_pieces"]


@njit(cache=True, nogil=True)
def nearest_pieces(qx: np.ndarray, qy: np.ndarray, x0: float, y0: float, cell_m: float, nx: int, ny: int,
                   cell_ptr: np.ndarray, cell_piece: np.ndarray, cell_geom: np.ndarray, half_stretch_m: float,
                   max_rings: int, piece: np.ndarray, dist: np.ndarray, t_out: np.ndarray) -> None:
    """Nearest piece of every point, searching rings of grid cells around it.

    Cell ``(ix, iy)`` (``cell_ptr[iy * nx + ix]`` ..) lists the pieces of the stretches whose midpoint lies in
    it, and ``cell_geom`` the same pieces' ``(ax, ay, dx, dy, bx, by)`` in that order (one cache line per piece,
    read in sequence: gathering them by piece number cost a cache miss each). A piece at distance ``d`` has a stretch midpoint within ``d + half_stretch_m``; once the examined block
    of cells contains the disc of radius ``best + half_stretch_m``, no piece outside it can be nearer (or
    equally near); for the same reason a cell farther than ``best + half_stretch_m`` is skipped. A point still undecided after ``max_rings`` rings gets ``piece = -1`` (the caller asks the
    KD-tree).
    """
    for i in range(qx.shape[0]):
        px = qx[i]
        py = qy[i]
        cx = int(math.floor((px - x0) / cell_m))
        cy = int(math.floor((py - y0) / cell_m))
        best = np.inf
        best_p = -1
        best_t = 0.0
        done = False
        for r in range(max_rings + 1):
            for iy in range(cy - r, cy + r + 1):
                if iy < 0 or iy >= ny:
                    continue
                edge_row = iy == cy - r or iy == cy + r
                step = 1 if edge_row else 2 * r
                ix = cx - r
                # cells nearer than best + h/2 only: farther ones hold no midpoint of a piece as near as the best
                gy = max(y0 + iy * cell_m - py, py - (y0 + (iy + 1) * cell_m), 0.0)
                while ix <= cx + r:
                    gx = max(x0 + ix * cell_m - px, px - (x0 + (ix + 1) * cell_m), 0.0)
                    if 0 <= ix < nx and math.hypot(gx, gy) <= best + half_stretch_m * (1.0 + 1e-9) + 1e-6:
                        c = iy * nx + ix
                        for k in range(cell_ptr[c], cell_ptr[c + 1]):
                            p = cell_piece[k]
                            pax = cell_geom[k, 0]
                            pay = cell_geom[k, 1]
                            ddx = cell_geom[k, 2]
                            ddy = cell_geom[k, 3]
                            ll = ddx * ddx + ddy * ddy
                            t = ((px - pax) * ddx + (py - pay) * ddy) / ll if ll > 0 else 0.0
                            t = min(max(t, 0.0), 1.0)
                            if t >= 1.0:
                                ex = cell_geom[k, 4]
                                ey = cell_geom[k, 5]
                            else:
                                ex = pax + t * ddx
                                ey = pay + t * ddy
                            d = math.hypot(px - ex, py - ey)
                            if d < best or (d == best and p < best_p):
                                best = d
                                best_p = p
                                best_t = t
                    if step == 0:
                        break
                    ix += step
            # distance from the point to the nearest cell outside the examined block (no cells beyond the grid)
            reach = np.inf
            if cx - r > 0:
                reach = min(reach, px - (x0 + (cx - r) * cell_m))
            if cx + r + 1 < nx:
                reach = min(reach, x0 + (cx + r + 1) * cell_m - px)
            if cy - r > 0:
                reach = min(reach, py - (y0 + (cy - r) * cell_m))
            if cy + r + 1 < ny:
                reach = min(reach, y0 + (cy + r + 1) * cell_m - py)
            if best_p >= 0 and best + half_stretch_m * (1.0 + 1e-9) + 1e-6 < reach:
                done = True
                break
            if reach == np.inf:  # the block covers the whole grid
                done = best_p >= 0
                break
        if done:
            piece[i] = best_p
            dist[i] = best
            t_out[i] = best_t
        else:
            piece[i] = -1
