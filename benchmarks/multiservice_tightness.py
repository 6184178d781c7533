"""How tight is the multi-service certificate? The Lagrangian bound and siting's plan against the proven optimum.

At city size (``multiservice_scale_bench.py --case 150k``) nobody knows the optimum, so a certified gap of ~1 %
could be a weak plan or a weak bound. This script answers that on smaller generated cities of the same kind
(same generator, services and budget rule as ``multiservice_scale_bench.py``) where the optimum can be proven:

* ``plain``: the reference is plain HiGHS on the whole program (no heuristics, ``mip_gap`` 1e-6), also the peer
  whose time is compared; ``policy`` (floors, priorities, three phases): the reference is siting's own driver
  with ``--exact-limit`` and ``mip_gap`` 1e-6 (each priority level proven in turn);
* ``Lagrangian above optimum``: the converged Lagrangian bound alone (:mod:`siting.models.multiservice_lagrange`,
  the bound the warm start computes at city size, where no solver bound comes close);
* ``bound above optimum``: the bound siting certifies with ``--time-limit`` (the tighter of the solver's and
  the Lagrangian bound, :mod:`siting.models.multiservice_lagrange`) against the optimum;
* ``plan below optimum``: siting's plan from the same solve against the optimum; ``certified gap``: what
  siting reports.

Both siting runs use ``secondary = "none"`` (no second stage for the cheapest of the best plans), as plain
HiGHS solves the primary objective only.

Usage::

    .venv/bin/python benchmarks/multiservice_tightness.py --cases 4k 8k --seeds 0 1 --time-limit 60
    .venv/bin/python benchmarks/multiservice_tightness.py --cases 12k --seeds 0 --time-limit 60 --exact-limit 900
    .venv/bin/python benchmarks/multiservice_tightness.py --variant policy --cases 4k --seeds 0 --time-limit 60

Prints a markdown table with ``uptime`` load averages.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from multiservice_scale_bench import _load, city_multiservice, params_of  # noqa: E402

from siting.backends import get_backend  # noqa: E402
from siting.data.instance import Instance  # noqa: E402
from siting.models.base import Model  # noqa: E402
from siting.models.driver import solve_model  # noqa: E402
from siting.models.multiservice import MultiserviceParams  # noqa: E402
from siting.models.multiservice_lagrange import lagrange_bound  # noqa: E402
from siting.models.multiservice_reach import reach_of  # noqa: E402
from siting.models.registry import get_model  # noqa: E402
from siting.options import SolveOptions  # noqa: E402
from siting.rules import SiteRules  # noqa: E402
from siting.status import Termination  # noqa: E402

#: demand points x candidate buildings; the city grows with them, at the density of the scale bench
CASES = {"4k": (4_000, 400), "8k": (8_000, 800), "12k": (12_000, 1_200), "20k": (20_000, 2_000)}


def _pct(a: float, b: float) -> str:
    return f"{100 * (a - b) / abs(b):.2f}%"


def _exact(model: Model[Any], instance: Instance, params: MultiserviceParams, rules: SiteRules, policy: bool,
           limit_s: float) -> tuple[float | None, float, str]:
    """(the proven optimum or None, seconds, what was run)."""
    t0 = time.perf_counter()
    if policy:
        result = solve_model(model, instance, params, backend="highs",
                             options=SolveOptions(time_limit_s=limit_s, mip_gap=1e-6, secondary="none"))
        proven = result.termination is Termination.OPTIMAL and result.objective is not None
        return (result.objective if proven else None), time.perf_counter() - t0, "siting"
    assert model.build is not None
    built = model.build(instance, params, rules)
    exact = get_backend("highs").solve(built.program, SolveOptions(time_limit_s=limit_s, mip_gap=1e-6))
    proven = exact.termination is Termination.OPTIMAL and exact.objective is not None
    return (exact.objective if proven else None), time.perf_counter() - t0, "plain HiGHS"


def run(case: str, variant: str, seed: int, time_limit_s: float, exact_limit_s: float) -> str:
    """One table row: optimum, bound, plan and gap of one generated city."""
    n_demand, n_sites = CASES[case]
    instance = city_multiservice(n_demand, n_sites, seed=seed)
    params = MultiserviceParams.from_kwargs(params_of(instance, variant == "policy", seed))
    rules = SiteRules.of(instance)
    model = get_model("multiservice")
    optimum, exact_s, who = _exact(model, instance, params, rules, variant == "policy", exact_limit_s)
    # the Lagrangian alone, converged (plain only: with priorities its figure depends on the held level)
    lagrangian = None if variant == "policy" else \
        lagrange_bound(reach_of(instance, params, rules), params, rules.counts, target=0.0).bound
    t0 = time.perf_counter()
    result = solve_model(model, instance, params, backend="highs",
                         options=SolveOptions(time_limit_s=time_limit_s, mip_gap=1e-4, secondary="none"))
    siting_s = time.perf_counter() - t0
    plan = float(result.objective) if result.objective is not None else float("nan")
    bound = float("nan") if result.best_bound is None else float(result.best_bound)
    gap = "-" if result.gap is None else f"{100 * result.gap:.2f}%"
    head = f"| {case} | {variant} | {seed} |"
    if optimum is None:
        return (f"{head} not proven in {exact_s:.0f} s ({who}) | - | {bound:.6f} | - | {plan:.6f} | - | {gap} | "
                f"{siting_s:.1f} | - | {_load()} |")
    lag = "-" if lagrangian is None else f"{lagrangian:.6f} ({_pct(lagrangian, optimum)})"
    return (f"{head} {optimum:.6f} ({who}, {exact_s:.0f} s) | {lag} | {bound:.6f} | {_pct(bound, optimum)} | {plan:.6f} | "
            f"{_pct(optimum, plan)} | {gap} | {siting_s:.1f} | {exact_s / siting_s:.1f}x | {_load()} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", choices=list(CASES), default=["4k", "8k"])
    ap.add_argument("--variant", choices=["plain", "policy"], default="plain")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--time-limit", type=float, default=60.0, help="siting's time limit per city (s)")
    ap.add_argument("--exact-limit", type=float, default=900.0, help="the reference's time limit per city (s)")
    args = ap.parse_args(argv)
    print(f"\n### multi-service certificate against the proven optimum (siting {args.time_limit:g} s; {_load()})\n")
    print("| case | variant | seed | optimum (reference, s) | Lagrangian (above optimum) | siting bound "
          "| bound above optimum | siting plan | plan below optimum | certified gap | siting s | reference s / siting s "
          "| load |")
    print("|---" * 13 + "|", flush=True)
    for case in args.cases:
        for seed in args.seeds:
            print(run(case, args.variant, seed, args.time_limit, args.exact_limit), flush=True)
    print(f"\n({_load()} at the end)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
