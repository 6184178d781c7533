"""Synthetic hilly street networks (a stand-in when no real extract is at hand).

A perturbed grid with random street removal, some diagonal shortcuts, an elevation field
made of Gaussian hills (Chongqing-like relief) and stairs on some of the steep streets.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from siting.travel.graph import WalkGraph

__all__ = ["street_network", "random_points"]


def street_network(n_nodes: int = 10_000, *, seed: int = 0, spacing_m: float = 80.0, jitter: float = 0.2,
                   removal: float = 0.15, diagonals: float = 0.05, hill_count: int | None = None,
                   hill_height_m: float = 120.0, stairs_slope: float = 0.12, stairs_share: float = 0.5,
                   crs: str = "EPSG:32648") -> WalkGraph:
    r"""A street-like graph of about ``n_nodes`` nodes.

    Parameters
    ----------
    n_nodes : int
        Approximate number of nodes (a square grid of side :math:`\lceil\sqrt{n}\rceil`).
    seed : int
        Random seed.
    spacing_m : float
        Mean block side in metres; nodes are moved by up to ``jitter * spacing_m``.
    removal, diagonals : float
        Share of grid streets removed; share of blocks with a diagonal street.
    hill_count : int, optional
        Number of Gaussian hills (default: one per ~4 km^2).
    hill_height_m : float
        Typical hill height.
    stairs_slope, stairs_share : float
        Streets steeper than ``stairs_slope`` become stairs with probability ``stairs_share``.
    crs : str
        Label of the (metric) CRS; default UTM 48N, the zone of Chongqing.

    Notes
    -----
    Elevation :math:`z(p) = \sum_k h_k \exp(-\lVert p - c_k\rVert^2 / 2\sigma_k^2)`.

    Examples
    --------
    >>> g = street_network(400, seed=1)
    >>> g.n_nodes, 600 < g.n_segments < 900
    (400, True)
    """
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_nodes)))
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    idx = (ii * side + jj).astype(np.int64)
    x = jj.ravel() * spacing_m + rng.uniform(-jitter, jitter, side * side) * spacing_m
    y = ii.ravel() * spacing_m + rng.uniform(-jitter, jitter, side * side) * spacing_m
    u = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    v = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    keep = rng.random(u.size) >= removal
    u, v = u[keep], v[keep]
    blocks = idx[:-1, :-1].ravel()
    diag = rng.random(blocks.size) < diagonals
    flip = rng.random(blocks.size) < 0.5
    du = np.where(flip, blocks + 1, blocks)[diag]
    dv = np.where(flip, blocks + side, blocks + side + 1)[diag]
    u, v = np.concatenate([u, du]), np.concatenate([v, dv])
    extent = side * spacing_m
    if hill_count is None:
        hill_count = max(1, int(round(extent * extent / 4e6)))
    cx, cy = rng.uniform(0, extent, hill_count), rng.uniform(0, extent, hill_count)
    sig = rng.uniform(300.0, 900.0, hill_count)
    h = rng.uniform(0.4, 1.2, hill_count) * hill_height_m
    z = np.zeros(x.size)
    for k in range(hill_count):  # loop over hills, not over matrix entries
        z += h[k] * np.exp(-((x - cx[k]) ** 2 + (y - cy[k]) ** 2) / (2 * sig[k] ** 2))
    z += rng.normal(0.0, 1.0, x.size)
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    slope = np.abs(z[v] - z[u]) / length
    stairs = (slope > stairs_slope) & (rng.random(u.size) < stairs_share)
    return WalkGraph.from_segments(x, y, z, u, v, stairs=stairs, crs=crs, source=f"synthetic street grid (seed {seed})")


def random_points(graph: WalkGraph, n: int, *, seed: int = 0, offset_m: float = 30.0, prefix: str = "p",
                  cluster: bool = False) -> pd.DataFrame:
    """``n`` points (``id``, ``x``, ``y``) scattered near random streets, up to ``offset_m`` away.

    Examples
    --------
    >>> g = street_network(100, seed=0)
    >>> random_points(g, 3, seed=0).columns.tolist()
    ['id', 'x', 'y']
    """
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, graph.n_segments, n)
    f = rng.random(n)
    u, v = graph.seg_u[seg], graph.seg_v[seg]
    x = graph.node_x[u] + f * (graph.node_x[v] - graph.node_x[u]) + rng.uniform(-offset_m, offset_m, n)
    y = graph.node_y[u] + f * (graph.node_y[v] - graph.node_y[u]) + rng.uniform(-offset_m, offset_m, n)
    return pd.DataFrame({"id": [f"{prefix}{k}" for k in range(n)], "x": x, "y": y})
