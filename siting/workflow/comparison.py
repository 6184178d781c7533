"""Side-by-side comparison of scenarios, each solved as an independent (resumable) task.

``compare(["a.toml", "b.toml"], out_dir="out/compare")`` solves every scenario (on Dask by default, see
:func:`siting.workflow.tasks.run_tasks`), keeps each finished record in ``<out_dir>/compare/<name>.json`` (re-used by a
re-run while the scenario and its input files are unchanged) and writes ``compare.csv`` (one row per metric,
one column per scenario) and ``compare.md`` (the same as a Markdown table). Money rows name each scenario's currency
(:func:`~siting.workflow.reporting.money.report_currency`): ``budget (CNY)`` when all scenarios share it, else
``budget`` with the currency in every cell.

Example
-------
>>> from siting.workflow.comparison import comparison_table
>>> t = comparison_table({"a": {"status": "optimal", "covered_population": 5.0, "total_population": 10.0}})
>>> t.loc["coverage share", "a"]
'50.0%'
>>> comparison_table({"a": {"budget": 2.5e6}, "b": {"budget": 3e6}}, {"a": "EUR", "b": "CNY"}).loc["budget", "a"]
'2.50 M EUR'
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import ScenarioError
from ..io import atomic_write_text
from .prepare import Prepared, prepare_scenario
from .records import output_folder
from .tasks import SolveTask, run_resumable, solve_task

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["CompareResult", "compare", "comparison_table"]


@dataclass(frozen=True)
class CompareResult:
    """What :func:`compare` computed and wrote."""

    table: pd.DataFrame        # metrics x scenarios (text cells)
    records: dict[str, dict]
    csv: Path
    markdown: Path
    computed: tuple[str, ...]
    reused: tuple[str, ...]
    currencies: dict[str, str] | None = None   # scenario -> the currency of its money rows


def _fmt_money(v: Any, unit: str = "") -> str:
    return "—" if v is None else f"{float(v) / 1e6:,.2f} M" + (f" {unit}" if unit else "")


def comparison_table(records: dict[str, dict], currency: str | Mapping[str, str] = "CNY") -> pd.DataFrame:
    """Metrics (rows) by scenario (columns), formatted for people.

    ``currency`` : the money of every scenario, or scenario -> its currency (missing: ``CNY``, the shipped
    catalog's). One currency names the money rows (``budget (EUR)``); several are written in each cell.
    """
    from .reporting.money import money_header  # here: the reporting package imports the plotting stack

    rows: dict[str, dict[str, str]] = {}
    money = {name: currency if isinstance(currency, str) else currency.get(name, "CNY") for name in records}
    shared = next(iter(set(money.values()))) if len(set(money.values())) == 1 else None

    def money_row(what: str) -> str:
        return what if shared is None else money_header(what, shared)

    def put(metric: str, name: str, value: str) -> None:
        rows.setdefault(metric, {})[name] = value

    for name, r in records.items():
        tp = float(r.get("total_population") or 0.0)
        cov = float(r.get("covered_population") or 0.0)
        put("model", name, str(r.get("model", "—")))
        put("status", name, str(r.get("status", "—")))
        unit = "" if shared is not None else money[name]
        put(money_row("budget"), name, _fmt_money(r.get("budget"), unit))
        put(money_row("total cost"), name, _fmt_money(r.get("total_cost"), unit))
        put("new sites", name, str(len(r.get("selected") or [])))
        put("covered population", name, f"{cov:,.0f}")
        put("total population", name, f"{tp:,.0f}")
        put("coverage share", name, f"{cov / tp:.1%}" if tp else "—")
        for k, v in sorted((r.get("per_service") or {}).items()):
            if isinstance(v, dict) and v.get("share") is not None:
                put(f"{k} covered", name, f"{float(v['share']):.1%}")
        gap = r.get("gap")
        put("optimality gap", name, "—" if gap is None else f"{float(gap):.2%}")
        put("solver", name, str(r.get("solver", "—")))
        put("seconds", name, f"{float(r.get('seconds') or 0):.1f}")
    table = pd.DataFrame(rows).T.reindex(columns=list(records)).fillna("—")
    table.index.name = "metric"
    return table


def _markdown(table: pd.DataFrame) -> str:
    head = "| metric | " + " | ".join(table.columns) + " |"
    sep = "|---|" + "---|" * len(table.columns)
    lines = [head, sep] + [f"| {m} | " + " | ".join(str(v) for v in row) + " |" for m, row in table.iterrows()]
    return "\n".join(lines) + "\n"


def compare(
    scenarios: Iterable[str | Path],
    *,
    out_dir: str | Path = "out/compare",
    scheduler: str | None = None,
    use_dask: bool = True,
    client: Client | None = None,
    n_workers: int = 2,
    quiet: bool = False,
    task_fn: Callable[[SolveTask], dict] = solve_task,
    out_key: str = "out_dir",
) -> CompareResult:
    """Solve each scenario as one task and tabulate them side by side (see module docstring)."""
    paths = [Path(s) for s in scenarios]
    if len(paths) < 1:
        raise ScenarioError("give at least one scenario file to compare")
    out = output_folder(out_dir, key=out_key)
    folder = out / "compare"
    folder.mkdir(parents=True, exist_ok=True)
    preps: list[Prepared] = []
    names: list[str] = []
    for p in paths:
        prep = prepare_scenario(p, out_dir=out, quiet=quiet, travel_dir=out / "travel", out_key=out_key)
        name = prep.name
        n = 2
        while name in names:
            name = f"{prep.name}-{n}"
            n += 1
        names.append(name)
        preps.append(prep)
    records, reused, computed = run_resumable(
        folder, [prep.task(name) for name, prep in zip(names, preps, strict=False)], task_fn, scheduler=scheduler,
        use_dask=use_dask, client=client, n_workers=n_workers, description="compare {n} scenarios", quiet=quiet)
    from .reporting.money import report_currency

    ordered = {n: records[n] for n in names}
    currencies = {n: report_currency(prep.scenario) for n, prep in zip(names, preps, strict=True)}
    table = comparison_table(ordered, currencies)
    csv = out / "compare.csv"
    atomic_write_text(csv, table.to_csv(lineterminator="\n"))
    md = out / "compare.md"
    atomic_write_text(md, _markdown(table))
    return CompareResult(table=table, records=ordered, csv=csv, markdown=md,
                         computed=computed, reused=reused, currencies=currencies)
