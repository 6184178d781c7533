"""Independent reference: networkx Dijkstra on a graph where every snapped point is a real node.

Each segment carrying points is split at their positions (one chain per segment), each point is
joined to its position by its access leg; then networkx computes point-to-point shortest paths.
"""
from __future__ import annotations

import math
from itertools import pairwise

import networkx as nx
import numpy as np

from siting.travel.graph import arc_table
from siting.travel.snap import snap_points


def stair_model_costs(graph, *, speed_m_s, ascent_m_per_s, descent_m_per_s, optimum_grade=-0.05, uphill_k=3.5,
                      downhill_k=3.5):
    """Flat-equivalent metres per segment and direction, written out piece by piece in plain Python.

    Street piece: l / f(S) with f(S) = exp(-k |S - S*|) / exp(-k0 |S*|) (k = uphill_k above S*, downhill_k below);
    stair piece: (l / v + climb / ascent + drop / descent) * v.
    """
    def factor(slope):
        k = uphill_k if slope > optimum_grade else downhill_k
        k0 = uphill_k if 0.0 > optimum_grade else downhill_k
        return math.exp(-k * abs(slope - optimum_grade)) / math.exp(-k0 * abs(optimum_grade))

    fwd = [0.0] * graph.n_segments
    bwd = [0.0] * graph.n_segments
    for seg, length, rise in zip(graph.piece_seg.tolist(), graph.piece_len_m.tolist(), graph.piece_rise_m.tolist(),
                                 strict=True):
        rise = 0.0 if rise != rise else rise
        for out, r in ((fwd, rise), (bwd, -rise)):
            if graph.seg_stairs[seg]:
                seconds = length / speed_m_s + max(r, 0.0) / ascent_m_per_s + max(-r, 0.0) / descent_m_per_s
                out[seg] += seconds * speed_m_s
            else:
                out[seg] += length / factor(r / length if length > 0 else 0.0)
    fwd = np.where(graph.seg_fwd, fwd, np.inf)
    bwd = np.where(graph.seg_bwd, bwd, np.inf)
    return fwd, bwd


def reference_minutes(graph, demand, sites, *, cutoff_min, speed_m_s=1.0, use_slope=True, stairs_factor=0.5,
                      max_snap_m=300.0, costs=None):
    """Minutes by networkx; ``costs`` = (fwd, bwd) flat-equivalent metres at ``speed_m_s`` (default: legacy)."""
    fwd, bwd = costs if costs is not None else graph.segment_costs(use_slope=use_slope, stairs_factor=stairs_factor)
    G = nx.DiGraph()
    G.add_nodes_from(range(graph.n_nodes))
    for a, b, c in zip(*arc_table(graph, fwd, bwd), strict=True):
        G.add_edge(int(a), int(b), w=float(c))
    ds = snap_points(graph, demand.x, demand.y, max_distance_m=max_snap_m)
    ss = snap_points(graph, sites.x, sites.y, max_distance_m=max_snap_m)
    on_seg: dict[int, list] = {}
    for name, sn in (("d", ds), ("s", ss)):
        for k in range(len(sn)):
            if sn.seg[k] >= 0:
                on_seg.setdefault(int(sn.seg[k]), []).append((float(sn.frac[k]), (name, k), float(sn.access_m[k])))
    for s, pts in on_seg.items():
        u, v = int(graph.seg_u[s]), int(graph.seg_v[s])
        pts.sort(key=lambda p: p[0])
        chain = [(0.0, u)] + [(f, ("on",) + p) for f, p, _ in pts] + [(1.0, v)]
        for (f0, a0), (f1, a1) in pairwise(chain):
            if np.isfinite(fwd[s]):
                G.add_edge(a0, a1, w=(f1 - f0) * fwd[s])
            if np.isfinite(bwd[s]):
                G.add_edge(a1, a0, w=(f1 - f0) * bwd[s])
        for _, p, acc in pts:
            G.add_edge(p, ("on",) + p, w=acc)
            G.add_edge(("on",) + p, p, w=acc)
    limit = cutoff_min * 60.0 * speed_m_s
    out = {}
    for i in range(len(demand)):
        if ("d", i) not in G:
            continue
        dist = nx.single_source_dijkstra_path_length(G, ("d", i), cutoff=limit, weight="w")
        for j in range(len(sites)):
            if ("s", j) in dist:
                out[(str(demand["id"].iloc[i]), str(sites["id"].iloc[j]))] = dist[("s", j)] / (60.0 * speed_m_s)
    return out


def as_dict(df):
    return {(a, b): m for a, b, m in df[["demand_id", "candidate_id", "minutes"]].itertuples(index=False)}
