r"""The three evaluation tables of a state before and after a plan, from an instance and its services.

* ``accessibility``: one row per demand point and service, ``demand_id, service, access_before, access_after``
  (classic 2SFCA, :mod:`siting.evaluate.fca`), then ``access_gaussian_*`` and ``access_e2sfca_*`` (always
  written, ``NaN`` for a service without a threshold).
* ``groups``: per service, demand group (``population`` and every numeric group column), ``by`` column and
  community: ``target`` (the group's people there), ``covered_before/after`` (those within the service's
  threshold of a provider: existing facilities, plus the plan's placements after), ``share_before/after``;
  ``served_group`` marks the service's own demand column. ``by = "all"`` (community ``"all"``) is the whole
  area. "Covered" is reach, as the coverage models count it; a capacitated model's assigned figure is its
  ``solution.json``'s (crowding shows in the 2SFCA ratios instead).
* ``supply``: per service, ``by`` column and community: providers (``facilities_*``), their floor area
  (a building providing several of the evaluated services counts an equal share of its ``floor_area`` for
  each; an unknown area counts 0 and is counted in ``facilities_no_area_*``), floor area per 1,000 of the
  service's target group, the norm per 1,000 when one is known (``norm_per_1000``) and the catalogue's
  per-facility area norm (``area_norm_m2_low/high``).

Demand points or sites with a blank ``by`` label form the community ``"(blank)"``.

Example
-------
>>> from siting.testing import random_instance
>>> ev = evaluate_instance(random_instance(20, 5, seed=1), [EvalService("mclp", threshold_min=10)], plan_sites=["s0"])
>>> sorted(ev.tables()), ev.summary["providers_after"].item()
(['accessibility', 'groups', 'summary', 'supply'], 1)
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data.instance import Instance
from ..errors import InputError
from .fca import E2SFCA_WEIGHTS, GAUSSIAN_SIGMA_RATIO, MEASURES, catchment, decay_weights, reached, two_step
from .services import EvalService, ResolvedService, resolve

__all__ = ["Evaluated", "evaluate_instance", "access_columns", "BLANK", "ALL"]

BLANK = "(blank)"
ALL = "all"


def access_columns(measure: str) -> tuple[str, str]:
    """The before / after columns of a measure in ``accessibility.csv``."""
    stem = "access" if measure == "2sfca" else f"access_{measure}"
    return f"{stem}_before", f"{stem}_after"


@dataclass(frozen=True)
class Evaluated:
    """The tables of one evaluation and what they were computed from (``paths``: the files written)."""

    accessibility: pd.DataFrame
    groups: pd.DataFrame
    supply: pd.DataFrame
    summary: pd.DataFrame
    plan: dict[str, set[str]]
    plan_source: str
    by: tuple[str, ...]
    seconds: float
    paths: dict[str, Path] = field(default_factory=dict)
    notes: tuple[str, ...] = ()    # what a table leaves out, and why

    def tables(self) -> dict[str, pd.DataFrame]:
        """``{"accessibility", "groups", "supply", "summary"}`` -> DataFrame."""
        return {"accessibility": self.accessibility, "groups": self.groups, "supply": self.supply,
                "summary": self.summary}


def _codes(values: np.ndarray) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind == "f":          # numeric community codes read as numbers: 3.0 -> "3"
        return np.array(["" if np.isnan(v) else f"{v:g}" for v in arr], dtype=object)
    return np.array(["" if v is None else str(v).strip() for v in arr], dtype=object)


def _column(table: object, name: str) -> np.ndarray | None:
    for holder in ("labels", "groups", "extra"):
        values = getattr(table, holder, {}).get(name)
        if values is not None:
            return _codes(values)
    return None


def _communities(instance: Instance, column: str) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Codes of demand points and sites over the union of their labels (blank -> ``"(blank)"``).

    The sites' codes are None when the candidates have no such column (no supply rows by it, then).
    """
    demand, sites = _column(instance.demand, column), _column(instance.sites, column)
    if demand is None:
        raise InputError(f"no column {column!r} to break the tables down by ([report] by)",
                         file=instance.demand.source, column=column)
    both = np.concatenate([demand, sites if sites is not None else np.array([], dtype=object)])
    codes, labels = pd.factorize(pd.Series(np.where(both == "", BLANK, both)), sort=True)
    return codes[:len(demand)], None if sites is None else codes[len(demand):], [str(v) for v in labels]


def _plan_mask(plan: Mapping[str, Iterable[str]], key: str, index: pd.Index) -> np.ndarray:
    hosted = np.zeros(len(index), dtype=bool)
    ids = [sid for sid, services in plan.items() if key in services]
    if ids:
        pos = index.get_indexer(pd.Index(ids))
        if (pos < 0).any():
            raise InputError("site is not in the candidates", row_id=ids[int(np.flatnonzero(pos < 0)[0])],
                             column="site_id")
        hosted[pos] = True
    return hosted


def _normalise_plan(plan_sites: Mapping[str, Iterable[str]] | Iterable[str] | None,
                    keys: list[str]) -> dict[str, set[str]]:
    if plan_sites is None:
        return {}
    if isinstance(plan_sites, Mapping):
        return {str(k): {str(s) for s in v} for k, v in plan_sites.items()}
    return {str(sid): set(keys) for sid in plan_sites}  # a list of buildings hosts every service


@dataclass(frozen=True)
class _State:
    providers_before: np.ndarray
    providers_after: np.ndarray
    covered_before: np.ndarray
    covered_after: np.ndarray


def _indicator(codes: np.ndarray, k: int) -> sp.csr_matrix:
    n = codes.shape[0]
    return sp.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(k, n))


def evaluate_instance(instance: Instance, services: Sequence[EvalService | ResolvedService], *,
                      plan_sites: Mapping[str, Iterable[str]] | Iterable[str] | None = None,
                      by: Sequence[str] = (), measures: Sequence[str] = MEASURES,
                      sigma_ratio: float = GAUSSIAN_SIGMA_RATIO,
                      band_weights: tuple[float, float, float] = E2SFCA_WEIGHTS,
                      plan_source: str = "") -> Evaluated:
    """Accessibility, group and supply tables before and after ``plan_sites`` (module docstring).

    Parameters
    ----------
    instance : Instance
        Demand, sites and travel tables (``group_travel`` for services with a speed group).
    services : sequence of EvalService or ResolvedService
        What to measure (:func:`siting.evaluate.services.services_of` for a scenario's model).
    plan_sites : mapping site id -> services, or a sequence of site ids (each hosting every service)
        The plan's placements, added to the existing providers for "after"; None: after = before.
    by : sequence of str
        Text columns of demand and candidates to break ``groups`` and ``supply`` down by (``"all"`` always).
    measures : sequence of str
        Accessibility columns among :data:`~siting.evaluate.fca.MEASURES` (``2sfca`` always).
    sigma_ratio, band_weights : Gaussian width (share of the threshold) and E2SFCA band weights.
    plan_source : str
        Where the plan came from (kept in the result).
    """
    started = time.perf_counter()
    unknown = sorted(set(measures) - set(MEASURES))
    if unknown:
        raise InputError(f"unknown measure(s) {', '.join(unknown)}; known: {', '.join(MEASURES)}", column="measures")
    chosen = [m for m in MEASURES if m == "2sfca" or m in measures]
    resolved = [s if isinstance(s, ResolvedService) else resolve(instance, s) for s in services]
    keys = [s.key for s in resolved]
    if len(set(keys)) != len(keys):
        raise InputError(f"service keys must be unique, got {', '.join(keys)}", column="service")
    plan = _normalise_plan(plan_sites, keys)
    index = pd.Index(instance.sites.ids.astype(str))
    ids = instance.demand.ids.astype(str)
    access_parts, states = [], {}
    for s in resolved:
        c = catchment(s.travel, s.spec.threshold_min)
        before = s.existing
        after = before | _plan_mask(plan, s.key, index)
        changed = bool((after != before).any())
        cols: dict[str, object] = {"demand_id": ids, "service": s.key}
        for m in chosen:
            try:
                w = decay_weights(c, m, sigma_ratio=sigma_ratio, band_weights=band_weights)
            except ValueError:          # a decayed measure without a threshold
                a_before = a_after = np.full(instance.n_demand, np.nan)
            else:
                a_before = two_step(c, s.demand, s.supply * before, w)
                a_after = two_step(c, s.demand, s.supply * after, w) if changed else a_before
            cb, ca = access_columns(m)
            cols[cb], cols[ca] = a_before, a_after
        access_parts.append(pd.DataFrame(cols))
        cov_before = reached(c, before)
        states[s.key] = _State(before, after, cov_before, reached(c, after) if changed else cov_before)
    accessibility = pd.concat(access_parts, ignore_index=True) if access_parts else pd.DataFrame(
        columns=["demand_id", "service", *[c for m in chosen for c in access_columns(m)]])
    splits: list[tuple[str, np.ndarray, np.ndarray | None, list[str]]] = [
        (ALL, np.zeros(instance.n_demand, dtype=np.int64), np.zeros(instance.n_sites, dtype=np.int64), [ALL])]
    splits += [(col, *_communities(instance, col)) for col in by]
    groups = _groups_table(instance, resolved, states, splits)
    notes = [f"supply.csv has no rows by {by!r}: the candidates ({instance.sites.source}) have no such column"
             for by, _, site_codes, _ in splits if site_codes is None]
    supply = _supply_table(instance, resolved, states, [t for t in splits if t[2] is not None])
    summary = _summary(resolved, states, accessibility)
    return Evaluated(accessibility, groups, supply, summary, plan, plan_source or "plan_sites", tuple(by),
                     time.perf_counter() - started, notes=tuple(notes))


def _groups_table(instance: Instance, services: list[ResolvedService], states: dict[str, _State],
                  splits: list[tuple[str, np.ndarray, np.ndarray | None, list[str]]]) -> pd.DataFrame:
    names = ["population", *instance.demand.groups]
    weights = np.column_stack([np.asarray(instance.demand.weight(g), dtype=float) for g in names])
    parts = []
    for by, dem_codes, _, labels in splits:
        m = _indicator(dem_codes, len(labels))
        target = m @ weights                                   # (communities, groups)
        for s in services:
            st = states[s.key]
            cb = m @ (weights * st.covered_before[:, None])
            ca = m @ (weights * st.covered_after[:, None])
            k, g = target.shape
            parts.append(pd.DataFrame({
                "service": s.key, "group": np.tile(names, k), "by": by, "community": np.repeat(labels, g),
                "target": target.ravel(), "covered_before": cb.ravel(), "covered_after": ca.ravel(),
                "share_before": _share(cb, target), "share_after": _share(ca, target),
                "served_group": np.tile([n == s.spec.demand_column for n in names], k)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    return np.divide(part, whole, out=np.full(whole.shape, np.nan), where=whole > 0).ravel()


def _supply_table(instance: Instance, services: list[ResolvedService], states: dict[str, _State],
                  splits: list[tuple[str, np.ndarray, np.ndarray | None, list[str]]]) -> pd.DataFrame:
    n = instance.n_sites
    area = instance.sites.floor_area if instance.sites.floor_area is not None else np.full(n, np.nan)
    known = np.isfinite(area)
    # a building providing several services: each gets an equal share of its floor area
    hosts = {when: np.sum([getattr(states[s.key], f"providers_{when}") for s in services], axis=0)
             for when in ("before", "after")}
    parts = []
    for by, dem_codes, site_codes, labels in splits:
        if site_codes is None:
            continue
        k = len(labels)
        for s in services:
            st = states[s.key]
            target = np.bincount(dem_codes, weights=s.demand, minlength=k)
            row: dict[str, object] = {"service": s.key, "by": by, "community": labels,
                                      "demand_column": s.spec.demand_column, "target": target}
            for when, providers in (("before", st.providers_before), ("after", st.providers_after)):
                share = np.where(providers & known, np.nan_to_num(area) / np.maximum(hosts[when], 1), 0.0)
                floor = np.bincount(site_codes, weights=share, minlength=k)
                row[f"facilities_{when}"] = np.bincount(site_codes, weights=providers, minlength=k).astype(np.int64)
                row[f"facilities_no_area_{when}"] = np.bincount(site_codes, weights=providers & ~known,
                                                                minlength=k).astype(np.int64)
                row[f"floor_area_m2_{when}"] = floor
                row[f"floor_area_per_1000_{when}"] = _share(floor * 1000.0, target)
            norm = s.spec.area_norm_m2
            row["norm_per_1000"] = np.nan if s.spec.norm_per_1000 is None else s.spec.norm_per_1000
            row["area_norm_m2_low"] = np.nan if norm is None else norm[0]
            row["area_norm_m2_high"] = np.nan if norm is None else norm[1]
            parts.append(pd.DataFrame(row))
    columns = ["service", "by", "community", "demand_column", "target", "facilities_before", "facilities_after",
               "facilities_no_area_before", "facilities_no_area_after", "floor_area_m2_before",
               "floor_area_m2_after", "floor_area_per_1000_before", "floor_area_per_1000_after", "norm_per_1000",
               "area_norm_m2_low", "area_norm_m2_high"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def _summary(services: list[ResolvedService], states: dict[str, _State], access: pd.DataFrame) -> pd.DataFrame:
    """Per service: its demand column, threshold, providers, covered shares and demand-weighted mean 2SFCA."""
    rows = []
    for s in services:
        st, total = states[s.key], float(s.demand.sum())
        part = access[access["service"] == s.key]
        row = {"service": s.key, "demand_column": s.spec.demand_column,
               "threshold_min": np.nan if s.spec.threshold_min is None else s.spec.threshold_min,
               "speed_group": s.spec.speed_group or "default",
               "supply": "capacity" if bool((s.supply != 1.0).any()) else "1 per facility",
               "providers_before": int(st.providers_before.sum()), "providers_after": int(st.providers_after.sum()),
               "target": total}
        for when, cov in (("before", st.covered_before), ("after", st.covered_after)):
            got = float(s.demand[cov].sum())
            row[f"covered_{when}"] = got
            row[f"share_{when}"] = got / total if total > 0 else np.nan
            a = part[f"access_{when}"].to_numpy()
            row[f"mean_access_{when}"] = float(s.demand @ a) / total if total > 0 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
