"""Report sections from the evaluation tables of :mod:`siting.evaluate` (per group, per community, gaps, 2SFCA).

The tables are the issue-11 contract (``siting.evaluate.evaluation_tables(record, scenario)``):
``accessibility`` (``demand_id, service, access_before, access_after``), ``groups`` (``service, group, by,
community, target, covered_before, covered_after, share_before, share_after``) and ``supply`` (``service, by,
community, facilities_before/after, floor_area_m2_before/after, floor_area_per_1000_before/after,
norm_per_1000``). Until that package is installed the report says so in one note instead of the sections.

Example
-------
>>> import pandas as pd
>>> groups = pd.DataFrame({"service": ["care"], "group": ["elderly"], "by": ["all"], "community": ["all"],
...                        "target": [10.0], "covered_before": [2.0], "covered_after": [6.0],
...                        "share_before": [0.2], "share_after": [0.6]})
>>> group_shares(groups).to_dict("records")
[{'service': 'care', 'elderly': '20.0 % → 60.0 %'}]
"""
from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...i18n.labels import tr
from .html import esc, table_html

__all__ = ["load_evaluation", "group_shares", "community_shares", "gaps_table", "access_summary",
           "evaluation_sections"]


def load_evaluation(record: Mapping[str, Any], scenario: Any, inputs: Any = None) -> tuple[dict[str, pd.DataFrame] | None, str | None]:
    """``(tables, None)`` from :func:`siting.evaluate.evaluation_tables`, or ``(None, note)`` when not installed.

    Only the package's absence is turned into a note; an error inside the evaluation propagates.
    """
    if importlib.util.find_spec("siting.evaluate") is None:
        return None, ("Per-group and per-community shares, gaps and 2SFCA accessibility come from "
                      "<code>siting.evaluate</code>, which this installation does not have yet.")
    from ... import evaluate

    tables_of = getattr(evaluate, "evaluation_tables", None)
    if tables_of is None:
        return None, "<code>siting.evaluate</code> has no <code>evaluation_tables</code> yet: sections left out."
    return dict(tables_of(record, scenario, **({} if inputs is None else {"inputs": inputs}))), None


def _arrow(before: Any, after: Any) -> str:
    def pct(v: Any) -> str:
        return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * float(v):.1f} %"
    return f"{pct(before)} → {pct(after)}"


def _own_group(groups: pd.DataFrame, target: Mapping[str, str]) -> np.ndarray:
    """Rows of each service's own target group (``served_group`` when the table has it)."""
    if "served_group" in groups:
        return groups["served_group"].astype(bool).to_numpy()
    return np.array([target.get(str(s), "population") == str(g)
                     for s, g in zip(groups["service"], groups["group"], strict=True)], dtype=bool)


def group_shares(groups: pd.DataFrame) -> pd.DataFrame:
    """Service x demand group (whole area): ``share before → after``, services as rows."""
    whole = groups[groups["by"].astype(str) == "all"]
    if whole.empty:
        return pd.DataFrame()
    cells = whole.assign(cell=[_arrow(b, a) for b, a in zip(whole["share_before"], whole["share_after"], strict=True)])
    table = cells.pivot_table(index="service", columns="group", values="cell", aggfunc="first", sort=False)
    table.columns.name = None
    return table.reset_index()


def community_shares(groups: pd.DataFrame, target: Mapping[str, str]) -> dict[str, pd.DataFrame]:
    """Per ``by`` column: community x service, the service's target group share ``before → after``, worst first."""
    out: dict[str, pd.DataFrame] = {}
    parts = groups[groups["by"].astype(str) != "all"]
    if parts.empty:
        return out
    own = parts[_own_group(parts, target)]
    for by, rows in own.groupby("by", sort=False):
        cells = rows.assign(cell=[_arrow(b, a) for b, a in zip(rows["share_before"], rows["share_after"],
                                                                strict=True)])
        table = cells.pivot_table(index="community", columns="service", values="cell", aggfunc="first", sort=False)
        worst = rows.pivot_table(index="community", columns="service", values="share_after", aggfunc="first",
                                 sort=False).min(axis=1)
        table.insert(0, "worst share after", worst.map(lambda v: f"{100 * v:.1f} %"))
        table = table.loc[worst.sort_values(kind="stable").index]
        table.columns.name = None
        out[str(by)] = table.reset_index()
    return out


def gaps_table(groups: pd.DataFrame, supply: pd.DataFrame | None, floors: Mapping[str, float],
               target: Mapping[str, str]) -> pd.DataFrame:
    """Communities below a service's floor (``min_share_per_community``) or its catalog norm (m² per 1,000).

    Columns ``service, by, community, measure, after, required, shortfall``; largest shortfall first per service.
    """
    rows: list[dict[str, Any]] = []
    parts = groups[groups["by"].astype(str) != "all"]
    parts = parts[_own_group(parts, target)]
    targets = pd.to_numeric(parts["target"], errors="coerce").to_numpy(dtype=float)
    shares = pd.to_numeric(parts["share_after"], errors="coerce").to_numpy(dtype=float)
    for r, tgt, share in zip(parts.to_dict("records"), targets, shares, strict=True):
        floor = floors.get(str(r["service"]))
        if floor is not None and tgt > 0 and share < floor - 1e-9:
            rows.append({"service": r["service"], "by": r["by"], "community": r["community"],
                         "measure": f"share of {r['group']}", "after": f"{100 * share:.1f} %",
                         "required": f"{100 * floor:.1f} %", "shortfall": f"{100 * (floor - share):.1f} points",
                         "_order": floor - share})
    if supply is not None and not supply.empty and "norm_per_1000" in supply:
        norm = pd.to_numeric(supply["norm_per_1000"], errors="coerce")
        after = pd.to_numeric(supply["floor_area_per_1000_after"], errors="coerce")
        below = supply[(supply["by"].astype(str) != "all") & norm.notna() & (after < norm - 1e-9)]
        for r, n, a in zip(below.to_dict("records"), norm[below.index], after[below.index], strict=True):
            rows.append({"service": r["service"], "by": r["by"], "community": r["community"],
                         "measure": "floor area per 1,000 (m²)", "after": f"{a:,.1f}", "required": f"{n:,.1f}",
                         "shortfall": f"{n - a:,.1f} m² per 1,000", "_order": (n - a) / n if n else 0.0})
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows).sort_values(["service", "_order"], ascending=[True, False], kind="stable")
    return table.drop(columns="_order").reset_index(drop=True)


def access_summary(access: pd.DataFrame, weights: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Per service: target-weighted mean accessibility before / after, and the target share with none.

    The classic 2SFCA, and the Gaussian / E2SFCA variants when the table has them.
    """
    variants = [(p, label) for p, label in (("access", "2SFCA"), ("access_gaussian", "Gaussian"),
                                            ("access_e2sfca", "E2SFCA")) if f"{p}_before" in access]
    rows = []
    for service, part in access.groupby("service", sort=False):
        w = weights.get(str(service))
        wt = (w.reindex(part["demand_id"].astype(str)).fillna(0.0).to_numpy() if w is not None
              else np.ones(len(part)))
        total = wt.sum()
        row: dict[str, Any] = {"service": service}
        for prefix, label in variants:
            for when in ("before", "after"):
                a = pd.to_numeric(part[f"{prefix}_{when}"], errors="coerce").fillna(0.0).to_numpy()
                row[f"{label} mean {when}"] = float((a * wt).sum() / total) if total > 0 else float("nan")
                if prefix == "access":
                    row[f"with none {when}"] = f"{100 * wt[a <= 0].sum() / total:.1f} %" if total > 0 else "—"
        rows.append(row)
    return pd.DataFrame(rows)


def evaluation_sections(tables: Mapping[str, pd.DataFrame] | None, note: str | None, *,
                        floors: Mapping[str, float], target: Mapping[str, str],
                        weights: Mapping[str, pd.Series], max_rows: int = 40) -> list[tuple[str, str]]:
    """The report's (heading, HTML) sections from the evaluation tables, or one section with ``note``."""
    if tables is None:
        return [(tr("Groups, communities, gaps and accessibility"), f"<p class=note>{note}</p>")]
    out = []
    groups = tables.get("groups")
    supply = tables.get("supply")
    if groups is not None and not groups.empty:
        out.append((tr("Coverage by group: before → after"), table_html(group_shares(groups)) +
                    "<p class=note>" + tr("Share of each demand group (population and every group column) living "
                    "within the service's walking threshold of a provider, whole area. Full table: "
                    "<code>groups.csv</code> of <code>siting evaluate</code>.") + "</p>"))
        for by, table in community_shares(groups, target).items():
            out.append((tr("Coverage per {by}: before → after").format(by=tr(by)), table_html(table, max_rows=max_rows) +
                        "<p class=note>" + tr("{n} values of <code>{by}</code>, worst first; each service's share "
                                              "of its own target group.").format(n=len(table), by=esc(by)) + "</p>"))
        gaps = gaps_table(groups, supply, floors, target)
        no_gap = tr("No community is below a service's floor or catalog norm after the plan.")
        body = table_html(gaps, max_rows=200) if not gaps.empty else f"<p>{no_gap}</p>"
        out.append((tr("Gaps: communities below a floor or norm"), body +
                    "<p class=note>" + tr("Floor: the service's <code>min_share_per_community</code>. Norm: the "
                    "catalog's floor area per 1,000 residents of the target group, where the catalog gives one.") +
                    "</p>"))
    if supply is not None and not supply.empty:
        keep = [c for c in ("service", "by", "community", "demand_column", "target", "facilities_before",
                            "facilities_after", "floor_area_per_1000_before", "floor_area_per_1000_after",
                            "norm_per_1000") if c in supply]
        shown = supply[keep].copy()
        for c in keep[4:]:
            shown[c] = pd.to_numeric(shown[c], errors="coerce")
        shown = shown.rename(columns={c: c.replace("floor_area_per_1000", "m² per 1,000").replace("_", " ")
                                      for c in keep})
        out.append((tr("Supply per community"), table_html(shown, max_rows=max_rows, floatfmt="{:,.1f}")))
    access = tables.get("accessibility")
    if access is not None and not access.empty:
        out.append((tr("Accessibility (2SFCA): before → after"), table_html(access_summary(access, weights),
                                                                         floatfmt="{:,.4g}") +
                    "<p class=note>" + tr("Two-step floating catchment (Luo & Wang 2003): each provider's capacity "
                    "(1 when none is given) divided by the target population within the threshold, summed over the "
                    "providers each demand point reaches; means weighted by the target group.") + "</p>"))
    return out
