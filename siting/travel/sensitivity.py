"""How much a plan's coverage depends on the stair assumption: ``siting travel S.toml --sensitivity stairs``.

The walking times from every demand point to the plan's providers are recomputed under a range of stair
parameter sets (:func:`stair_parameter_sets`): the legacy flat-scaled model (``stairs_factor`` 0.5, Tobler for
every group, so the elderly are the adults x 1 / 0.76), the stair model at the scenario's rates (or the published
defaults) scaled slower and faster, and the stair model with every group on Tobler's slope response. For each set,
service, speed group (weighted by its own demand column: ``elderly`` for the elderly, ``population`` otherwise) and
threshold, :func:`stair_sensitivity` gives the covered weight and share, optionally per label (``district``).

Example
-------
>>> import pandas as pd
>>> from siting.travel.graph import WalkGraph
>>> g = WalkGraph.from_segments([0, 100, 130], [0, 0, 0], [0, 0, 18], [0, 1], [1, 2], stairs=[False, True])
>>> demand = pd.DataFrame({"id": ["d"], "x": [130.0], "y": [0.0], "population": [10.0], "elderly": [4.0]})
>>> sites = pd.DataFrame({"id": ["s"], "x": [0.0], "y": [0.0]})
>>> providers = pd.DataFrame({"site_id": ["s"], "service": ["elderly_care"]})
>>> sets = stair_parameter_sets({"adult": 1.0, "elderly": 0.76}, scales=(1.0,))
>>> t = stair_sensitivity(g, demand, sites, providers, sets, minutes=(3.6,))  # 18 m down 30 m of steps
>>> t.set_index(["parameter_set", "group"])["share"].to_dict()  # doctest: +NORMALIZE_WHITESPACE
{('flat-scaled', 'adult'): 1.0, ('flat-scaled', 'elderly'): 1.0, ('stairs x1', 'adult'): 1.0,
 ('stairs x1', 'elderly'): 0.0, ('stairs, Tobler for all', 'adult'): 1.0, ('stairs, Tobler for all', 'elderly'): 0.0}
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from siting.data.instance import Demand, Sites
from siting.errors import InputError
from siting.travel.api import compute_travel_times
from siting.travel.config import NetworkConfig
from siting.travel.graph import WalkGraph
from siting.travel.speed import TOBLER, SpeedProfile

__all__ = ["ParameterSet", "stair_parameter_sets", "plan_providers", "stair_sensitivity", "scenario_sensitivity",
           "summary_table", "SENSITIVITY_KINDS"]

SENSITIVITY_KINDS = ("stairs",)
DEFAULT_SCALES = (0.7, 1.0, 1.3)


@dataclass(frozen=True)
class ParameterSet:
    """One walking model of the sensitivity table."""

    name: str
    description: str
    profile: SpeedProfile


def stair_parameter_sets(groups: dict[str, float], *, base: SpeedProfile | None = None, use_slope: bool = True,
                         scales: Iterable[float] = DEFAULT_SCALES) -> list[ParameterSet]:
    """The flat-scaled legacy model, the stair model with its rates x each scale, and the stair model on Tobler.

    ``base`` gives the centre rates and slope responses (the scenario's; default: the published defaults);
    a legacy ``base`` is replaced by the defaults.
    """
    if base is None or base.legacy_stairs:
        base = SpeedProfile(groups=dict(groups), use_slope=use_slope)
    out = [ParameterSet("flat-scaled", "legacy: stairs_factor 0.5 and Tobler for every group (the elderly are the "
                        "adults x their speed ratio)", SpeedProfile(groups=dict(groups), use_slope=use_slope,
                                                                    stairs_factor=0.5))]
    slopes = {g: base.slope_response(g) for g in groups}
    for k in scales:
        k = float(k)
        if not k > 0:
            raise InputError(f"stair scale must be positive, got {k!r}", column="stair-scales")
        rates = {g: base.stair_rates(g).scaled(k) if k != 1.0 else base.stair_rates(g) for g in groups}
        what = "the stair model" if k == 1.0 else f"stair rates x {k:g} ({'faster' if k > 1 else 'slower'})"
        out.append(ParameterSet(f"stairs x{k:g}", f"{what}; each group's own slope response",
                                SpeedProfile(groups=dict(groups), use_slope=use_slope, stairs=rates, slopes=slopes)))
    out.append(ParameterSet("stairs, Tobler for all", "the stair model, every group on Tobler's slope response",
                            SpeedProfile(groups=dict(groups), use_slope=use_slope,
                                         stairs={g: base.stair_rates(g) for g in groups},
                                         slopes={g: TOBLER for g in groups})))
    return out


def plan_providers(sites: pd.DataFrame, plan_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """``site_id``, ``service`` of the plan's providers.

    With ``plan_dir``: its ``sites.csv`` (``siting solve``): the rows of a multi-service plan (new and existing
    providers per service), else the sites with ``open`` (or ``selected``) true, as service ``all``. Without: the
    existing facilities of ``sites`` (``status = existing``) with their ``;``-separated ``services`` (else ``all``).
    """
    if plan_dir is not None:
        path = Path(plan_dir) / "sites.csv" if Path(plan_dir).is_dir() else Path(plan_dir)
        if not path.is_file():
            raise InputError("plan not found: give the folder of a solve (its sites.csv)", file=str(path))
        plan = pd.read_csv(path, dtype={"site_id": str, "service": str}, keep_default_na=False)
        if "site_id" not in plan.columns:
            raise InputError("missing column", file=str(path), column="site_id")
        if "service" in plan.columns:
            return plan[["site_id", "service"]].drop_duplicates().reset_index(drop=True)
        flag = next((c for c in ("open", "selected") if c in plan.columns), None)
        if flag is None:
            raise InputError("needs a 'service' or an 'open' column", file=str(path), column="open")
        is_open = plan[flag].astype(str).str.lower().isin(("true", "1"))
        return pd.DataFrame({"site_id": plan.loc[is_open, "site_id"].to_numpy(), "service": "all"})
    status = sites["status"].astype(str) if "status" in sites.columns else pd.Series("", index=sites.index)
    existing = sites[status == "existing"]
    if "services" not in sites.columns:
        return pd.DataFrame({"site_id": existing["id"].astype(str).to_numpy(), "service": "all"})
    listed = existing.assign(service=existing["services"].fillna("").astype(str).str.split(";")).explode("service")
    listed["service"] = listed["service"].str.strip()
    listed = listed[listed["service"] != ""]
    return pd.DataFrame({"site_id": listed["id"].astype(str).to_numpy(), "service": listed["service"].to_numpy()})


def _weight_column(group: str, demand: pd.DataFrame) -> str:
    return group if group in demand.columns and group != "population" else "population"


def stair_sensitivity(graph: WalkGraph, demand: pd.DataFrame, sites: pd.DataFrame, providers: pd.DataFrame,
                      sets: Sequence[ParameterSet], *, minutes: Sequence[float] = (5.0, 10.0, 15.0),
                      by: str | None = None, max_snap_m: float = 300.0, engine: str = "auto",
                      elevation_samples: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    """Covered weight and share per parameter set, service, speed group, threshold (and ``by`` label).

    Parameters
    ----------
    graph : WalkGraph
        The street network.
    demand : pandas.DataFrame
        ``id``, ``x``, ``y``, ``population`` and the groups' weight columns (e.g. ``elderly``); ``by`` if given.
    sites : pandas.DataFrame
        ``id``, ``x``, ``y`` of the candidates and facilities (the providers are looked up here).
    providers : pandas.DataFrame
        ``site_id``, ``service`` (see :func:`plan_providers`).
    sets : sequence of ParameterSet
        The walking models compared (see :func:`stair_parameter_sets`).
    minutes : sequence of float
        Walking-time thresholds.
    by : str, optional
        A demand label column (e.g. ``district``): one row per label value too.

    Returns
    -------
    pandas.DataFrame
        ``parameter_set``, ``service``, ``group``, ``weight_column``, [``by``], ``minutes``, ``covered``,
        ``total``, ``share``; ``attrs["sets"]`` describes the sets.
    """
    minutes = sorted({float(m) for m in minutes})
    if not minutes or minutes[0] <= 0:
        raise InputError(f"thresholds must be positive minutes, got {minutes!r}", column="minutes")
    if by is not None and by not in demand.columns:
        raise InputError(f"no demand column '{by}' to break the coverage down by", column=by)
    ids = demand["id"].astype(str).to_numpy()
    used = sites[sites["id"].astype(str).isin(set(providers["site_id"].astype(str)))]
    missing = sorted(set(providers["site_id"].astype(str)) - set(used["id"].astype(str)))
    if missing:
        raise InputError(f"plan providers not among the candidates: {', '.join(missing[:5])}", column="site_id")
    labels = demand[by].astype(str).to_numpy() if by is not None else np.full(len(ids), "", dtype=object)
    rows = []
    for ps in sets:
        table = compute_travel_times(graph, demand, used, cutoff_min=minutes[-1], profile=ps.profile,
                                     max_snap_m=max_snap_m, engine=engine, elevation_samples=elevation_samples)
        if "group" not in table.columns:
            table["group"] = ""
        table = table.merge(providers.rename(columns={"site_id": "candidate_id"}), on="candidate_id")
        best = table.groupby(["service", "group", "demand_id"])["minutes"].min()
        for k, group in enumerate(ps.profile.groups):
            label = "" if k == 0 else group
            column = _weight_column(group, demand)
            weight = pd.to_numeric(demand[column], errors="coerce").fillna(0.0).to_numpy(float)
            totals = pd.Series(weight).groupby(labels).sum()
            for service in providers["service"].drop_duplicates():
                try:
                    nearest = best.loc[(service, label)]
                except KeyError:
                    nearest = pd.Series(dtype=float)
                t = pd.Series(np.inf, index=ids)
                t.loc[nearest.index] = nearest.to_numpy()
                for m in minutes:
                    covered = pd.Series(np.where(t.to_numpy() <= m, weight, 0.0)).groupby(labels).sum().to_dict()
                    for lab, total in totals.to_dict().items():
                        row = {"parameter_set": ps.name, "service": service, "group": group, "weight_column": column}
                        if by is not None:
                            row[by] = lab
                        got = float(covered.get(lab, 0.0))
                        row.update(minutes=m, covered=got, total=float(total), share=got / total if total else 0.0)
                        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["sets"] = {ps.name: ps.description for ps in sets}
    return out


def scenario_sensitivity(cfg: NetworkConfig, demand: Demand, sites: Sites, *, plan_dir: str | os.PathLike[str] | None,
                         minutes: Sequence[float], by: str | None = None,
                         scales: Iterable[float] = DEFAULT_SCALES, graph: WalkGraph | None = None) -> pd.DataFrame:
    """:func:`stair_sensitivity` for validated layers and a ``[network]`` section (``siting travel --sensitivity``)."""
    from siting.travel.scenario import elevation_samples, points_frame

    graph = graph if graph is not None else cfg.build_graph()
    d = points_frame(demand)
    d["population"] = demand.population
    for name, values in {**demand.groups, **demand.labels}.items():
        d[name] = values
    s = points_frame(sites)
    s["status"] = np.asarray(sites.status, dtype=str)
    if "services" in sites.labels:
        s["services"] = sites.labels["services"]
    profile = cfg.profile()
    sets = stair_parameter_sets(dict(cfg.speeds), base=profile, use_slope=cfg.slope, scales=scales)
    return stair_sensitivity(graph, d, s, plan_providers(s, plan_dir), sets, minutes=minutes, by=by,
                             max_snap_m=cfg.max_snap_m, engine=cfg.engine,
                             elevation_samples=elevation_samples(cfg, graph))


def summary_table(table: pd.DataFrame, *, by: str | None = None, only: str | None = None) -> pd.DataFrame:
    """Shares in %, one row per service and parameter set, one column per group and threshold (for the console).

    ``only`` keeps the rows of one ``by`` label (e.g. ``old_town``).
    """
    t = table
    if by is not None and only is not None:
        t = t[t[by] == only]
    elif by is not None:  # every label at once would not fit a console: the whole area
        t = t.groupby(["parameter_set", "service", "group", "minutes"], sort=False)[["covered", "total"]].sum()
        t = t.assign(share=t["covered"] / t["total"].where(t["total"] > 0)).reset_index()
    t = t.assign(column=t["group"] + " " + t["minutes"].map("{:g} min".format))
    wide = t.pivot_table(index=["service", "parameter_set"], columns="column", values="share", sort=False)
    return (100 * wide).round(1)
