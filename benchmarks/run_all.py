"""Run every benchmark script in turn, each in its own process, and print their tables.

``make bench`` runs the quick set (minutes); ``--full`` adds the city-scale and largest peer runs
(about an hour on 2 cores). ``--only NAME ...`` picks scripts by name. Nothing here is a test:
speed targets live in these printed tables, never in the unit tests.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (quick arguments, full arguments)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "backends": (["backends_bench.py", "--time-limit", "30"], ["backends_bench.py"]),
    "spopt": (["spopt_compare.py", "--sizes", "1k", "5k"], ["spopt_compare.py"]),
    "travel": (["travel_bench.py", "--nodes", "50000", "--sources", "1000", "--targets", "1000", "--repeat", "1"],
               ["travel_bench.py"]),
    "scale": (["scale_bench.py", "--case", "60k"], ["scale_bench.py", "--case", "both"]),
    "classic": (["classic_bench.py"], ["classic_bench.py"]),
    "pmed": (["pmed_bench.py", "--pmedian", "1-10", "--pcenter", "1-5", "--spopt", "1-5", "--spopt-pcenter", "1-3"],
             ["pmed_bench.py", "--pmedian", "1-40", "--pcenter", "1-10"]),
    "cap": (["cap_bench.py"], ["cap_bench.py"]),
    "evaluate": (["evaluate_bench.py", "--sizes", "1k", "10k"], ["evaluate_bench.py"]),
    "scp": (["scp_bench.py", "--time-limit", "60"], ["scp_bench.py"]),
    "partial": (["partial_bench.py", "--cases", "20k:20"], ["partial_bench.py", "--cases", "20k:20,20k:60,60k:60"]),
    "multiservice": (["multiservice_scale_bench.py", "--case", "20k", "--time-limit", "120"],
                     ["multiservice_scale_bench.py", "--case", "150k", "--time-limit", "300"]),
    "travel_city": (["travel_city_bench.py", "--nodes", "50000", "--demand", "100000", "--candidates", "5000"],
                    ["travel_city_bench.py"]),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full", action="store_true", help="the issue-sized runs (long)")
    ap.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS))
    args = ap.parse_args(argv)
    failed = []
    for name in args.only:
        quick, full = BENCHMARKS[name]
        cmd = [sys.executable, str(HERE / (full if args.full else quick)[0]), *(full if args.full else quick)[1:]]
        print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
        started = time.perf_counter()
        code = subprocess.call(cmd)
        print(f"=== {name}: exit {code}, {time.perf_counter() - started:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
