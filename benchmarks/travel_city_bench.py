"""City-wide walking-time table: 1,000,000 demand points x 50,000 candidates within 15 minutes, streamed.

A synthetic hilly street network of ``--nodes`` nodes (``siting.travel.synthetic``: perturbed grid, removed
streets, diagonals, Tobler slopes, stairs), ``--demand`` and ``--candidates`` points scattered near streets,
cutoff ``--cutoff`` minutes at 1.0 m/s. Each method runs in its own subprocess; the timed call is
:func:`siting.travel.stream.stream_travel_times` end to end (checks, snapping index and snapping, the search,
the Parquet writer) — the network and points are generated before it and not timed.

* ``local``: this machine, ``--threads`` kernel threads;
* ``dask``: the same blocks on a fresh ``LocalCluster(n_workers=--workers, threads_per_worker=1,
  processes=True)`` (cluster start-up timed apart); the table must be byte-identical to ``local``'s.

Peak memory is the process's peak resident set (``ru_maxrss``, generation included) and, for Dask, the
workers' peak as sampled by psutil every 50 ms.

    .venv/bin/python benchmarks/travel_city_bench.py                          # 1M x 50k, local then dask
    .venv/bin/python benchmarks/travel_city_bench.py --demand 100000 --candidates 5000 --nodes 100000
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from targets import target_line  # noqa: E402


def _inputs(args):
    from siting.travel import random_points, street_network

    g = street_network(args.nodes, seed=0)
    d = random_points(g, args.demand, seed=1, prefix="d", offset_m=30)
    s = random_points(g, args.candidates, seed=2, prefix="s", offset_m=30)
    return g, d, s


class _WorkerPeak:
    """Peak resident memory of a set of processes (the Dask workers), sampled in a thread."""

    def __init__(self, pids):
        import psutil

        self.procs = [psutil.Process(p) for p in pids]
        self.peak = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, sum(p.memory_info().rss for p in self.procs))
            except Exception:  # noqa: BLE001 - a worker went away
                pass
            self.stop.wait(0.05)

    def close(self):
        self.stop.set()
        self.thread.join()
        return self.peak / 2**20


def child(args) -> dict:
    from siting.travel.stream import stream_travel_times

    t0 = time.perf_counter()
    g, d, s = _inputs(args)
    info = {"method": args.method, "nodes": g.n_nodes, "segments": g.n_segments, "demand": len(d),
            "candidates": len(s), "generate_s": time.perf_counter() - t0}
    out = Path(args.out_dir) / f"city_{args.method}.parquet"
    meta = lambda rows: {"kind": "travel_times", "cutoff_min": args.cutoff, "rows": rows}  # noqa: E731
    if args.method == "local":
        w0, c0 = time.perf_counter(), time.process_time()
        summary = stream_travel_times(g, d, s, out, cutoff_min=args.cutoff, threads=args.threads, metadata=meta)
        info.update(wall_s=time.perf_counter() - w0, cpu_s=time.process_time() - c0)
    else:
        from distributed import Client, LocalCluster

        w0 = time.perf_counter()
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
        info["cluster_start_s"] = time.perf_counter() - w0
        pids = list(client.run(os.getpid).values())
        sampler = _WorkerPeak(pids)
        w0 = time.perf_counter()
        summary = stream_travel_times(g, d, s, out, cutoff_min=args.cutoff, client=client, metadata=meta)
        info.update(wall_s=time.perf_counter() - w0, workers_peak_mb=sampler.close())
        client.close()
        cluster.close()
    digest = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
    info.update(rows=summary.rows, blocks=summary.blocks, file_mb=out.stat().st_size / 2**20, sha256=digest,
                peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if not args.keep:
        out.unlink()
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=500_000)
    ap.add_argument("--demand", type=int, default=1_000_000)
    ap.add_argument("--candidates", type=int, default=50_000)
    ap.add_argument("--cutoff", type=float, default=15.0)
    ap.add_argument("--threads", type=int, default=2, help="kernel threads of the local run")
    ap.add_argument("--workers", type=int, default=2, help="Dask workers")
    ap.add_argument("--methods", default="local,dask")
    ap.add_argument("--out-dir", default="out/bench-travel-city")
    ap.add_argument("--keep", action="store_true", help="keep the tables written")
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--method", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.method:
        print("\nRESULT " + json.dumps(child(args)))
        return
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    rows = []
    for m in args.methods.split(","):
        load = os.getloadavg()[0]
        cmd = [sys.executable, __file__, "--method", m, "--nodes", str(args.nodes), "--demand", str(args.demand),
               "--candidates", str(args.candidates), "--cutoff", str(args.cutoff), "--threads", str(args.threads),
               "--workers", str(args.workers), "--out-dir", args.out_dir] + (["--keep"] if args.keep else [])
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            rows.append({"method": m, "skipped": f"timed out after {args.timeout:g} s"})
            continue
        line = [x.split("RESULT ", 1)[1] for x in r.stdout.splitlines() if "RESULT " in x]
        if r.returncode != 0 or not line:
            rows.append({"method": m, "skipped": (r.stderr.strip().splitlines() or ["failed"])[-1]})
        else:
            rows.append({**json.loads(line[-1]), "load_before": load, "load_after": os.getloadavg()[0]})
        print(f"  done {m}", file=sys.stderr)
    first = next((r for r in rows if "nodes" in r), {})
    print(f"\ncity case: {first.get('nodes', 0):,} nodes, {first.get('segments', 0):,} segments; "
          f"{args.demand:,} demand x {args.candidates:,} candidates, cutoff {args.cutoff:g} min at 1.0 m/s "
          "(target: <= 600 s, <= 8 GB on 2 cores)")
    head = (f"{'method':<8}{'wall s':>9}{'rows':>14}{'blocks':>8}{'file MB':>9}{'peak RSS MB':>13}"
            f"{'workers MB':>12}  load (before/after)  sha256")
    print(head)
    print("-" * len(head))
    for r in rows:
        if "skipped" in r:
            print(f"{r['method']:<8}  skipped: {r['skipped']}")
            continue
        extra = f"; cluster start {r['cluster_start_s']:.1f} s" if "cluster_start_s" in r else ""
        print(f"{r['method']:<8}{r['wall_s']:>9.1f}{r['rows']:>14,}{r['blocks']:>8}{r['file_mb']:>9.1f}"
              f"{r['peak_rss_mb']:>13.0f}{r.get('workers_peak_mb', 0):>12.0f}  "
              f"{r['load_before']:.1f}/{r['load_after']:.1f}  {r['sha256']}{extra}")
    digests = {r["sha256"] for r in rows if "sha256" in r}
    if len(digests) > 1:
        print("WARNING: the tables differ between methods")
    elif len([r for r in rows if "sha256" in r]) > 1:
        print("identical tables (same sha256) on every method")
    local = next((r for r in rows if r.get("method") == "local" and "wall_s" in r), None)
    if local is not None:
        compared = len(digests) if any(r.get("method") != "local" and "sha256" in r for r in rows) else 0
        print(target_line("walking_1m", seconds=local["wall_s"], rss_gb=local["peak_rss_mb"] / 1024,
                          identical=None if compared == 0 else compared == 1))


if __name__ == "__main__":
    main()
