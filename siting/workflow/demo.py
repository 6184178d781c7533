"""``siting demo``: the demo district end to end (what ``make demo`` runs).

Steps, each timed: generate the district into ``<out>/data`` (skipped when the same seed is already there),
walking times over its street network (cached), a budget sweep and the ranking of idle buildings on
``demo_unphased.toml`` (the policy with one budget: a sweep varies the total, which the phased plan fixes year by
year; Dask, resumable), a comparison of the policy scenario ``demo.toml`` (phased 2025-2027) with
``demo_equal_weights.toml``, and the report of ``demo.toml`` (HTML + GeoPackage) in ``<out>/report``. The printed
summary gives each service's coverage before -> after the phased plan, the years, and what the policy costs the
other services against the equal-weights plan.

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
from .reporting import build_report, reference_record
from .reporting.money import money_header, report_currency
from .tasks import SolveTask, dask_client, solve_task

__all__ = ["DemoResult", "run_demo", "ensure_district", "summary", "solve_reference", "CompareWithReference"]

GENERATOR_VERSION = 5


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
        """What the demo prints: timings, summary and the files written (in the current language)."""
        from ..i18n.labels import tr

        out = [tr("demo district: {path}").format(path=self.scenario)]
        for k, v in self.seconds.items():
            out.append(f"  {tr(k):<10s} {v:7.1f} s")
        for k, v in self.summary.items():
            out.append(f"  {_summary_key(k, tr)}: {v}")
        for p in (self.sweep_csv, self.rank_csv, self.compare_csv, self.report, self.gpkg):
            if p is not None:
                out.append(tr("written: {path}").format(path=p))
        return out


def _summary_key(key: str, tr: Any) -> str:
    """A summary key in the current language: money headers and comparisons keep their figures and names."""
    import re

    money = re.fullmatch(r"(budget|spent) \((.+)\)", key)
    if money:
        return str(tr(f"{money[1]} ({{unit}})")).format(unit=money[2])
    versus = re.fullmatch(r"(.+) vs (.+) \(points\)", key)
    if versus:
        return str(tr("{a} vs {b} (points)")).format(a=versus[1], b=versus[2])
    return str(tr(key))


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
    cmp = None
    with (dask_client(scheduler, quiet=quiet) if use_dask else contextlib.nullcontext(None)) as client:
        engine: dict[str, Any] = dict(client=client, use_dask=use_dask, quiet=quiet)
        # the report's plan (the phased policy, the slowest solve) is also the comparison's first scenario: the
        # comparison solves it once, into <out>/solve, where the report finds it. Without a comparison it runs
        # on a worker beside the sweep instead of after it in this process
        reference = client.submit(solve_reference, str(scenario), str(out), pure=False) \
            if client and not compare_variants else None
        rk = rank(scenario.with_name("demo_unphased.toml"), out_dir=out, budgets=budgets, **engine)
        res.seconds["sweep+rank"] = time.perf_counter() - t
        t = time.perf_counter()
        if compare_variants:
            cmp = compare(variants, out_dir=out, task_fn=CompareWithReference(str(scenario), str(out)), **engine)
            res.compare_csv = cmp.csv
            res.seconds["compare"] = time.perf_counter() - t
        if reference is not None:
            reference.result()
    res.sweep_csv = prep.out_dir / "sweep.csv"
    res.rank_csv = rk.csv
    t = time.perf_counter()
    rep = build_report(scenario, out_dir=out, quiet=quiet)
    res.seconds["report"] = time.perf_counter() - t
    res.report, res.gpkg = rep.html, rep.gpkg
    res.summary = summary(rep.record, cmp.records if cmp is not None else None, currency=report_currency(prep.scenario))
    return res


def solve_reference(scenario: str, out_dir: str) -> str:
    """Solve ``scenario`` at its budget into ``<out_dir>/solve`` unless a valid record is there (a Dask task).

    The report (:func:`~siting.workflow.reporting.build_report`) reuses that record, so the demo can run the
    report's solve in parallel with the sweep. Returns the record's path.
    """
    _, folder = reference_record(prepare_scenario(scenario, out_dir=out_dir, quiet=True), quiet=True)
    return str(folder / "record.json")


@dataclass(frozen=True)
class CompareWithReference:
    """The comparison's task function that solves the report's scenario once, into ``<out_dir>/solve``.

    The demo compares ``demo.toml`` with a variant and reports ``demo.toml``; the report needs the full outputs
    (``record.json``, ``coverage.csv``) that a comparison record lacks, so its task goes through the report's
    own :func:`~siting.workflow.reporting.reference_record` (which reuses a valid solve) and the comparison's record is made
    from that solve's record. Every other task is :func:`~siting.workflow.tasks.solve_task`. A plain class
    (not a closure) so Dask can send it to its workers.
    """

    scenario: str
    out_dir: str

    def __call__(self, task: SolveTask) -> dict[str, Any]:
        """The task's record: from ``<out_dir>/solve`` for the report's scenario, else from its own solve."""
        same = Path(task["scenario"]).resolve() == Path(self.scenario).resolve() and task.get("budget") is None
        prep = prepare_scenario(self.scenario, out_dir=self.out_dir, quiet=True) if same else None
        if prep is None or prep.fingerprint != task["fingerprint"] or dict(prep.overrides) != dict(
                task.get("overrides") or {}):
            return solve_task(task)
        rec, _ = reference_record(prep, quiet=True)
        if not rec:           # written and then unreadable: solve as any other task
            return solve_task(task)
        return {k: v for k, v in rec.items() if k != "finished"} | {
            "scenario": str(prep.scenario.path), "name": task["name"], "fingerprint": task["fingerprint"],
            "budget_requested": None}


def _share(covered: Any, total: Any) -> str:
    return f"{float(covered) / float(total):.1%}" if total else "-"


def summary(record: dict[str, Any], compared: dict[str, dict] | None = None, *,
            currency: str = "CNY") -> dict[str, Any]:
    """The printed summary of a plan's record: money (in ``currency``), coverage before -> after, years, comparison.

    Coverage comes from the solve's own figures, ``stats["services"][k]``: ``already_covered`` (existing
    facilities) and ``covered`` out of ``total``.

    Examples
    --------
    >>> rec = {"budget": 6e7, "total_cost": 5.9e7, "selected": ["b1"], "status": "optimal",
    ...        "stats": {"services": {"elderly_care": {"already_covered": 10, "covered": 30, "total": 100}},
    ...                  "phases": [{"year": 2025, "spent": 2e7, "services": {"elderly_care": {"share": 0.2}}}]}}
    >>> summary(rec)["coverage per service (before -> after)"]
    'elderly_care 10.0% -> 30.0%'
    >>> summary(rec, currency="EUR")["years"]
    '2025: 20.0 M EUR, elderly_care 20.0%'
    >>> cmp = {"demo-district": {"per_service": {"elderly_care": {"share": 0.3}}},
    ...        "demo-equal-weights": {"per_service": {"elderly_care": {"share": 0.1}}}}
    >>> summary(rec, cmp)["demo-district vs demo-equal-weights (points)"]
    'elderly_care +20.0'
    """
    stats = record.get("stats") or {}
    services = stats.get("services") or {}
    out: dict[str, Any] = {
        money_header("budget", currency): f"{float(record.get('budget') or 0):,.0f}",
        money_header("spent", currency): f"{float(record.get('total_cost') or 0):,.0f}",
        "converted buildings": len(record.get("selected") or []),
        "status": record.get("status"),
        "coverage per service (before -> after)": ", ".join(
            f"{k} {_share(v.get('already_covered', 0), v.get('total'))} -> {_share(v.get('covered', 0), v.get('total'))}"
            for k, v in services.items() if isinstance(v, dict)),
    }
    phases = stats.get("phases") or []
    if phases:
        # the first priority's service (else the first service) shows how the plan grows year by year
        ranked = sorted(services, key=lambda k: (services[k].get("priority") or 1e9) if isinstance(services[k], dict)
                        else 1e9)
        first = ranked[0] if ranked else None
        out["years"] = "; ".join(
            f"{p['year']}: {float(p.get('spent') or 0) / 1e6:.1f} M {currency}"
            + (f", {first} {float(p['services'][first]['share']):.1%}" if first in (p.get("services") or {}) else "")
            for p in phases)
    if compared and len(compared) >= 2:
        (name, rec), (other, ref) = list(compared.items())[:2]
        mine, theirs = rec.get("per_service") or {}, ref.get("per_service") or {}
        out[f"{name} vs {other} (points)"] = ", ".join(
            f"{k} {100 * (float(mine[k]['share']) - float(theirs[k]['share'])):+.1f}"
            for k in mine if k in theirs and mine[k].get("share") is not None and theirs[k].get("share") is not None)
    return out
