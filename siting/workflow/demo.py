"""``siting demo``: the demo district end to end (what ``make demo`` runs).

Steps, each timed: generate the district into ``<out>/data`` (skipped when the same seed is already there),
walking times over its street network (cached), a budget sweep of the multi-service model (Dask; resumable),
the ranking of idle buildings, a comparison with the equal-weights variant of the scenario, and the report
(HTML + GeoPackage) in ``<out>/report``.

Example
-------
>>> from siting.workflow.demo import run_demo
>>> res = run_demo("out/demo", quiet=True)  # doctest: +SKIP
>>> res.report  # doctest: +SKIP
PosixPath('out/demo/report/report.html')
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..demo.district import DistrictSpec, generate
from ..io import atomic_write_json
from .comparison import compare
from .prepare import prepare_scenario
from .ranking import rank
from .records import output_folder, read_record
from .reporting import build_report
from .tasks import dask_client

__all__ = ["DemoResult", "run_demo", "ensure_district"]

GENERATOR_VERSION = 1


@dataclass
class DemoResult:
    """What :func:`run_demo` wrote, with the seconds of each step."""

    out_dir: Path
    scenario: Path
    report: Path | None = None
    gpkg: Path | None = None
    sweep_csv: Path | None = None
    rank_csv: Path | None = None
    compare_csv: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """What the demo prints: timings, summary and the files written."""
        out = [f"demo district: {self.scenario}"]
        for k, v in self.seconds.items():
            out.append(f"  {k:<10s} {v:7.1f} s")
        for k, v in self.summary.items():
            out.append(f"  {k}: {v}")
        for p in (self.sweep_csv, self.rank_csv, self.compare_csv, self.report, self.gpkg):
            if p is not None:
                out.append(f"written: {p}")
        return out


def ensure_district(data_dir: str | Path, *, seed: int = 2026, regenerate: bool = False,
                    spec: DistrictSpec | None = None) -> Path:
    """Generate the district into ``data_dir`` unless the same seed/spec/version is already there; return demo.toml."""
    data = Path(data_dir)
    spec = spec or DistrictSpec()
    key = f"v{GENERATOR_VERSION}-seed{seed}-{spec}"
    stamp = data / "district.json"
    rec = read_record(stamp, key)
    if not regenerate and rec is not None and (data / "demo.toml").is_file():
        return data / "demo.toml"
    paths = generate(data, seed=seed, spec=spec)
    atomic_write_json(stamp, {"status": "done", "finished": True, "fingerprint": key, "seed": seed,
                              "files": {k: str(v) for k, v in paths.items()}})
    return paths["scenario"]


def run_demo(out_dir: str | Path = "out/demo", *, seed: int = 2026, regenerate: bool = False,
             scheduler: str | None = None, use_dask: bool = True, quiet: bool = False,
             spec: DistrictSpec | None = None, budgets: Iterable[Any] | None = None, compare_variants: bool = True,
             out_key: str = "out_dir") -> DemoResult:
    """Generate (if needed) and run the demo district: sweep, rank, report. See module docstring."""
    out = output_folder(out_dir, key=out_key)
    t = time.perf_counter()
    scenario = ensure_district(out / "data", seed=seed, regenerate=regenerate, spec=spec)
    res = DemoResult(out_dir=out, scenario=scenario)
    res.seconds["district"] = time.perf_counter() - t
    t = time.perf_counter()
    prep = prepare_scenario(scenario, out_dir=out, quiet=quiet)  # walking times over the network (cached)
    res.seconds["travel"] = time.perf_counter() - t
    t = time.perf_counter()
    variants = [scenario, scenario.with_name("demo_equal_weights.toml")]
    with (dask_client(scheduler) if use_dask else contextlib.nullcontext(None)) as client:
        engine: dict[str, Any] = dict(client=client, use_dask=use_dask, quiet=quiet)
        rk = rank(scenario, out_dir=out, budgets=budgets, **engine)
        res.seconds["sweep+rank"] = time.perf_counter() - t
        t = time.perf_counter()
        if compare_variants:
            cmp = compare(variants, out_dir=out, **engine)
            res.compare_csv = cmp.csv
            res.seconds["compare"] = time.perf_counter() - t
    res.sweep_csv = prep.out_dir / "sweep.csv"
    res.rank_csv = rk.csv
    t = time.perf_counter()
    rep = build_report(scenario, out_dir=out, quiet=quiet)
    res.seconds["report"] = time.perf_counter() - t
    res.report, res.gpkg = rep.html, rep.gpkg
    rec = rep.record
    res.summary = {
        "budget (yuan)": f"{float(rec.get('budget') or 0):,.0f}",
        "spent (yuan)": f"{float(rec.get('total_cost') or 0):,.0f}",
        "converted buildings": len(rec.get("selected") or []),
        "status": rec.get("status"),
        "coverage per service (before -> after)": ", ".join(
            f"{r.service} {r.share_before:.0%}->{r.share_after:.0%}" for r in rep.services.itertuples()),
    }
    return res
