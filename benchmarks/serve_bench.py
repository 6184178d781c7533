"""``siting serve`` on the demo district: the first plan, then re-plans after budget changes, through the HTTP API.

    .venv/bin/python benchmarks/serve_bench.py [--scenario out/demo/data/demo.toml] [--out out/demo/serve]
        [--budgets 75e6 45e6] [--replan-limit 4] [--first-limit SECONDS] [--proposed]

Without ``--scenario`` the full-size demo district is generated into ``out/demo/data`` (seed 2026) when missing.
Each row is one ``POST /api/solve`` (FastAPI's test client, the same code path as the browser): wall seconds of
the request, the verified status and gap, the warm start the solve used, buildings and cost. The "done when" of
issue 12 is a re-plan row under 10 s with a plan (``has_solution``).

``--proposed`` applies, inside this process only, the two driver changes the serve report asks for, to measure
them before they land: (1) priority levels start from the model's warm start (emulated by a backend proxy that
hands a level stage that would start cold what serve's hook would give it: the kept vector, or its repair,
:func:`siting.serve.planner.start_for`, within half of the stage's time); (2) the redundant-site re-evaluation is
skipped when the time limit has no room for it (emulated by ``secondary.GENERIC_MAX_SITES = 0``; the result then
says ``redundancy.checked = false``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

ROOT = Path(__file__).resolve().parents[1]


def _demo_scenario() -> Path:
    path = ROOT / "out" / "demo" / "data" / "demo.toml"
    if not path.exists():
        from siting.demo.district import generate
        from siting.demo.scenarios import scenario_texts

        generate(path.parent, seed=2026)
        for name, text in scenario_texts(seed=2026).items():
            (path.parent / name).write_text(text)
    return path


def _proposed(vectors) -> None:
    """Emulate the proposed driver changes (see the module docstring) in this process."""
    import siting.models.levels as levels
    import siting.models.secondary as secondary
    from siting.serve.planner import start_for

    secondary.GENERIC_MAX_SITES = 0
    real = levels.get_backend

    class StartingBackend:
        """The first level stage gets what the serve warm-start hook would give it (kept vector or repair)."""

        def __init__(self, name):
            self._name, self._backend = name, real(name)

        def __getattr__(self, attr):
            return getattr(self._backend, attr)

        def solve(self, program, options, warm_start=None):
            if warm_start is None:
                half = 0.5 * (options.time_limit_s or 10.0)
                warm_start, what = start_for(program, vectors, backend=self._name, time_limit_s=half)
                print(f"{'':<11}level stage start: {what}")
                if warm_start is not None and options.time_limit_s:
                    options = replace(options, time_limit_s=max(0.05, options.time_limit_s - half))
            return self._backend.solve(program, options, warm_start=warm_start)

    levels.get_backend = StartingBackend


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", type=Path)
    ap.add_argument("--out", type=Path, help="output folder (walking-time cache); default as siting solve")
    ap.add_argument("--budgets", type=float, nargs="+", default=[75e6, 45e6])
    ap.add_argument("--replan-limit", type=float, default=None, help="re-plan time limit (default: the page's)")
    ap.add_argument("--first-limit", type=float, default=None, help="first plan's time limit (default: scenario)")
    ap.add_argument("--proposed", action="store_true", help="emulate the proposed driver changes")
    args = ap.parse_args()

    from fastapi.testclient import TestClient

    from siting.serve.app import create_app
    from siting.serve.planner import REPLAN_TIME_LIMIT_S

    scenario = args.scenario or _demo_scenario()
    t0 = time.perf_counter()
    app = create_app(scenario, out_dir=args.out)
    client = TestClient(app)
    state = app.state.serve
    started = time.perf_counter() - t0
    t0 = time.perf_counter()
    page = client.get("/api/scenario")
    print(f"scenario: {scenario}  ({state.planner.instance.n_demand} demand points, "
          f"{state.planner.instance.n_sites} sites)")
    print(f"server start (prepare + load): {started:.1f} s; GET /api/scenario: {time.perf_counter() - t0:.1f} s, "
          f"{len(page.content) / 1e6:.1f} MB")
    if args.proposed:
        _proposed(state.jobs.session("bench").vectors)
        print("proposed driver changes emulated in this process (see the module docstring)")
    replan = args.replan_limit or REPLAN_TIME_LIMIT_S
    rows = [("first plan", None, args.first_limit)] + [("re-plan", b, replan) for b in args.budgets]
    head = f"{'request':<11}{'budget':>13}{'limit s':>8}{'wall s':>8}  {'status':<11}{'gap':>8}  " \
           f"{'warm start':<40}{'buildings':>9}{'cost':>14}"
    print(head)
    print("-" * len(head))
    for what, budget, limit in rows:
        body = {} if budget is None else {"budget": budget}
        if limit is not None:
            body["time_limit"] = limit
        t0 = time.perf_counter()
        r = client.post("/api/solve", json=body, headers={"X-Siting-Session": "bench"})
        wall = time.perf_counter() - t0
        j = r.json()
        if r.status_code != 200:
            print(f"{what:<11}{budget or 0:>13,.0f}{limit or 0:>8g}{wall:>8.1f}  HTTP {r.status_code}: {j.get('detail')}")
            continue
        gap = "—" if j["gap"] is None else f"{j['gap']:.2%}"
        print(f"{what:<11}{j['budget']:>13,.0f}{(limit or state.planner.scenario.solver.time_limit or 0):>8g}{wall:>8.1f}  "
              f"{j['status']:<11}{gap:>8}  {j['warm_start'][:39]:<40}{len(j['selected']):>9}{j['total_cost']:>14,.0f}")
        red = j["stats"].get("redundancy") or {}
        print(f"{'':<11}redundancy check: {red.get('method')}, checked={red.get('checked')}, "
              f"{red.get('seconds', 0) or 0:.1f} s; levels: "
              + ", ".join(f"{lv['level']}:{lv['termination']} {lv['seconds']:.1f}s"
                          for lv in j["stats"].get("priority_levels", [])))


if __name__ == "__main__":
    main()
