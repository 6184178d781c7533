"""Reports for the planning committee: a self-contained HTML page and a GeoPackage for GIS.

:func:`build_report` solves the scenario at its budget (or re-uses ``<out>/solve`` when the inputs are
unchanged) and writes ``<out>/report/report.html``, ``<out>/report/siting.gpkg`` and
``<out>/report/coverage_per_service.csv``. The covered weight after the plan is the solve's own (the model's
``evaluate``, as in ``solution.json``), and the per-demand flags on the maps are its ``coverage.csv``; the
"before" figures (existing facilities only) and the service areas come from
:class:`~siting.workflow.reach.PlanReach`, built from the same prepared inputs as the solve. When ``<out>/sweep.csv``,
``<out>/rank.csv`` or ``<out>/compare.csv`` exist (from ``siting sweep`` / ``rank`` / ``compare`` with the
same ``--out``), their curve and tables are included.

For a committee: every money column and axis names the currency (:mod:`.money`: ``[report] currency``, else
the catalog's); the maps draw the streets of the scenario's network (``[report] streets`` or ``[network] path``:
GeoPackage / GeoJSON lines, ``.osm.pbf``, ``.osm``; :mod:`.streets`) or say why they cannot, each service's
network service area, a scale bar, a north arrow and the plan's buildings by name (:mod:`.plan_maps`); an
interactive offline map (:mod:`.interactive`) zooms, pans, toggles layers and opens a building's services, cost
and reasons; per group / per community shares, gaps and 2SFCA accessibility come from
:func:`siting.evaluate.evaluation_tables` (:mod:`.evaluation`).

Example
-------
>>> from siting.workflow.reporting import build_report
>>> rep = build_report("scenarios/example/mclp.toml", out_dir="out/example", quiet=True)  # doctest: +SKIP
>>> rep.html.name, rep.gpkg.name  # doctest: +SKIP
('report.html', 'siting.gpkg')
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...errors import InputError, VerificationError
from ...i18n import Language, chosen_language, current_language, parse_language, resolve_language, use_language
from ...i18n.labels import service_title, tr, tr_note, use_terms, write_labels_sidecar
from ...i18n.numbers import format_money, money_unit
from ...io import atomic_write_csv, atomic_write_text
from ...scenario import Scenario
from ..evaluation import covered_by_service, model_inputs, total_by_service
from ..prepare import Prepared, prepare_scenario
from ..ranking import REASON_COLUMNS, reasons_column
from ..reach import PlanReach, plan_services
from ..records import read_record
from ..solve_one import solve_prepared
from ..tasks import progress_bar
from .evaluation import evaluation_sections, load_evaluation
from .gpkg import write_geopackage
from .html import esc, img_tag, render_html, table_html
from .money import money_frame, money_label, report_currency
from .plan_maps import map_coordinates, plan_map_html, service_areas, speed_groups, static_maps
from .policy import community_table, opening_years, policy_sections
from .streets import read_streets
from .walking import with_walking_model

__all__ = ["ReportResult", "build_report", "reference_record"]


@dataclass(frozen=True)
class ReportResult:
    """What :func:`build_report` wrote, and the tables it drew."""

    html: Path
    gpkg: Path
    services: pd.DataFrame     # per service: covered before / after (after = the solve's own figure)
    record: dict[str, Any]     # the plan's record (Result.summary() + per-service + selected sites)
    csv: Path | None = None    # coverage_per_service.csv (the services table, full precision)


def reference_record(prep: Prepared, quiet: bool) -> tuple[dict[str, Any], Path]:
    """The plan at the scenario's budget and the folder of its outputs.

    ``<out>/solve`` (the report's own solve) or ``<out>`` itself (what ``siting solve --out <out>`` wrote) when
    its ``record.json`` belongs to these inputs and this budget; else the plan is solved now into ``<out>/solve``.
    """
    for folder in (prep.out_dir / "solve", prep.out_dir):
        rec = read_record(folder / "record.json", prep.fingerprint)
        if rec is not None and rec.get("budget") == prep.scenario.model.budget and (folder / "coverage.csv").is_file():
            return rec, folder
    folder = prep.out_dir / "solve"
    solve_prepared(prep, folder, progress=not quiet)
    return read_record(folder / "record.json", prep.fingerprint) or {}, folder


def _covered_after(folder: Path, reach: PlanReach, after: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per service, the demand points the solve counts as covered (its ``coverage.csv``)."""
    counts = reach.counts(after)
    flags = {k: c > 0 for k, c in counts.items()}
    path = folder / "coverage.csv"
    if not path.is_file():
        return flags
    table = pd.read_csv(path, dtype={"demand_id": str, "site_id": str, "service": str}, keep_default_na=False,
                        na_values={"minutes": [""], "share": [""]})
    index = pd.Index(reach.demand.ids.astype(str))
    covered = table["covered"].astype(str).str.lower().isin(("true", "1"))
    for k in flags:
        rows = table["service"] == k if "service" in table.columns else pd.Series(True, index=table.index)
        pos = index.get_indexer(table.loc[rows, "demand_id"])
        mask = np.zeros(len(index), dtype=bool)
        mask[pos[pos >= 0]] = covered[rows].to_numpy()[pos >= 0]
        flags[k] = mask
    return flags


def service_table(rec: dict[str, Any], reach: PlanReach, before: dict[str, np.ndarray],
                  after: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per service: covered before (existing providers) and after (the solve's figure), shares.

    For a service without capacities the weight the plan's providers reach must be the solve's covered weight
    (they are built from the same inputs): a difference raises :class:`VerificationError`.
    """
    covered, total = covered_by_service(rec), total_by_service(rec)
    reached_before, reached_after = reach.reached(before), reach.reached(after)
    rows = []
    for s in reach.specs:
        tot = total.get(s.key, float(s.weight.sum()))
        got = covered.get(s.key, 0.0)
        if rec.get("has_solution") and s.exact and not np.isclose(reached_after[s.key], got, rtol=1e-9, atol=1e-9):
            raise VerificationError(f"report: {s.key} reaches {reached_after[s.key]:,.6g} with the plan's providers "
                                    f"but the solve reports {got:,.6g} covered")
        rows.append({"service": s.key, "weight_column": s.weight_column,
                     "threshold_min": np.nan if s.threshold_min is None else s.threshold_min,
                     "covered_before": reached_before[s.key], "share_before": reached_before[s.key] / tot if tot else 0.0,
                     "covered_after": got, "share_after": got / tot if tot else 0.0, "total": tot,
                     "gain": got - reached_before[s.key], "providers_before": int(before[s.key].sum()),
                     "providers_after": int(after[s.key].sum())})
    return pd.DataFrame(rows)


def _background(scenario: Scenario) -> list | None:
    """Polygons (river...) from a ``context.gpkg`` next to the scenario, if any (the demo district has one)."""
    if scenario.path is None:
        return None
    ctx = scenario.path.parent / "context.gpkg"
    if not ctx.is_file():
        return None
    try:
        import pyogrio
        import shapely

        river = pyogrio.read_dataframe(ctx, layer="river")
    except Exception:  # noqa: BLE001 - decoration only
        return None
    shapes = []
    for g in river.geometry.values:
        for poly in getattr(g, "geoms", [g]):
            xs, ys = shapely.get_coordinates(poly.exterior).T
            shapes.append((xs, ys))
    return [(shapes, "#9ecae1")]


def build_report(scenario: str | Path, *, out_dir: str | Path | None = None, quiet: bool = False,
                 max_rank_rows: int = 30, out_key: str = "out_dir", language: str | None = None) -> ReportResult:
    """Write ``report.html``, ``siting.gpkg`` and ``coverage_per_service.csv`` under ``<out_dir>/report``.

    See the module docstring; ``out_key`` is how errors name ``out_dir``. ``language`` (``"en"`` / ``"zh"``,
    the ``--lang`` of ``siting report``) wins over a language set with :func:`siting.i18n.use_language`, then
    the scenario's ``[report] language``, then ``$SITING_LANG``, then English. The language changes the words,
    money units and number formats of the page and its plots, never a figure or a CSV value.
    """
    explicit = parse_language(language) if language is not None else chosen_language()
    prep = prepare_scenario(scenario, out_dir=out_dir, quiet=quiet, out_key=out_key)
    lang = resolve_language(explicit, prep.scenario.report,
                            file=None if prep.scenario.path is None else str(prep.scenario.path))
    with use_language(lang):
        return _build_report(prep, quiet=quiet, max_rank_rows=max_rank_rows)


def _build_report(prep: Prepared, *, quiet: bool, max_rank_rows: int) -> ReportResult:
    """:func:`build_report` once the scenario is prepared and the language set."""
    currency = report_currency(prep.scenario)
    rec, solved = reference_record(prep, quiet)
    if not rec.get("has_solution", True):
        raise InputError(f"{prep.scenario.name}: the plan's solve ended '{rec.get('status')}' without a plan "
                         f"({rec.get('message') or 'no message'}); a report needs one: raise [solver] time_limit or "
                         "relax the policy", file=str(solved / "solution.json"))
    inputs = model_inputs(prep.effective)
    reach = PlanReach(inputs)
    folder = prep.out_dir / "report"
    folder.mkdir(parents=True, exist_ok=True)
    # service keys read as the catalog's Chinese names in a Chinese report (tables, headers, map titles)
    terms = {s.key: service_title(s.key, s.label, Language.ZH) for s in reach.specs if s.label}
    with use_terms(terms), progress_bar(len(reach.specs) + 4, "report", quiet=quiet) as advance:
        plan = plan_services(rec.get("selected_sites") or [], rec.get("selected") or [], reach.keys)
        before = reach.providers(None)
        after = reach.providers(plan)
        svc = service_table(rec, reach, before, after)
        csv = atomic_write_csv(folder / "coverage_per_service.csv", svc)
        write_labels_sidecar(csv, svc.columns)
        communities = community_table(rec.get("stats") or {})
        if communities is not None:
            write_labels_sidecar(atomic_write_csv(folder / "coverage_per_community.csv", communities),
                                 communities.columns)
        else:  # a table left by an earlier report of another plan would be read as this one's
            (folder / "coverage_per_community.csv").unlink(missing_ok=True)
            (folder / "coverage_per_community.labels.csv").unlink(missing_ok=True)
        covered_before = {k: c > 0 for k, c in reach.counts(before).items()}
        covered_after = _covered_after(solved, reach, after)
        advance()
        ranking = pd.read_csv(prep.out_dir / "rank.csv", dtype={"site_id": str}) \
            if (prep.out_dir / "rank.csv").is_file() else None
        if ranking is not None and set(REASON_COLUMNS) <= set(ranking.columns):
            # worded again in the report's language from rank.csv's own columns
            ranking["reasons"] = reasons_column(ranking, currency=currency)
        elif ranking is not None and "reasons" in ranking:  # rank.csv words its money in yuan
            ranking["reasons"] = ranking["reasons"].astype(str).str.replace("yuan", currency, regex=False)
        years = opening_years(rec.get("stats") or {})
        streets = read_streets(prep.scenario)
        groups = speed_groups(inputs)
        zones = prep.scenario.report.get("zones")
        gpkg = write_geopackage(folder / "siting.gpkg", reach, covered_before, covered_after, after, plan,
                                ranking=ranking, opened_year=years, streets=streets, speed_groups=groups,
                                zones=None if zones is None else (prep.scenario.base_dir or Path.cwd()) / str(zones),
                                zones_layer=prep.scenario.report.get("zones_layer"),
                                community_column=str(getattr(inputs.params, "community_column", "community")))
        advance()
        coords = map_coordinates(reach, streets)
        areas = service_areas(reach, streets, coords, groups, before, after)
        background = _background(prep.scenario)
        advance()
        maps = static_maps(reach, coords, streets, background, plan, before, covered_before, covered_after, areas,
                           advance)
        only_here = np.sum([v for v in reach.drop_loss(after).values()], axis=0) if reach.specs else \
            np.zeros(len(reach.ids))
        plan_cost = {str(r.get("site_id", r.get("id"))): float(r["cost"]) for r in rec.get("selected_sites") or []
                     if r.get("cost") is not None}
        live = plan_map_html(reach, coords, streets, background, plan, covered_after, areas, currency=currency,
                             plan_cost=plan_cost, ranking=ranking, opened_year=years, covered_only_here=only_here)
        tables, note = load_evaluation(rec, prep.effective, inputs)
        sections = _sections(prep, rec, svc, maps, ranking, max_rank_rows, currency=currency, live_map=live,
                             streets_note="; ".join(tr_note(n) for n in (streets.note, coords.note) if n))
        sections[2:2] = evaluation_sections(tables, note, floors=_community_floors(rec, inputs),
                                            target=dict(zip(svc["service"], svc["weight_column"], strict=True)),
                                            weights={s.key: pd.Series(s.weight, index=reach.demand.ids.astype(str))
                                                     for s in reach.specs})
        sections = with_walking_model(sections, prep.scenario, lang=str(current_language()),
                                      after=tr("Coverage per service"))
        html = render_html(tr("Siting report — {name}").format(name=prep.name), sections,
                           subtitle=tr("scenario {scenario}, model {model}, money in {currency}").format(
                               scenario=prep.scenario_path.name, model=rec.get("model", "?"),
                               currency=money_unit(currency)))
        atomic_write_text(folder / "report.html", html)
        advance()
    return ReportResult(html=folder / "report.html", gpkg=gpkg, services=svc, record=rec, csv=csv)


def _message(message: str, zh: bool, stats: dict[str, Any] | None = None) -> str:
    """The solve's one-line message for the summary, in the report's language.

    In Chinese the table above already gives the figures of the usual "N new sites, cost ..." sentence, so only
    its warnings remain (translated where the message catalog can). The warnings are joined by "; " and an
    unproven priority level's own line contains one, so those lines are rebuilt from ``stats`` and translated
    each whole.
    """
    if not zh:
        return message
    from ...i18n.messages import translate

    head, _, warning = message.partition("; warning: ")
    if re.match(r"\d+ new sites, cost ", head):
        return tr("warning: {text}").format(text=_warnings_zh(warning, stats)) if warning else ""
    return translate(message)


def _warnings_zh(warning: str, stats: dict[str, Any] | None) -> str:
    """``warning`` (the solve's warnings joined by "; ") with each unproven level's line translated whole.

    Its services read as the report's Chinese names and its termination in words (``tr``).
    """
    from ...i18n.messages import translate
    from ...models.levels import unproven_levels

    rows = (stats or {}).get("priority_levels") or []
    done = False
    for row in rows if isinstance(rows, list) else []:
        english = unproven_levels([row]) if isinstance(row, dict) else []
        if not english or english[0] not in warning:
            continue
        # one name list, joined the Chinese way
        local = {**row, "services": ["、".join(tr(str(s)) for s in row.get("services", ()))],
                 "termination": tr(str(row.get("termination")))}
        warning = warning.replace(english[0], translate(unproven_levels([local])[0]))
        done = True
    return warning if done else str(translate(warning))


def _community_floors(rec: dict[str, Any], inputs: Any) -> dict[str, float]:
    """Service -> its ``min_share_per_community`` (the solve's statistics, else the catalog)."""
    out: dict[str, float] = {}
    for key, s in ((rec.get("stats") or {}).get("services") or {}).items():
        if isinstance(s, dict) and s.get("min_share_per_community") is not None:
            out[str(key)] = float(s["min_share_per_community"])
    if not out:
        from ...models.multiservice_params import MultiserviceParams, resolved_catalog

        if isinstance(inputs.params, MultiserviceParams):
            out = {svc.key: float(svc.min_share_per_community) for svc in resolved_catalog(inputs.params)
                   if svc.min_share_per_community is not None}
    return out


def _budget_text(budget: Any, phases: Any, currency: str = "") -> str:
    """The budget as the summary states it; a phased plan's is the years' sum (and the cap, when one is given).

    In English the amounts are bare (the row names the currency); in Chinese they carry their unit (万元 / 亿元).
    """
    def money(value: float) -> str:
        return f"{value:,.0f}" if not currency else format_money(value, currency)

    if isinstance(phases, list) and phases:
        years = sum(float(p.get("budget") or 0.0) for p in phases)
        text = tr("{total} over {years} years ({first}–{last})").format(
            total=money(years), years=len(phases), first=phases[0].get("year"), last=phases[-1].get("year"))
        return text if budget is None else tr("{text}, capped at {cap}").format(text=text, cap=money(float(budget)))
    return "—" if budget is None else money(float(budget))


#: money columns of the tables the report shows (rank.csv, sweep.csv, solution.json's selected sites)
MONEY_COLUMNS = ("budget", "total_cost", "cost", "spent", "fitout_cost", "conversion_cost", "budget_unspent")


def money_columns(df: pd.DataFrame, currency: str) -> pd.DataFrame:
    """``df`` with every money column named with its currency (``cost`` -> ``cost (CNY)``).

    In Chinese, yuan columns are named ``费用（万元）`` and their values are in 万元.
    """
    df = df.rename(columns={c: c.replace("yuan", currency) for c in df.columns if "yuan" in c})
    return money_frame(df, [c for c in df.columns if c in MONEY_COLUMNS], currency)


def _sections(prep: Prepared, rec: dict[str, Any], svc: pd.DataFrame, maps: list[tuple[str, bytes]],
              ranking: pd.DataFrame | None, max_rank_rows: int, *, currency: str, live_map: str = "",
              streets_note: str = "") -> list[tuple[str, str]]:
    """The report's (heading, HTML body) sections, in order."""
    tp = float(rec.get("total_population") or 0.0)
    cov = float(rec.get("covered_population") or 0.0)
    budget = rec.get("budget")
    zh = current_language() is Language.ZH
    phases = (rec.get("stats") or {}).get("phases")
    summary = pd.DataFrame([
        (tr("status"), tr(str(rec.get("status")))),
        (tr("model"), rec.get("model")),
        (money_label("budget", currency), _budget_text(budget, phases, currency if zh else "")),
        (money_label("total cost", currency), format_money(float(rec.get("total_cost") or 0), currency) if zh
         else f"{float(rec.get('total_cost') or 0):,.0f}"),
        (tr("converted buildings"), len(rec.get("selected") or [])),
        (tr("objective covered (model units)"), tr("{covered} of {total}").format(covered=f"{cov:,.0f}",
                                                                               total=f"{tp:,.0f}")
         + (f" ({cov / tp:.1%})" if tp else "")),
        (tr("optimality gap"), "—" if rec.get("gap") is None else f"{float(rec['gap']):.2%}"),
        (tr("solver / seconds"), f"{rec.get('solver')} / {float(rec.get('seconds') or 0):.1f}"),
    ], columns=["item", "value"])
    message = _message(str(rec.get("message") or ""), zh, rec.get("stats"))
    out = [(tr("Summary"), table_html(summary) + f"<p>{esc(message)}</p>")]
    table = svc[["service", "weight_column", "threshold_min", "covered_before", "share_before", "covered_after",
                 "share_after", "total", "gain", "providers_before", "providers_after"]].copy()
    for c in ("share_before", "share_after"):
        table[c] = (100 * table[c]).map("{:.1f} %".format)
    out.append((tr("Coverage per service"), table_html(table) +
                "<p class=note>" + tr("After: the covered weight the solve verified (solution.json). Before: the "
                "weight within the service's walking threshold of an existing facility providing it, on the same "
                "travel table (the service's speed group, else the default rows). Full precision in "
                "<code>coverage_per_service.csv</code>.") + "</p>"))
    out.extend(policy_sections(rec.get("stats") or {}, currency=currency))
    note = f"<p class=note>{esc(streets_note)}</p>" if streets_note else ""
    out.append((tr("Interactive map"), note + live_map +
                "<p class=note>" + tr("Wheel or +/− to zoom, drag to pan, tick the layers, pick the service; click "
                "a building for its services, cost and reasons. The service areas are the streets from which a "
                "provider is within the service's threshold (its speed group's pace, slopes and stairs), drawn "
                "as a band; coverage figures come from the travel tables.") + "</p>"))
    body = "".join(f"<h3>{esc(key)}</h3>{img_tag(png, tr('{key} before and after').format(key=key))}"
                   for key, png in maps)
    out.append((tr("Maps: before / after"), note + body))
    sites = pd.DataFrame(rec.get("selected_sites") or [])
    if not sites.empty:
        out.append((tr("Converted buildings"), table_html(money_columns(sites, currency), max_rows=200)))
    sweep_csv, sweep_png = prep.out_dir / "sweep.csv", prep.out_dir / "sweep.png"
    if sweep_csv.is_file():
        df = pd.read_csv(sweep_csv)
        body = img_tag(sweep_png.read_bytes(), tr("coverage vs budget")) if sweep_png.is_file() else ""
        cols = [c for c in ("budget", "total_cost", "n_selected", "covered_population", "coverage_share", "status",
                            "pareto") if c in df]
        out.append((tr("Coverage vs budget"), body + table_html(money_columns(df[cols], currency), floatfmt="{:,.4g}")))
    if ranking is not None and not ranking.empty:
        cols = [c for c in ("rank", "site_id", "name", "address", "cost", "floor_area", "selection_frequency",
                            "in_plan", "marginal_per_million_yuan", "reasons") if c in ranking]
        out.append((tr("Idle buildings ranked (top {n})").format(n=max_rank_rows),
                    table_html(money_columns(ranking[cols], currency), max_rows=max_rank_rows)))
    cmp_csv = prep.out_dir / "compare.csv"
    if cmp_csv.is_file():
        cmp = pd.read_csv(cmp_csv, index_col=0)
        cmp.index = [str(i).replace("yuan", currency) for i in cmp.index]
        out.append((tr("Scenarios compared"), table_html(cmp, index=True)))
    out.append((tr("Files"), "<p>" + tr("GeoPackage for GIS: <code>siting.gpkg</code> (layers selected_sites, "
                "existing_facilities, candidates, demand_covered, demand_uncovered, service_areas; site_footprints and "
                "demand_footprints when the inputs were building polygons). Tables: "
                "<code>../solve/</code>, <code>../sweep.csv</code>, <code>../rank.csv</code>") +
                (tr(", <code>../solve/phases.csv</code> (cost by year, building and service)")
                 if (rec.get("stats") or {}).get("phases") else "") + ". " +
                tr("Column names in the CSV files stay machine names; each has a "
                   "<code>&lt;name&gt;.labels.csv</code> with the English and Chinese names.") + "</p>"))
    return out
