"""Rank idle buildings for conversion, with the reasons.

For every candidate building ``j`` (``status`` candidate or required) :func:`rank` reports

* **selection frequency** — in how many of the sweep's budgets the optimal plan converts ``j``
  (the sweep is run or resumed first; default budgets are 0.25-2 x the scenario budget);
* **marginal covered weight per unit of money** — for a building in the reference plan (the scenario's budget), the
  demand it alone covers (its *drop loss*: what the plan loses if it is removed and nothing else changes);
  for a building outside the plan, the demand it would newly cover by hosting its best service. Divided by
  its cost (conversion + the service's fit-out cost when the catalogue gives one), per million of the scenario's
  currency (:func:`~siting.workflow.reporting.money.report_currency`: ``[report] currency``, else the catalog's);
* **loss if excluded** — the drop loss above and, with ``resolve_top=N``, the exact loss after re-optimising
  the plan without the building, for the ``N`` plan buildings with the largest drop loss (independent
  resumable tasks, like a sweep).

Writes ``rank.csv`` (best first) under the output folder. Its column ``marginal_per_million_yuan`` keeps the name
of earlier versions (the report, the GeoPackage and users' scripts read it) but is per million of the currency
named in the column ``currency``, as are ``cost`` and ``first_budget``; the ``reasons`` name it too. Weights are in the services' own units
(residents, elderly or children; summed over services for a multi-service plan). The reference plan's covered
weight per service, as its solve verified it (``solution.json``), is repeated in the columns
``plan_covered_<service>`` so the file can be read on its own. Reach (gain and drop loss) is computed by
:class:`~siting.workflow.reach.PlanReach` from the inputs ``siting solve`` prepares (each service's own travel
table), so for a service without capacities the reach of the plan equals its covered weight (checked).

Example
-------
>>> from siting.workflow.ranking import reasons_text
>>> reasons_text(3, 5, 2.0e7, True, "elderly_care", 1200.0, 800.0, None, currency="EUR")
'selected at 3/5 budgets (from 20.0 M EUR); in the plan (elderly_care): 1,200 covered only here; 800 per M EUR'
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import ScenarioError, VerificationError
from ..io import atomic_write_text
from .budget_sweep import sweep
from .budgets import budget_key, parse_budgets
from .candidates import candidates_with_statuses
from .evaluation import covered_by_service, model_inputs
from .prepare import Prepared, prepare_scenario
from .reach import PlanReach, plan_services
from .records import read_record, write_record
from .tasks import SolveTask, dask_client, run_tasks, solve_task

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["RankResult", "rank", "reasons_text", "reasons_column", "rank_table", "REASON_COLUMNS"]

DEFAULT_BUDGET_FACTORS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


@dataclass(frozen=True)
class RankResult:
    """What :func:`rank` computed and wrote."""

    table: pd.DataFrame
    csv: Path
    reference_budget: float
    budgets: tuple[float, ...]
    currency: str = "CNY"       # the money of cost, budgets and marginal_per_million_yuan


def reasons_text(times: int, n_budgets: int, first_budget: float | None, in_plan: bool, services: str,
                 marginal: float, per_million: float, resolve_loss: float | None, *, currency: str = "CNY",
                 lang: str | None = None) -> str:
    """One line a committee can read; money in millions of ``currency`` (万元 for CNY in Chinese).

    ``lang`` : "en" or "zh" (default: the current language, :func:`siting.i18n.current_language`).

    Examples
    --------
    >>> reasons_text(3, 5, 2.0e7, True, "elderly_care", 1200.0, 800.0, None, lang="zh")
    '在 3/5 个预算下入选（自 2,000 万元起）；已列入方案（elderly_care）：1,200 人仅由此覆盖；每百万元覆盖 800'
    >>> reasons_text(3, 5, 2.0e7, False, "canteen", 0.0, 0.0, None, currency="RMB", lang="zh").split("；")[0]
    '在 3/5 个预算下入选（自 2,000 万元起）'
    """
    from ..i18n import Language, current_language, parse_language
    from ..i18n.numbers import is_yuan

    words = _REASONS["zh" if (current_language() if lang is None else parse_language(lang)) is Language.ZH
                     else "en"]
    yuan_zh = words is _REASONS["zh"] and is_yuan(currency)  # 万元 / 元 for any spelling of the yuan
    per_m = "元" if yuan_zh else f" {currency}"
    parts = []
    if n_budgets:
        if times and first_budget is not None:
            start = f"{first_budget / 1e4:,.0f} 万元" if yuan_zh else f"{first_budget / 1e6:.1f} M {currency}"
            parts.append(words["selected"].format(times=times, n=n_budgets, start=start))
        else:
            parts.append(words["never"].format(n=n_budgets))
    if in_plan:
        parts.append(words["in_plan"].format(services=services or words["no_service"], marginal=marginal))
    elif marginal > 0:
        parts.append(words["would_add"].format(services=services, marginal=marginal))
    else:
        parts.append(words["adds_nothing"])
    parts.append(words["per_million"].format(per=per_million, unit=per_m))
    if resolve_loss is not None:
        parts.append(words["resolve"].format(change=-resolve_loss))
    return words["sep"].join(parts)


#: the sentences of :func:`reasons_text`, per language
_REASONS: dict[str, dict[str, str]] = {
    "en": {"selected": "selected at {times}/{n} budgets (from {start})", "never": "never selected in {n} budgets",
           "in_plan": "in the plan ({services}): {marginal:,.0f} covered only here", "no_service": "no service",
           "would_add": "would add {marginal:,.0f} via {services}", "adds_nothing": "adds no uncovered demand",
           "per_million": "{per:,.0f} per M{unit}", "resolve": "re-optimised without it: {change:+,.0f}",
           "sep": "; "},
    "zh": {"selected": "在 {times}/{n} 个预算下入选（自 {start}起）", "never": "{n} 个预算下均未入选",
           "in_plan": "已列入方案（{services}）：{marginal:,.0f} 人仅由此覆盖", "no_service": "无服务",
           "would_add": "可经 {services} 新增覆盖 {marginal:,.0f}", "adds_nothing": "不新增未覆盖需求",
           "per_million": "每百万{unit}覆盖 {per:,.0f}", "resolve": "排除后重新优化：{change:+,.0f}", "sep": "；"},
}


#: the rank.csv columns :func:`reasons_column` words its sentences from
REASON_COLUMNS = ("times_selected", "n_budgets", "first_budget", "in_plan", "plan_services", "best_new_service",
                  "marginal_covered", "marginal_per_million_yuan", "resolve_loss")


def reasons_column(df: pd.DataFrame, *, currency: str = "CNY", lang: str | None = None) -> list[str]:
    """The ``reasons`` of every row of a ranking (``rank.csv``) in ``lang``, from its own columns."""
    def num(v: Any) -> float:
        return float("nan") if v is None or (isinstance(v, str) and not v) else float(v)

    out = []
    for r in df[list(REASON_COLUMNS)].itertuples(index=False):
        first, loss = num(r.first_budget), num(r.resolve_loss)
        in_plan = bool(r.in_plan)
        services = r.plan_services if in_plan else r.best_new_service
        out.append(reasons_text(int(num(r.times_selected)), int(num(r.n_budgets)), None if np.isnan(first) else first,
                                in_plan, services if isinstance(services, str) else "", num(r.marginal_covered),
                                num(r.marginal_per_million_yuan), None if np.isnan(loss) else loss,
                                currency=currency, lang=lang))
    return out


def rank_table(model: PlanReach, plan: dict[str, set[str]], records: dict[float, dict[str, Any]], *,
               resolve: dict[str, float] | None = None,
               plan_covered: dict[str, float] | None = None, currency: str = "CNY") -> pd.DataFrame:
    """The ranking from a :class:`~siting.workflow.reach.PlanReach`, the plan and the sweep's records.

    ``plan_covered`` : the reference plan's covered weight per service (``solution.json``), written as the
    columns ``plan_covered_<service>``.
    ``currency`` : the money of the costs and budgets, written in the column ``currency`` and the reasons.
    """
    sites = model.sites
    ids = sites.ids.astype(str)
    status = np.array([str(s) for s in sites.status])
    cand = np.isin(status, ["candidate", "required"])
    prov = model.providers(plan)
    gain = model.marginal_gain(prov)
    loss = model.drop_loss(prov)
    fit = {s.key: s.fitout_cost for s in model.specs}
    n = len(ids)
    in_plan = np.array([i in plan for i in ids])
    plan_services = [";".join(sorted(plan.get(i, ()))) for i in ids]
    drop = np.zeros(n)
    for k, v in loss.items():
        drop += np.where(np.array([k in plan.get(i, ()) for i in ids]), v, 0.0)
    keys = list(gain)
    G = np.column_stack([gain[k] for k in keys]) if keys else np.zeros((n, 0))
    per_money = G / (sites.cost[:, None] + np.array([fit[k] for k in keys])[None, :]).clip(min=1.0)
    best = per_money.argmax(axis=1) if keys else np.zeros(n, dtype=int)
    best_gain = G[np.arange(n), best] if keys else np.zeros(n)
    best_service = np.array([keys[b] for b in best]) if keys else np.array([""] * n)
    plan_cost = sites.cost + np.array([sum(fit.get(k, 0.0) for k in plan.get(i, ())) for i in ids])
    marginal = np.where(in_plan, drop, best_gain)
    cost_basis = np.where(in_plan, plan_cost, sites.cost + np.array([fit.get(k, 0.0) for k in best_service]))
    per_m = marginal / np.clip(cost_basis, 1.0, None) * 1e6
    budgets = sorted(records)
    solved = [b for b in budgets if records[b].get("has_solution")]
    times = np.zeros(n, dtype=int)
    first = np.full(n, np.nan)
    index = pd.Index(ids)
    for b in solved:
        pos = index.get_indexer([str(s) for s in records[b].get("selected") or []])
        pos = pos[pos >= 0]
        times[pos] += 1
        first[pos] = np.where(np.isnan(first[pos]), b, first[pos])
    resolve = resolve or {}
    df = pd.DataFrame({
        "site_id": ids,
        "status": status,
        "cost": sites.cost,
        "floor_area": sites.floor_area if sites.floor_area is not None else np.nan,
        "x": sites.x,
        "y": sites.y,
        "times_selected": times,
        "n_budgets": len(solved),
        "selection_frequency": times / max(len(solved), 1),
        "first_budget": first,
        "in_plan": in_plan,
        "plan_services": plan_services,
        "drop_loss": drop,
        "best_new_service": np.where(in_plan, "", best_service),
        "add_gain": np.where(in_plan, 0.0, best_gain),
        "marginal_covered": marginal,
        "marginal_per_million_yuan": per_m,  # name kept for readers of rank.csv; per million of `currency`
        "currency": currency,
        "resolve_loss": [resolve.get(i, np.nan) for i in ids],
    })
    for k, value in (plan_covered or {}).items():
        df[f"plan_covered_{k}"] = float(value)
    # the candidates' own text columns (name, address, owner, ...) right after the id: what a committee reads
    labels = [k for k in sites.labels if k not in df.columns]
    for offset, k in enumerate(labels):
        df.insert(1 + offset, k, sites.labels[k])
    df = df[cand].copy()
    df["reasons"] = reasons_column(df, currency=currency)
    df = df.sort_values(["selection_frequency", "in_plan", "marginal_per_million_yuan"],
                        ascending=[False, False, False], kind="stable").reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df


def _excluded_copy(candidates: Path, site_id: str, dest: Path, columns: dict[str, Any] | None = None) -> Path:
    """A copy of the candidates table with ``site_id`` set to status ``excluded`` (``[data.columns]`` honoured)."""
    return candidates_with_statuses(candidates, {site_id: "excluded"}, dest, columns)


def rank(
    scenario: str | Path,
    *,
    out_dir: str | Path | None = None,
    budgets: Iterable[Any] | None = None,
    resolve_top: int = 0,
    scheduler: str | None = None,
    use_dask: bool = True,
    client: Client | None = None,
    n_workers: int = 2,
    quiet: bool = False,
    out_key: str = "out_dir",
) -> RankResult:
    """Rank the idle buildings of ``scenario`` (see module docstring); writes ``<out_dir>/rank.csv``."""
    if resolve_top < 0:
        raise ScenarioError(f"must be 0 or more, got {resolve_top}", key="--resolve-top")
    prep = prepare_scenario(scenario, out_dir=out_dir, quiet=quiet, out_key=out_key)
    ref = prep.scenario.model.budget
    if ref is None:
        raise ScenarioError("ranking needs a budget (the reference plan)", file=str(prep.scenario_path),
                            key="model.budget")
    if budgets is None:
        budgets = prep.sweep_budgets or [ref * f for f in DEFAULT_BUDGET_FACTORS]
    values = sorted(set(parse_budgets(budgets, key="budgets")) | {float(ref)})
    engine: dict[str, Any] = dict(scheduler=scheduler, use_dask=use_dask, client=client, n_workers=n_workers, quiet=quiet)
    if use_dask and client is None and (resolve_top > 0):
        with dask_client(scheduler, n_workers, quiet=quiet) as cl:
            return rank(scenario, out_dir=out_dir, budgets=values, resolve_top=resolve_top, client=cl,
                        use_dask=True, quiet=quiet, out_key=out_key)
    sw = sweep(prep.scenario_path, values, out_dir=prep.out_dir, plot=True, **engine)
    records = {float(r.get("budget_requested") or r.get("budget") or 0.0): r for r in sw.records.values()}
    ref_rec = sw.records[budget_key(ref)]
    if not ref_rec.get("has_solution"):
        raise ScenarioError(f"no plan at the scenario budget ({ref_rec.get('status')}: {ref_rec.get('message')})",
                            file=str(prep.scenario_path), key="model.budget")
    model = PlanReach(model_inputs(prep.effective))
    plan = plan_services(ref_rec.get("selected_sites") or [], ref_rec.get("selected") or [], model.keys)
    covered = covered_by_service(ref_rec)
    _check_reach(model, plan, covered)
    resolve: dict[str, float] = {}
    if resolve_top > 0:
        resolve = _resolve_losses(prep, model, plan, ref_rec, resolve_top, **engine)
    from .reporting.money import report_currency  # here: the reporting package imports the plotting stack

    currency = report_currency(prep.scenario)
    table = rank_table(model, plan, records, resolve=resolve, plan_covered=covered, currency=currency)
    csv = prep.out_dir / "rank.csv"
    atomic_write_text(csv, table.to_csv(index=False, lineterminator="\n"))
    return RankResult(table=table, csv=csv, reference_budget=float(ref), budgets=tuple(values), currency=currency)


def _check_reach(model: PlanReach, plan: dict[str, set[str]], covered: dict[str, float]) -> None:
    """The plan's reach must be the solve's covered weight for every service without capacities."""
    reached = model.reached(model.providers(plan))
    for s in model.specs:
        got = covered.get(s.key)
        if s.exact and got is not None and not np.isclose(reached[s.key], got, rtol=1e-9, atol=1e-9):
            raise VerificationError(f"rank: {s.key} reaches {reached[s.key]:,.6g} with the plan's providers but the "
                                    f"solve reports {got:,.6g} covered")


def _resolve_losses(prep: Prepared, model: PlanReach, plan: dict[str, set[str]], ref_rec: dict[str, Any], top: int,
                    **engine: Any) -> dict[str, float]:
    """Exact loss of coverage when each of the ``top`` plan buildings with the largest drop loss is excluded."""
    prov = model.providers(plan)
    loss = model.drop_loss(prov)
    ids = model.sites.ids.astype(str)
    total = np.zeros(len(ids))
    for v in loss.values():
        total += v
    order = [ids[j] for j in np.argsort(-total) if ids[j] in plan][:top]
    folder = prep.out_dir / "rank" / "exclude"
    base_cov = float(ref_rec.get("covered_population") or 0.0)
    out: dict[str, float] = {}
    todo: list[SolveTask] = []
    for sid in order:
        rec = read_record(folder / f"{sid}.json", prep.fingerprint)
        if rec is not None:
            out[sid] = base_cov - float(rec.get("covered_population") or 0.0)
            continue
        cands = _excluded_copy(Path(prep.scenario.data.candidates), sid, folder / f"{sid}_candidates.csv",
                               prep.scenario.data.columns)
        todo.append(prep.task(sid, budget=prep.scenario.model.budget, overrides={"data.candidates": str(cands)}))

    def done(task: SolveTask, rec: dict) -> None:
        rec = dict(rec, finished=True)
        write_record(folder / f"{task['name']}.json", rec)
        out[task["name"]] = base_cov - float(rec.get("covered_population") or 0.0)

    run_tasks(todo, solve_task, done, description=f"re-solve without {len(todo)} sites", **engine)
    return out
