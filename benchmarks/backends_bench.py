"""Per-backend build/solve table on one random spatial MCLP (5000 demand x 500 sites, ~1.5% density, p = 20).

    .venv/bin/python benchmarks/backends_bench.py [--time-limit 60] [--seed 0] [--backends highs,scipy,...]

The program is the classic maximal covering model: binary site x_j and demand y_i,
max sum_i w_i y_i  s.t.  y_i <= sum_{j in N(i)} x_j,  sum_j x_j <= p. ``build s`` is the backend's own
hand-over time (``stats["build_s"]``), ``solve s`` the rest of its wall time; ``covered`` is recomputed from x.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from siting.backends import available_backends, get_backend  # noqa: E402
from siting.options import SolveOptions  # noqa: E402
from siting.program import LinearProgram, Sense  # noqa: E402

CONFIGS = {
    "highs": ("highs", {}),
    "scipy": ("scipy", {}),
    "cbc": ("cbc", {}),
    "ortools-scip": ("ortools", {"ortools": {"solver": "scip"}}),
    "ortools-highs": ("ortools", {"ortools": {"solver": "highs"}}),
    "ortools-cbc": ("ortools", {"ortools": {"solver": "cbc"}}),
    "ortools-cp_sat": ("ortools", {"ortools": {"solver": "cp_sat"}}),
}


def spatial_mclp(n_demand: int = 5000, n_sites: int = 500, density: float = 0.015, max_sites: int = 20,
                 seed: int = 0) -> tuple[LinearProgram, sp.csr_matrix, np.ndarray]:
    """Random points in the unit square; the radius is the ``density`` quantile of sampled demand-site distances."""
    rng = np.random.default_rng(seed)
    demand = rng.random((n_demand, 2))
    sites = rng.random((n_sites, 2))
    w = rng.integers(50, 500, n_demand).astype(float)
    i = rng.integers(0, n_demand, 200_000)
    j = rng.integers(0, n_sites, 200_000)
    radius = float(np.quantile(np.linalg.norm(demand[i] - sites[j], axis=1), density))
    cov = cKDTree(demand).sparse_distance_matrix(cKDTree(sites), radius, output_type="coo_matrix").tocsr()
    cov.data[:] = 1.0
    cov.eliminate_zeros()
    n = n_sites + n_demand
    link = sp.hstack([-cov, sp.identity(n_demand, format="csr")], format="csr")
    card = sp.csr_matrix(np.concatenate([np.ones(n_sites), np.zeros(n_demand)])[None, :])
    program = LinearProgram(
        sense=Sense.MAXIMIZE,
        objective=np.concatenate([np.zeros(n_sites), w]),
        constraints=sp.vstack([link, card], format="csr"),
        row_lower=np.full(n_demand + 1, -np.inf),
        row_upper=np.concatenate([np.zeros(n_demand), [float(max_sites)]]),
        col_lower=np.zeros(n),
        col_upper=np.ones(n),
        integrality=np.ones(n, dtype=bool),
        name=f"spatial_mclp_{n_demand}x{n_sites}",
        blocks={"site": (0, n_sites), "demand": (n_sites, n)},
    )
    return program, cov, w


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--backends", default=",".join(CONFIGS))
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    program, cov, w = spatial_mclp(seed=args.seed)
    print(f"{program.name}: {program.n_rows} rows, {program.n_cols} cols, coverage nnz {cov.nnz} "
          f"({cov.nnz / (cov.shape[0] * cov.shape[1]):.2%}), A nnz {program.constraints.nnz}, "
          f"instance {time.perf_counter() - t0:.2f} s; time limit {args.time_limit:g} s; load {os.getloadavg()[0]:.2f}")
    have = set(available_backends())
    rows = []
    for label in args.backends.split(","):
        name, bopts = CONFIGS[label]
        if name not in have:
            rows.append((label, "-", "-", "-", "-", "-", "unavailable"))
            continue
        opts = SolveOptions(time_limit_s=args.time_limit, mip_gap=1e-6, threads=args.threads, seed=args.seed,
                            backend_options=bopts)
        sol = get_backend(name).solve(program, opts)
        covered = "-"
        if sol.x is not None:
            open_sites = program.block(sol.x, "site") > 0.5
            covered = f"{float(w @ ((cov @ open_sites.astype(float)) > 0)):.0f}"
        obj = "-" if sol.objective is None else f"{sol.objective:.0f}"
        bound = "-" if sol.bound is None else f"{sol.bound:.0f}"
        build_s, solve_s = sol.stats.get("build_s", float("nan")), sol.stats.get("solve_s", float("nan"))
        rows.append((label, f"{build_s:.3f}", f"{solve_s:.2f}", obj, bound, covered, str(sol.termination)))
    head = ("backend", "build s", "solve s", "objective", "bound", "covered", "termination")
    widths = [max(len(r[k]) for r in [head, *rows]) for k in range(len(head))]
    print("| " + " | ".join(h.ljust(wd) for h, wd in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (wd + 2) for wd in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(wd) for c, wd in zip(r, widths, strict=True)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
