"""Walking times equal networkx shortest paths (directed, undirected, with slopes, points on edges)."""
from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from siting.travel import SpeedProfile, compute_travel_times, from_networkx, random_points, street_network
from siting.travel.matrix import numba_available

from .reference import as_dict, reference_minutes

ENGINES = ["scipy"] + (["numba"] if numba_available() else [])


def _tobler_kmh(slope):
    return 6.0 * math.exp(-3.5 * abs(slope + 0.05))


def _random_graph(seed, n=60, directed=False, elevation=False):
    rng = np.random.default_rng(seed)
    G = nx.DiGraph() if directed else nx.Graph()
    xy = rng.uniform(0, 800, size=(n, 2))
    z = rng.uniform(0, 60, n)
    for k in range(n):
        G.add_node(f"n{k}", x=float(xy[k, 0]), y=float(xy[k, 1]), **({"elevation": float(z[k])} if elevation else {}))
    for k in range(n):
        for m in rng.choice(n, 3, replace=False):
            if m != k:
                length = float(np.hypot(*(xy[k] - xy[m]))) * rng.uniform(1.0, 1.3)
                G.add_edge(f"n{k}", f"n{m}", length=length)
    return G


def _expected_nx(G, nodes_d, nodes_s, *, speed, cutoff, slope):
    """Minutes computed directly on the networkx graph with an in-test Tobler weight."""
    H = G if G.is_directed() else G.to_directed()
    for a, b, d in H.edges(data=True):
        f = 1.0
        if slope:
            s = (H.nodes[b]["elevation"] - H.nodes[a]["elevation"]) / d["length"]
            f = _tobler_kmh(s) / _tobler_kmh(0.0)
        d["t"] = d["length"] / (speed * f) / 60.0
    out = {}
    for a in nodes_d:
        dist = nx.single_source_dijkstra_path_length(H, a, cutoff=cutoff, weight="t")
        for b in nodes_s:
            if b in dist:
                out[(a, b)] = dist[b]
    return out


def _node_points(G, names):
    return pd.DataFrame({"id": names, "x": [G.nodes[n]["x"] for n in names], "y": [G.nodes[n]["y"] for n in names]})


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("directed,slope", [(False, False), (True, False), (False, True), (True, True)])
def test_node_to_node_equals_networkx(engine, directed, slope):
    G = _random_graph(3, directed=directed, elevation=slope)
    names = list(G.nodes)
    dem, sit = names[:25], names[25:40]
    got = compute_travel_times(from_networkx(G), _node_points(G, dem), _node_points(G, sit), cutoff_min=12,
                               profile=SpeedProfile(groups={"adult": 1.1}, use_slope=slope), engine=engine)
    exp = _expected_nx(G, dem, sit, speed=1.1, cutoff=12, slope=slope)
    got = as_dict(got)
    assert len(exp) > 20
    assert set(got) == set(exp)
    assert max(abs(got[k] - exp[k]) for k in exp) < 1e-9


def test_directed_slope_gives_asymmetric_times():
    G = nx.Graph()
    G.add_node("a", x=0.0, y=0.0, elevation=0.0)
    G.add_node("b", x=300.0, y=0.0, elevation=30.0)
    G.add_edge("a", "b")
    g = from_networkx(G)
    pa, pb = _node_points(G, ["a"]), _node_points(G, ["b"])
    up = compute_travel_times(g, pa, pb, cutoff_min=30)["minutes"].item()
    down = compute_travel_times(g, pb, pa, cutoff_min=30)["minutes"].item()
    assert up == pytest.approx(300 / (_tobler_kmh(0.1) / _tobler_kmh(0)) / 60)
    assert down == pytest.approx(300 / 60)  # slope -0.1: Tobler gives the flat speed again
    assert up > down


@pytest.mark.parametrize("engine", ENGINES)
def test_points_on_edges_equal_split_graph_reference(engine):
    g = street_network(900, seed=5)
    d = random_points(g, 120, seed=1, prefix="d")
    s = random_points(g, 30, seed=2, prefix="s")
    legacy = SpeedProfile(stairs_factor=0.5)
    got = as_dict(compute_travel_times(g, d, s, cutoff_min=10, engine=engine, profile=legacy))
    exp = reference_minutes(g, d, s, cutoff_min=10)
    assert len(exp) > 100
    assert set(got) == set(exp)
    assert max(abs(got[k] - exp[k]) for k in exp) < 1e-9


def test_reverse_search_matches_forward():
    """Fewer sites than demand points: the search runs backwards from the sites; same table."""
    g = street_network(900, seed=6)
    d = random_points(g, 40, seed=1, prefix="d")
    s = random_points(g, 10, seed=2, prefix="s")
    small = as_dict(compute_travel_times(g, d, s, cutoff_min=10))             # reversed (10 sources)
    big = as_dict(compute_travel_times(g, d.iloc[:5], s, cutoff_min=10))      # forward (5 sources)
    assert set(big) <= set(small) and len(big) > 0
    assert max(abs(big[k] - small[k]) for k in big) < 1e-9


def test_engines_agree_on_a_larger_graph():
    if not numba_available():
        pytest.skip("numba not installed")
    g = street_network(6000, seed=2)
    d = random_points(g, 400, seed=3, prefix="d")
    s = random_points(g, 300, seed=4, prefix="s")
    a = compute_travel_times(g, d, s, cutoff_min=15, engine="scipy")
    b = compute_travel_times(g, d, s, cutoff_min=15, engine="numba")
    assert len(a) == len(b) > 1000
    assert (a["demand_id"].to_numpy() == b["demand_id"].to_numpy()).all()
    assert (a["candidate_id"].to_numpy() == b["candidate_id"].to_numpy()).all()
    assert np.abs(a["minutes"].to_numpy() - b["minutes"].to_numpy()).max() < 1e-9


def test_groups_are_exact_rescalings_and_respect_cutoff():
    g = street_network(900, seed=7)
    d = random_points(g, 60, seed=1, prefix="d")
    s = random_points(g, 20, seed=2, prefix="s")
    prof = SpeedProfile.default(elderly=True, stairs_factor=0.5)  # legacy: one search, exact rescaling
    t = compute_travel_times(g, d, s, cutoff_min=10, profile=prof)
    assert t.attrs["searches"] == 1
    adult, old = t[t["group"] == ""], t[t["group"] == "elderly"]
    assert adult["minutes"].max() <= 10 and old["minutes"].max() <= 10
    assert len(old) < len(adult)
    ref_old = as_dict(old)
    exp = reference_minutes(g, d, s, cutoff_min=10, speed_m_s=0.76)
    assert set(ref_old) == set(exp)
    assert max(abs(ref_old[k] - exp[k]) for k in exp) < 1e-9


def test_numba_threads_and_entry_compaction_stay_exact():
    """Two threads, and a tiny bucket-entry pool that forces stale-entry compaction."""
    if not numba_available():
        pytest.skip("numba not installed")
    from siting.travel.matrix import od_costs, search_graph
    from siting.travel.snap import snap_points

    g = street_network(2500, seed=9)
    d = random_points(g, 300, seed=1, prefix="d")
    s = random_points(g, 200, seed=2, prefix="s")
    ds, ss = snap_points(g, d.x, d.y), snap_points(g, s.x, s.y)
    sg = search_graph(g, *g.segment_costs())
    for limit, kw in ((900, {"threads": 2}), (1e6, {"_capacity": 0}), (3000, {"_capacity": 0})):
        ref = od_costs(sg, ds, ss, limit_m=limit, engine="scipy")
        got = od_costs(sg, ds, ss, limit_m=limit, engine="numba", **kw)
        o1, o2 = np.lexsort((ref[1], ref[0])), np.lexsort((got[1], got[0]))
        assert np.array_equal(ref[0][o1], got[0][o2]) and np.array_equal(ref[1][o1], got[1][o2])
        assert np.abs(ref[2][o1] - got[2][o2]).max() < 1e-9
