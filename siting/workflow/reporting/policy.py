"""What planners read of a policy plan: coverage before -> after per service, the years, the communities.

Every figure comes from the solve's own statistics (``Result.stats`` or the ``stats`` of ``solution.json`` /
``record.json``; the names are the issue-10 contract, ``models/policy.md``): ``services`` (per service
``already_covered``, ``covered``, ``total``, ``category``, ``threshold_minutes``, ``threshold_source``,
``speed_group`` and the policy fields ``min_share``, ``min_share_per_community``,
``min_providers_per_community``, ``priority`` when set), ``phases`` (one entry per year) and
``communities`` (``{service: {community: share}}``). Nothing is recomputed here, so the report, the
printed summary and ``solution.json`` cannot disagree. Helpers return ``None`` when the statistic is absent
(single-service models, unphased plans, no community column).

Example
-------
>>> stats = {"services": {"canteen": {"category": "elderly", "already_covered": 10.0, "covered": 40.0,
...                                   "total": 100.0, "threshold_minutes": 6.6, "speed_group": "elderly",
...                                   "threshold_source": "radius_m 300 m at 0.76 m/s (elderly)", "min_share": 0.4}}}
>>> service_lines(stats)
['canteen   10.0 % ->  40.0 %  (10 / 100 -> 40 / 100; floor 40.0 % met)']
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ...i18n.labels import tr
from .html import table_html

__all__ = ["POLICY_FIELDS", "service_table", "phase_table", "community_table", "opening_years", "service_lines",
           "phase_lines", "policy_sections"]

#: per-service policy fields shown when at least one service sets them (catalog / ``[services.KEY]``)
POLICY_FIELDS = ("min_share", "min_share_per_community", "min_providers_per_community", "priority")

#: a share this far below its floor still meets it (the solver's feasibility tolerance, in share units)
FLOOR_TOL = 1e-6


def _num(value: Any) -> float:
    """A float of a stats value; None / missing / non-numeric -> NaN (JSON turns NaN into null)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _set(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _policy_set(field: str, value: Any) -> bool:
    """A policy field that asks for something (``min_providers_per_community = 0`` asks for nothing)."""
    if field == "min_providers_per_community":
        return _set(value) and _num(value) > 0
    return _set(value)


def _pct(share: float, width: int = 0) -> str:
    return "—".rjust(width) if math.isnan(share) else f"{100 * share:{width}.1f} %"


def _services(stats: Mapping[str, Any]) -> dict[str, Mapping[str, Any]] | None:
    services = stats.get("services")
    if not isinstance(services, Mapping) or not services:
        return None
    return {str(k): v for k, v in services.items() if isinstance(v, Mapping)} or None


def service_table(stats: Mapping[str, Any]) -> pd.DataFrame | None:
    """One row per service, grouped by category: covered before (existing facilities) and after the plan.

    Columns ``category, service, target_group, before, after, share_before, share_after, gain_points,
    threshold_min, speed_group, threshold_source``, then the policy fields any service sets
    (:data:`POLICY_FIELDS`) and ``floor_met`` when a ``min_share`` is set. ``before`` / ``after`` are
    ``"covered / total"`` strings; the shares are fractions (0-1), ``gain_points`` is in percentage points.
    """
    services = _services(stats)
    if services is None:
        return None
    rows = []
    for order, (key, s) in enumerate(services.items()):
        total, before, after = _num(s.get("total")), _num(s.get("already_covered")), _num(s.get("covered"))
        share_before = before / total if total > 0 else math.nan
        share_after = _num(s.get("share")) if _set(s.get("share")) else (after / total if total > 0 else math.nan)
        rows.append({
            "category": str(s.get("category") or "—"), "service": key,
            "target_group": str(s.get("demand_column") or s.get("weight_column") or ""),
            "before": f"{before:,.0f} / {total:,.0f}", "after": f"{after:,.0f} / {total:,.0f}",
            "share_before": share_before, "share_after": share_after,
            "gain_points": 100 * (share_after - share_before),
            "threshold_min": _num(s.get("threshold_minutes")), "speed_group": str(s.get("speed_group") or "default"),
            "threshold_source": str(s.get("threshold_source") or ""),
            **{f: s.get(f) for f in POLICY_FIELDS}, "_order": order})
    table = pd.DataFrame(rows)
    # categories in the order they first appear, services in catalog order inside each
    first = table.groupby("category", sort=False)["_order"].transform("min")
    table = table.assign(_first=first).sort_values(["_first", "_order"], kind="stable")
    table = table.drop(columns=["_order", "_first"]).reset_index(drop=True)
    for f in POLICY_FIELDS:
        if not any(_policy_set(f, v) for v in table[f]):
            table = table.drop(columns=f)
        elif f in ("min_providers_per_community", "priority"):  # whole numbers, not 1.0
            table[f] = pd.array([int(_num(v)) if _set(v) else None for v in table[f]], dtype="Int64")
    if "min_share" in table:
        floors = table["min_share"].map(_num)
        table["floor_met"] = [("met" if a >= f - FLOOR_TOL else "NOT met") if not math.isnan(f) else ""
                              for a, f in zip(table["share_after"], floors, strict=True)]
    return table


def phase_table(stats: Mapping[str, Any]) -> pd.DataFrame | None:
    """One row per year of a phased plan: budget, spent, new placements, buildings, objective, share per service.

    Share columns are named ``share_<service>`` (fractions). A last row ``total`` sums budget, spent,
    placements and buildings.
    """
    phases = stats.get("phases")
    if not isinstance(phases, list) or not phases:
        return None
    rows = []
    for p in phases:
        row: dict[str, Any] = {"year": p.get("year"), "budget": _num(p.get("budget")), "spent": _num(p.get("spent")),
                               "new_placements": p.get("new_placements"),
                               "buildings_converted": p.get("buildings_converted"),
                               "objective": _num(p.get("objective"))}
        for key, s in (p.get("services") or {}).items():
            row[f"share_{key}"] = _num(s.get("share")) if isinstance(s, Mapping) else math.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    total: dict[str, Any] = {c: "" for c in table.columns}
    total.update(year="total", budget=float(table["budget"].sum()), spent=float(table["spent"].sum()))
    for c in ("new_placements", "buildings_converted"):
        values = pd.to_numeric(table[c], errors="coerce")
        total[c] = int(values.sum()) if values.notna().all() else ""
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def community_table(stats: Mapping[str, Any]) -> pd.DataFrame | None:
    """Per community the covered share of each service (fractions), worst communities first.

    Columns ``community, worst_share, mean_share, <service>...`` and ``below_floor`` (services under their
    ``min_share_per_community``) when a service sets that floor. A community a service skips (no target
    weight there) is NaN for it.
    """
    communities = stats.get("communities")
    if not isinstance(communities, Mapping) or not communities:
        return None
    shares = pd.DataFrame({str(k): {str(c): _num(v) for c, v in per.items()}
                           for k, per in communities.items() if isinstance(per, Mapping)})
    if shares.empty:
        return None
    shares.index.name = "community"
    table = shares.reset_index()
    table.insert(1, "worst_share", shares.min(axis=1, skipna=True).to_numpy())
    # ties on the worst share (a service nobody reaches yet is 0 everywhere) go to the lower average
    table.insert(2, "mean_share", shares.mean(axis=1, skipna=True).to_numpy())
    services = _services(stats) or {}
    floors = {k: _num(services.get(k, {}).get("min_share_per_community")) for k in shares.columns}
    floors = {k: f for k, f in floors.items() if not math.isnan(f)}
    if floors:
        below = pd.DataFrame({k: shares[k] < f - FLOOR_TOL for k, f in floors.items()})
        table["below_floor"] = [";".join(below.columns[row]) for row in below.to_numpy()]
    return table.sort_values(["worst_share", "mean_share", "community"], kind="stable",
                             na_position="last").reset_index(drop=True)


def opening_years(stats: Mapping[str, Any]) -> dict[str, int] | None:
    """Site id -> the first year a new placement opens there (``stats["phase_rows"]``); None when unphased.

    Examples
    --------
    >>> opening_years({"phase_rows": [{"year": 2026, "site_id": "B", "service": "canteen", "kind": "service",
    ...                                "cost": 1.0}, {"year": 2025, "site_id": "B", "service": "", "kind":
    ...                                "conversion", "cost": 9.0}]})
    {'B': 2025}
    """
    rows = stats.get("phase_rows")
    if not isinstance(rows, list) or not rows:
        return None
    frame = pd.DataFrame.from_records(rows, columns=["year", "site_id"])
    first = frame.dropna().groupby(frame["site_id"].astype(str))["year"].min()
    return {str(k): int(v) for k, v in first.items()}


def service_lines(stats: Mapping[str, Any]) -> list[str]:
    """One printed line per service: ``key  before % -> after %  (covered / total ...; floor ...)``."""
    table = service_table(stats)
    if table is None:
        return []
    names = [tr(k) for k in table["service"]]  # the catalog's Chinese name in a Chinese summary (use_terms)
    width = max(len(k) for k in names)
    out = []
    for name, row in zip(names, table.to_dict(orient="records"), strict=True):
        notes = [f"{row['before']} -> {row['after']}"]
        if _set(row.get("min_share")):
            notes.append(tr("floor {share} {met}").format(share=_pct(_num(row["min_share"])),
                                                          met=tr(row["floor_met"])))
        if "priority" in row and not pd.isna(row["priority"]):
            notes.append(tr("priority {n}").format(n=row["priority"]))
        out.append(f"{name:<{width}}  {_pct(row['share_before'], 5)} -> {_pct(row['share_after'], 5)}  "
                   f"({'; '.join(notes)})")
    return out


def phase_lines(stats: Mapping[str, Any]) -> list[str]:
    """One printed line per year: spent of budget, new placements, each service's share that year."""
    table = phase_table(stats)
    if table is None:
        return []
    out = []
    for row in table.iloc[:-1].to_dict(orient="records"):
        shares = ", ".join(f"{str(c).removeprefix('share_')} {_pct(_num(v))}" for c, v in row.items()
                           if str(c).startswith("share_"))
        placed = row["new_placements"]
        out.append(f"{row['year']}: spent {row['spent']:,.0f} of {row['budget']:,.0f}, {placed} new "
                   f"placement{'' if placed == 1 else 's'}; {shares}")
    return out


def _percent_columns(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    shown = table.copy()
    for c in columns:
        shown[c] = shown[c].map(lambda v: _pct(_num(v)))
    return shown


#: display headers of the policy fields in the report
_POLICY_HEADERS = {"min_share": "floor", "min_share_per_community": "floor per community",
                   "min_providers_per_community": "providers per community", "priority": "priority",
                   "floor_met": "floor met"}


def _services_shown(services: pd.DataFrame) -> pd.DataFrame:
    """The services table as the report prints it: one column per question, shares as percentages."""
    shown = pd.DataFrame({
        "category": services["category"], "service": services["service"],
        "target group": services["target_group"],
        "share before → after": [f"{_pct(b)} → {_pct(a)}" for b, a in
                                 zip(services["share_before"], services["share_after"], strict=True)],
        "covered before → after": [f"{b.split(' / ')[0]} → {a}" for b, a in
                                   zip(services["before"], services["after"], strict=True)],
        "gain (points)": services["gain_points"].map(lambda v: "—" if math.isnan(v) else f"{v:+.1f}"),
        "threshold": services["threshold_min"].map(
            lambda v: "—" if math.isnan(v) else tr("{minutes} min").format(minutes=f"{v:.1f}")),
        "speed group": services["speed_group"], "how set": services["threshold_source"]})
    for f, header in _POLICY_HEADERS.items():
        if f not in services:
            continue
        values = services[f]
        if f in ("min_share", "min_share_per_community"):
            values = values.map(lambda v: _pct(_num(v)) if _set(v) else "")
        shown[header] = values.astype(object).where(values.notna(), "")
    return shown


def _shares_by_year(stats: Mapping[str, Any], phases: pd.DataFrame, share_cols: list[str]) -> pd.DataFrame:
    """Services as rows, ``before`` then one column per year (services stay readable however many there are)."""
    services = _services(stats) or {}
    years = phases.iloc[:-1]
    rows = []
    for c in share_cols:
        key = c.removeprefix("share_")
        s = services.get(key, {})
        total = _num(s.get("total"))
        row = {"service": key, "category": str(s.get("category") or "—"),
               "before": _pct(_num(s.get("already_covered")) / total if total > 0 else math.nan)}
        row.update({str(y): _pct(_num(v)) for y, v in zip(years["year"], years[c], strict=True)})
        rows.append(row)
    return pd.DataFrame(rows)


def policy_sections(stats: Mapping[str, Any], *, max_communities: int = 30,
                    currency: str | None = None) -> list[tuple[str, str]]:
    """The report's (heading, HTML body) sections for a multi-service plan (empty for other models).

    ``currency`` names the money columns of the plan by year (``budget (CNY)``).
    """
    out: list[tuple[str, str]] = []
    services = service_table(stats)
    if services is not None:
        out.append((tr("Services by category: before → after"), table_html(_services_shown(services)) +
                    "<p class=note>" + tr("Before: the target group within the service's threshold of an existing "
                    "facility providing it. After: with the plan, as the solve verified it. <i>how set</i>: the "
                    "standard's walking distance at the speed group's flat pace, or an explicit "
                    "<code>threshold_minutes</code>; the walk itself is on the speed group's travel table (slopes, "
                    "stairs). Floors and priorities: the scenario's policy (models/policy.md).") + "</p>"))
    phases = phase_table(stats)
    if phases is not None:
        share_cols = [c for c in phases.columns if c.startswith("share_")]
        money = phases.drop(columns=share_cols)
        # objective units differ by objective kind (shares, persons): significant digits, not yuan rounding
        money["objective"] = [f"{v:,.6g}" if isinstance(v, float) and not math.isnan(v) else ""
                              for v in phases["objective"]]
        money = money.rename(columns={c: c.replace("_", " ") for c in ("new_placements", "buildings_converted")})
        if currency:  # 万元 in a Chinese report (2 decimals), the currency's units in English
            from .money import money_frame

            money = money_frame(money, ["budget", "spent"], currency)
        floatfmt = "{:,.0f}" if "budget" in money or not currency else "{:,.2f}"
        out.append((tr("Plan by year"), table_html(money, floatfmt=floatfmt) +
                    f"<h3>{tr('Coverage share by year')}</h3>" +
                    table_html(_shares_by_year(stats, phases, share_cols)) +
                    "<p class=note>" + tr("Each year's plan keeps what earlier years opened; a year's share is after "
                    "that year's placements, <i>before</i> is existing facilities only. Every cost by year, building "
                    "and service: <code>phases.csv</code>.") + "</p>"))
    communities = community_table(stats)
    if communities is not None:
        value_cols = [c for c in communities.columns if c not in ("community", "below_floor")]
        shown = _percent_columns(communities, value_cols).rename(
            columns={"worst_share": "worst share", "mean_share": "mean share", "below_floor": "below its floor"})
        note = (tr("{n} communities, worst first").format(n=len(communities)) +
                (tr("; the {n} worst shown, all in <code>coverage_per_community.csv</code>").format(n=max_communities)
                 if len(communities) > max_communities else ""))
        out.append((tr("Coverage per community"), table_html(shown, max_rows=max_communities) +
                    f"<p class=note>{note}" + tr(". Share of each service's target group covered in the community; "
                    "— where the community has none of that group.") + "</p>"))
    return out
