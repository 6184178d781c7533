"""Residents of the demo district: residential buildings (the demand points) and communities (社区).

Buildings stand beside the streets: each is placed a few metres to half a street spacing from a street node of
its zone, so demand sits where people live and snaps to the network in metres, not hundreds of metres. Several
buildings share a node's surroundings (walk-ups in the old town), which is what makes 5-minute coverage a count
of buildings rather than the rounding of a block centroid.

Communities are contiguous pieces of the street network: seeds at the population-weighted k-means centres of the
buildings, then every street node joins the seed nearest along the streets (a graph Voronoi partition, bridges
left out so no community straddles the river). A building or a site belongs to the community of its nearest
street node. Labels are ``C01``, ``C02``, ... (text, numbered north to south, west to east).

Example
-------
>>> import numpy as np
>>> x, y = np.array([0.0, 100.0, 200.0, 300.0]), np.zeros(4)
>>> edges, bridge = np.array([[0, 1], [1, 2], [2, 3]]), np.array([False, True, False])
>>> c = Communities.build(np.random.default_rng(1), 2, x, y, edges, bridge, x, y, np.ones(4))
>>> c.of(np.array([10.0, 290.0]), np.zeros(2)).tolist()
['C01', 'C02']
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from .layout import HEIGHT, WIDTH, X0, Y0, ZONES, zone_kind, zone_of

__all__ = ["Communities", "buildings", "split"]


def split(total: int, shares: list[float] | np.ndarray) -> list[int]:
    """``total`` split into integers in proportion to ``shares`` (largest remainder gets the rest).

    Examples
    --------
    >>> split(10, [1.0, 1.0, 1.0])
    [4, 3, 3]
    """
    raw = np.asarray(shares, dtype=float) / np.sum(shares) * total
    out = np.floor(raw).astype(int)
    out[np.argmax(raw - out)] += total - out.sum()
    return out.tolist()


def buildings(rng: np.random.Generator, n_buildings: int, residents: int, node_x: np.ndarray, node_y: np.ndarray,
              spacing_scale: float = 1.0) -> pd.DataFrame:
    """Residential buildings beside the street nodes, zone by zone (local metres).

    Returns columns ``x, y`` (local), ``district`` (zone label), ``population``, ``elderly``, ``children``; the
    zone's share of the buildings and residents per building come from :data:`~siting.demo.layout.ZONES`.
    """
    node_kind = zone_kind(zone_of(node_x, node_y))
    xs, ys, kinds = [], [], []
    for kind, count in zip(ZONES, split(n_buildings, [z["buildings"] for z in ZONES.values()]), strict=True):
        nodes = np.flatnonzero(node_kind == kind)
        if nodes.size == 0:  # a very coarse test network may lack a zone: its buildings go anywhere
            nodes = np.arange(node_x.size)
        # uneven street fronts: some streets are lined with buildings, others are not
        appeal = rng.lognormal(0.0, 0.8, nodes.size)
        at = rng.choice(nodes, size=count, p=appeal / appeal.sum())
        reach = 0.45 * ZONES[kind]["spacing"] * spacing_scale
        r = rng.uniform(6.0, max(reach, 8.0), count)
        angle = rng.uniform(0.0, 2 * np.pi, count)
        xs.append(np.clip(node_x[at] + r * np.cos(angle), 1.0, WIDTH - 1.0))
        ys.append(np.clip(node_y[at] + r * np.sin(angle), 1.0, HEIGHT - 1.0))
        kinds.append(np.full(count, kind, dtype=object))
    x, y, kind_of = np.concatenate(xs), np.concatenate(ys), np.concatenate(kinds)
    size = np.array([ZONES[k]["persons"] for k in kind_of]) * rng.lognormal(0.0, 0.6, x.size)
    pop = np.maximum(1, np.round(size / size.sum() * residents)).astype(np.int64)
    pop[np.argmax(pop)] += residents - pop.sum()
    el_share = np.clip(np.array([ZONES[k]["elderly"] for k in kind_of]) + rng.normal(0, 0.05, x.size), 0.0, 0.6)
    ch_share = np.clip(np.array([ZONES[k]["children"] for k in kind_of]) + rng.normal(0, 0.03, x.size), 0.0, 0.3)
    elderly = rng.binomial(pop, el_share)
    children = np.minimum(rng.binomial(pop, ch_share), pop - elderly)
    return pd.DataFrame({"x": x, "y": y, "district": zone_of(x, y).astype(str), "population": pop,
                         "elderly": elderly, "children": children})


def _voronoi(graph: sp.csr_matrix, seed: np.ndarray, offset_m: np.ndarray) -> np.ndarray:
    """Index of the seed each node joins: nearest along the streets after adding the seed's offset (-1: none).

    A virtual source linked to every seed by its offset; the shortest-path tree then gives each node its
    seed, and every community is connected (a node's whole path from its seed stays in the community).
    """
    n = graph.shape[0]
    links = sp.coo_matrix((offset_m + 1e-6, (np.full(seed.size, n), seed)), shape=(n + 1, n + 1))
    full = sp.csr_matrix(sp.block_diag([graph, sp.csr_matrix((1, 1))]).tocsr() + links.tocsr())
    _, pred = dijkstra(full, directed=False, indices=np.array([n]), return_predecessors=True)
    root = np.where(pred[0, :n] >= 0, pred[0, :n], -1).astype(np.int64)
    root[seed] = seed
    unreached = root < 0
    root[unreached] = np.flatnonzero(unreached)
    for _ in range(64):  # pointer jumping: log2(depth) rounds reach the seeds
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    index_of = np.full(n, -1, dtype=np.int64)
    index_of[seed] = np.arange(seed.size)
    return np.where(unreached, -1, index_of[root])


def _balanced_voronoi(graph: sp.csr_matrix, seed: np.ndarray, piece: np.ndarray, home: np.ndarray,
                      population: np.ndarray, rounds: int = 25) -> np.ndarray:
    """Graph Voronoi partition whose seed offsets grow for crowded communities, evening out their residents."""
    offset = np.zeros(seed.size)
    share_piece = piece[seed]
    best, best_spread = _voronoi(graph, seed, offset), np.inf
    for _ in range(rounds):
        community = _voronoi(graph, seed, offset)
        people = np.bincount(community[home], weights=population, minlength=seed.size)
        target = np.array([people[share_piece == p].mean() for p in share_piece])
        spread = float(np.max(np.abs(people / target - 1.0)))
        if spread < best_spread:
            best, best_spread = community, spread
        offset = np.maximum(0.0, offset + 150.0 * (people / target - 1.0))
        offset -= np.array([offset[share_piece == p].min() for p in share_piece])
    return best


def _kmeans(rng: np.random.Generator, points: np.ndarray, k: int, rounds: int = 20) -> np.ndarray:
    """``k`` centres of ``points`` (Lloyd's iterations from ``k`` distinct random points)."""
    distinct = np.unique(points, axis=0)
    centres = distinct[rng.choice(distinct.shape[0], size=min(k, distinct.shape[0]), replace=False)]
    for _ in range(rounds):
        _, near = cKDTree(centres).query(points)
        count = np.bincount(near, minlength=centres.shape[0])
        sums = np.column_stack([np.bincount(near, weights=points[:, d], minlength=centres.shape[0])
                                for d in range(2)])
        full = count > 0
        centres[full] = sums[full] / count[full, None]
    return centres


@dataclass(frozen=True)
class Communities:
    """Community of every street node (``-1`` for nodes of unpopulated network pieces) and the seeds' nodes."""

    node_x: np.ndarray
    node_y: np.ndarray
    node_community: np.ndarray   # int, index into labels
    seed_node: np.ndarray        # street node at the centre of each community, in label order
    labels: tuple[str, ...]

    @classmethod
    def build(cls, rng: np.random.Generator, n_communities: int, node_x: np.ndarray, node_y: np.ndarray,
              edges: np.ndarray, is_bridge: np.ndarray, bx: np.ndarray, by: np.ndarray,
              population: np.ndarray) -> Communities:
        """Partition the street network (without its bridges) into about ``n_communities`` communities.

        Each connected piece of the bridge-less network with residents gets communities in proportion to its
        residents (at least one); seeds are k-means centres of population-weighted building samples.
        """
        n = node_x.size
        a, b = edges[~is_bridge, 0], edges[~is_bridge, 1]
        length = np.maximum(np.hypot(node_x[a] - node_x[b], node_y[a] - node_y[b]), 1e-3)
        graph = sp.coo_matrix((length, (a, b)), shape=(n, n)).tocsr()
        _, piece = connected_components(graph, directed=False)
        _, nearest = cKDTree(np.column_stack([node_x, node_y])).query(np.column_stack([bx, by]))
        home = np.asarray(nearest, dtype=np.int64)
        people = np.bincount(piece[home], weights=population, minlength=piece.max() + 1)
        lived = np.flatnonzero(people > 0)
        counts = np.maximum(1, split(max(n_communities, lived.size), people[lived]))
        seeds = []
        for p, k in zip(lived, counts, strict=True):
            mine = np.flatnonzero(piece[home] == p)
            draw = rng.choice(mine, size=min(40 * int(k), 20_000), p=population[mine] / population[mine].sum())
            centres = _kmeans(rng, np.column_stack([bx[draw], by[draw]]), int(k))
            nodes = np.flatnonzero(piece == p)
            _, at = cKDTree(np.column_stack([node_x[nodes], node_y[nodes]])).query(centres)
            seeds.append(np.unique(nodes[at]))
        seed = np.concatenate(seeds)
        # labels run north to south in 2 km bands, west to east within a band
        seed = seed[np.lexsort((node_x[seed], np.floor((HEIGHT - node_y[seed]) / 2_000.0)))]
        community = _balanced_voronoi(graph, seed, piece, home, population)
        width = max(2, len(str(seed.size)))
        return cls(node_x, node_y, community, seed, tuple(f"C{i:0{width}d}" for i in range(1, seed.size + 1)))

    def of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Community label of local points: the community of the nearest street node that has one."""
        known = np.flatnonzero(self.node_community >= 0)
        _, at = cKDTree(np.column_stack([self.node_x[known], self.node_y[known]])).query(np.column_stack([x, y]))
        return np.asarray(self.labels, dtype=object)[self.node_community[known[at]]]

    def centre(self, label: str) -> tuple[float, float]:
        """Local coordinates of a community's seed node."""
        i = self.seed_node[self.labels.index(label)]
        return float(self.node_x[i]), float(self.node_y[i])


def demand_table(bld: pd.DataFrame, communities: Communities) -> pd.DataFrame:
    """The ``demand.csv`` table: ``id, population, elderly, children, x, y, district, community`` (UTM metres)."""
    order = np.lexsort((bld["x"].to_numpy(), bld["district"].to_numpy()))
    b = bld.iloc[order].reset_index(drop=True)
    width = max(5, len(str(len(b))))
    return pd.DataFrame({
        "id": [f"bld{i:0{width}d}" for i in range(1, len(b) + 1)],
        "population": b["population"].to_numpy(),
        "elderly": b["elderly"].to_numpy(),
        "children": b["children"].to_numpy(),
        "x": np.round(b["x"].to_numpy() + X0, 1),
        "y": np.round(b["y"].to_numpy() + Y0, 1),
        "district": b["district"].to_numpy(),
        "community": communities.of(b["x"].to_numpy(), b["y"].to_numpy()),
    })
