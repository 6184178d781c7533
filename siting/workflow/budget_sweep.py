"""Budget sweeps: one independent solve per budget, resumable, on Dask or serially.

Each finished solve is written atomically to ``<out>/sweep/<budget>.json`` as soon as it arrives, so an
interrupted sweep loses nothing: a re-run skips every budget whose file exists, parses and carries the same
scenario fingerprint (scenario text + size/mtime of every input file it names). A file that is unreadable or
stale is recomputed. The runner is :func:`~siting.workflow.tasks.run_resumable`, shared with
:mod:`siting.workflow.comparison` and :mod:`siting.workflow.ranking`.

Outputs: ``sweep.csv`` (one row per budget, with ``pareto`` = not dominated in (cost, coverage)) and
``sweep.png`` (the coverage-vs-budget curve).

Example
-------
>>> pareto_mask([10, 20, 30], [100, 100, 150]).tolist()
[True, False, True]
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ScenarioError
from ..io import atomic_write_bytes, atomic_write_text
from .budgets import budget_key, parse_budgets
from .prepare import prepare_scenario
from .tasks import SolveTask, check_scheduler_address, run_resumable, solve_task

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["SweepResult", "sweep", "frontier_table", "plot_frontier", "pareto_mask", "below_smaller_mask",
           "metric_name"]


def pareto_mask(cost: Iterable[float], covered: Iterable[float]) -> np.ndarray:
    """True for points no other point dominates (cost <= and covered >=, one strictly); of equal points, the first."""
    c = np.asarray(list(cost), dtype=float)
    v = np.asarray(list(covered), dtype=float)
    keep = np.ones(c.size, dtype=bool)
    for i in range(c.size):  # a sweep has tens of points
        dom = (c <= c[i]) & (v >= v[i]) & ((c < c[i]) | (v > v[i]) | (np.arange(c.size) < i))
        keep[i] = not dom.any()
    return keep


@dataclass(frozen=True)
class SweepResult:
    """What :func:`sweep` computed and wrote."""

    table: pd.DataFrame          # one row per budget (see frontier_table)
    records: dict[str, dict]     # budget key -> record
    csv: Path
    png: Path | None
    computed: tuple[str, ...]    # budget keys solved in this run
    reused: tuple[str, ...]      # budget keys read back from disk


def below_smaller_mask(budget: Iterable[float], objective: Iterable[float], *, maximise: bool = True) -> np.ndarray:
    """Per row, whether a smaller budget's plan is better (this solve then stopped short).

    That plan also fits this budget, so this budget's optimum is at least as good, whatever gap its solve
    reported (a time limit).

    Rows whose objective is NaN (no plan, or not comparable) are never flagged and flag nothing.

    Examples
    --------
    >>> below_smaller_mask([1, 2, 3], [5.0, 4.0, 6.0]).tolist()
    [False, True, False]
    >>> below_smaller_mask([1, 2], [5.0, 4.0], maximise=False).tolist()
    [False, False]
    """
    b = np.asarray(list(budget), float)
    v = np.asarray(list(objective), float) * (1.0 if maximise else -1.0)
    order = np.argsort(b, kind="stable")
    out = np.zeros(b.shape[0], bool)
    best, best_budget = -np.inf, -np.inf
    for i in order:                 # one pass over the budgets, ascending (a sweep has a few dozen)
        if np.isnan(v[i]):
            continue
        if best_budget < b[i] and v[i] < best - 1e-9 * max(1.0, abs(best)):
            out[i] = True
        if v[i] > best:
            best, best_budget = v[i], b[i]
    return out


def _comparable_objective(r: dict) -> float:
    """A record's objective where budgets' plans compare (NaN elsewhere).

    Comparable: a plan and no priority levels (a larger budget may raise an earlier level and lower the objective
    held after it).
    """
    if not r.get("has_solution") or r.get("objective") is None or (r.get("stats") or {}).get("priority_levels"):
        return float("nan")
    return float(r["objective"])


def frontier_table(records: Iterable[dict]) -> pd.DataFrame:
    """One row per budget: cost, covered population and share, sites, status, pareto flag, per-service shares.

    ``below_smaller_budget``: a smaller budget's plan is better (see :func:`below_smaller_mask`; never where
    plans are not comparable: no plan, or priority levels).
    """
    rows = []
    for r in records:
        row: dict[str, Any] = {
            "budget": float(r.get("budget_requested") or r.get("budget") or np.nan),
            "status": r.get("status"),
            "has_solution": bool(r.get("has_solution")),
            "total_cost": float(r.get("total_cost") or 0.0),
            "covered_population": float(r.get("covered_population") or 0.0),
            "total_population": float(r.get("total_population") or 0.0),
            "n_selected": len(r.get("selected") or []),
            "seconds": float(r.get("seconds") or 0.0),
            "objective": float("nan") if r.get("objective") is None else float(r["objective"]),
            "_comparable": _comparable_objective(r),
            "_model": r.get("model"),
        }
        tp = row["total_population"]
        row["coverage_share"] = row["covered_population"] / tp if tp else 0.0
        for k, v in sorted((r.get("per_service") or {}).items()):
            if isinstance(v, dict) and v.get("share") is not None:
                row[f"share_{k}"] = float(v["share"])
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df = df.sort_values("budget", kind="stable").reset_index(drop=True)
    ok = df["has_solution"].to_numpy()
    mask = np.zeros(len(df), dtype=bool)
    if ok.any():
        mask[ok] = pareto_mask(df.loc[ok, "total_cost"], df.loc[ok, "covered_population"])
    df["pareto"] = mask
    df["below_smaller_budget"] = _below_smaller(df)
    return df.drop(columns=["_comparable", "_model"])


def _below_smaller(df: pd.DataFrame) -> np.ndarray:
    """:func:`below_smaller_mask` with the sweep's model's sense (all False when the model is unknown)."""
    from ..errors import InputError
    from ..models.registry import get_model

    names = {str(m) for m in df["_model"].dropna()}
    if len(names) != 1:
        return np.zeros(len(df), bool)
    try:
        maximise = get_model(names.pop()).maximise
    except InputError:         # a record written by another version may name a model this one lacks
        return np.zeros(len(df), bool)
    return below_smaller_mask(df["budget"], df["_comparable"], maximise=maximise)


def metric_name(record: dict | None) -> str:
    """What a sweep's curve measures, from a record: ``population within threshold_minutes of an open site``.

    Examples
    --------
    >>> metric_name({"weight_column": "elderly", "covered_definition": "within threshold_minutes of an open site"})
    'elderly within threshold_minutes of an open site'
    >>> metric_name(None)
    'covered weight'
    """
    if not record:
        return "covered weight"
    column = str(record.get("weight_column") or "weight")
    definition = str(record.get("covered_definition") or "covered")
    return f"{column} {definition}"


def plot_frontier(table: pd.DataFrame, path: Path | None = None, *, title: str = "Coverage vs budget",
                  currency: str = "CNY", metric: str = "covered weight") -> bytes:
    """The coverage-vs-budget curve as PNG bytes (also written to ``path`` if given).

    Every budget of ``table`` is drawn: solved ones as dots on the curve (labelled with the budget), the others
    as crosses on the axis with their status. ``metric`` names what the curve measures (the y axis),
    ``currency`` the money on the x axis. Words and the money unit follow the current language
    (:func:`siting.i18n.use_language`: 万元 for yuan in Chinese); Chinese text is drawn with the project's CJK
    font (:func:`siting.i18n.fonts.plot_rc`).
    """
    import matplotlib  # third-party and slow to import: only when a curve is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..i18n import Language, current_language
    from ..i18n.fonts import plot_rc
    from ..i18n.labels import tr
    from ..i18n.numbers import money_unit

    zh = current_language() is Language.ZH
    # x in millions of the currency (English) or in 万元 / the currency (Chinese): the unit people budget in
    scale, unit = (1e4, money_unit(currency)) if zh and money_unit(currency) == "万元" else \
        (1e6, f"million {currency}") if not zh else (1.0, currency)
    if zh and tr(metric) == metric:  # the model's English definition: the title and axis say 覆盖率 without it
        metric = ""
    metric = tr(metric)
    with matplotlib.rc_context(plot_rc()):
        fig, ax = plt.subplots(figsize=(9.0, 4.8), dpi=110, layout="constrained")
        ok = table[table["has_solution"]] if not table.empty else table
        if not ok.empty:
            x = ok["budget"] / scale
            ax.step(x, 100 * ok["coverage_share"], where="post", color="#1f77b4", lw=2, label=tr("covered share"))
            ax.plot(x, 100 * ok["coverage_share"], "o", color="#1f77b4", ms=6)
            for bx, by in zip(x, 100 * ok["coverage_share"], strict=True):
                ax.annotate(f"{bx:,.4g}", (bx, by), xytext=(0, -14), textcoords="offset points", ha="center",
                            fontsize=9, color="#1f77b4")
            p = ok[ok["pareto"]]
            ax.plot(p["total_cost"] / scale, 100 * p["coverage_share"], "D", mfc="none", color="#d62728", ms=9,
                    label=tr("Pareto frontier (spent {currency}, covered)").format(currency=unit if zh else currency))
            for c in [c for c in ok.columns if c.startswith("share_")]:
                ax.plot(x, 100 * ok[c], lw=1, alpha=0.7, marker=".", label=tr(c[6:]))
        failed = table[~table["has_solution"]] if not table.empty else table
        if not failed.empty:
            statuses = ", ".join(sorted({tr(str(v)) for v in failed["status"]}))
            ax.plot(failed["budget"] / scale, np.zeros(len(failed)), "x", color="#7f7f7f", ms=10, mew=2,
                    clip_on=False, label=tr("no plan: {statuses}").format(statuses=statuses))
        ax.set_xlabel(tr("budget ({unit})").format(unit=unit), fontsize=10)
        ylabel = tr("covered (%)")
        ax.set_ylabel(f"{ylabel}\n{metric}" if metric and len(metric) <= 45 else ylabel, fontsize=10)
        ax.set_title(title if not metric or len(metric) <= 45 else f"{title}\n{metric}", fontsize=11)
        ax.grid(alpha=0.3)
        ax.set_ylim(0, 100)
        ax.tick_params(labelsize=10)
        ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
    data = buf.getvalue()
    if path is not None:
        atomic_write_bytes(Path(path), data)
    return data


def sweep(
    scenario: str | Path,
    budgets: Iterable[Any] | None = None,
    *,
    out_dir: str | Path | None = None,
    scheduler: str | None = None,
    use_dask: bool = True,
    client: Client | None = None,
    n_workers: int = 2,
    quiet: bool = False,
    plot: bool = True,
    task_fn: Callable[[SolveTask], dict] = solve_task,
    out_key: str = "out_dir",
) -> SweepResult:
    """Solve ``scenario`` at every budget (resuming from ``<out_dir>/sweep``), write ``sweep.csv`` and ``sweep.png``.

    ``budgets`` default to the scenario's ``[sweep] budgets``. ``out_dir`` defaults to the scenario's
    ``[output] dir`` (or ``out/<scenario name>``); ``out_key`` is how errors name it. Up to
    :data:`~siting.workflow.tasks.SERIAL_MAX_TASKS` budgets are solved serially unless ``scheduler`` or
    ``client`` is given (see :func:`~siting.workflow.tasks.run_tasks`).
    """
    # given budgets and scheduler are checked first: a typo must not wait for walking times to be computed
    values = parse_budgets(budgets, key="--budgets") if budgets is not None else None
    if scheduler:
        check_scheduler_address(scheduler)
    prep = prepare_scenario(scenario, out_dir=out_dir, quiet=quiet, out_key=out_key)
    from ..i18n import chosen_language, resolve_language

    # the plot's language (checked before any solve): a chosen one (--lang), else [report] language, else $SITING_LANG
    lang = resolve_language(chosen_language(), prep.scenario.report,
                            file=None if prep.scenario.path is None else str(prep.scenario.path))
    if values is None:
        if not prep.sweep_budgets:
            raise ScenarioError("no budgets: pass --budgets or add [sweep] budgets = [...]",
                                file=str(scenario), key="sweep.budgets")
        values = prep.sweep_budgets
    folder = prep.out_dir / "sweep"
    folder.mkdir(parents=True, exist_ok=True)
    records, reused, computed = run_resumable(
        folder, [prep.task(budget_key(b), budget=b) for b in values], task_fn, scheduler=scheduler,
        use_dask=use_dask, client=client, n_workers=n_workers, description="sweep {n} budgets", quiet=quiet)
    table = frontier_table(records[budget_key(b)] for b in values)
    csv = prep.out_dir / "sweep.csv"
    atomic_write_text(csv, table.to_csv(index=False, lineterminator="\n"))
    from ..i18n.labels import write_labels_sidecar

    write_labels_sidecar(csv, table.columns)  # sweep.labels.csv: the columns' English and Chinese names
    png = None
    if plot:
        png = prep.out_dir / "sweep.png"
        from ..i18n import use_language
        from ..i18n.labels import catalog_terms, tr, use_terms
        from .reporting.money import report_currency

        first = next((records[budget_key(b)] for b in values if records[budget_key(b)].get("has_solution")), None)
        with use_language(lang), use_terms(catalog_terms(prep.scenario)):
            plot_frontier(table, png, title=tr("{name}: coverage vs budget").format(name=prep.name),
                          currency=report_currency(prep.scenario), metric=metric_name(first))
    return SweepResult(table=table, records={budget_key(b): records[budget_key(b)] for b in values}, csv=csv,
                       png=png, computed=computed, reused=reused)
