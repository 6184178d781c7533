"""The plan an evaluation measures "after": from a solve's folder, its ``solution.json`` / ``record.json``, or a Result.

A plan is ``{site_id: {service, ...}}``, the services it places in each converted building (as
:func:`siting.workflow.reach.plan_services` reads it). A single-service model's plan places its one service in every
selected building; a multi-service plan names them per building: ``record.json``'s ``selected_sites``, or the
``origin = new`` rows of the ``sites.csv`` written beside ``solution.json``.

Example
-------
>>> plan_of({"model": "mclp", "has_solution": True, "selected": ["S1"]}, ["mclp"], model="mclp")[0]
{'S1': {'mclp'}}
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from ..result import Result

__all__ = ["Plan", "plan_of", "read_plan_file"]

#: site id -> services placed there
Plan = dict[str, set[str]]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("plan file not found", file=str(path)) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"not a readable JSON plan ({type(exc).__name__})", file=str(path)) from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object (solution.json or record.json)", file=str(path))
    return data


def _placements_from_sites_csv(path: Path) -> list[dict[str, Any]] | None:
    """``selected_sites`` rows from a multi-service ``sites.csv`` (``origin = new`` rows), None without one."""
    if not path.is_file():
        return None
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not {"site_id", "service", "origin"} <= set(table.columns):
        return None
    new = table[table["origin"] == "new"]
    grouped = new.groupby("site_id", sort=False)["service"].agg(lambda s: ";".join(sorted(s)))
    return [{"site_id": k, "services": v} for k, v in grouped.items()]


def _placements(rows: Sequence[Any], selected: Sequence[str], keys: list[str]) -> Plan:
    """Site id -> services: a row's ``services`` (list or ``;``-text), else the single service everywhere."""
    if any(isinstance(r, Mapping) and r.get("services") not in (None, "") for r in rows):
        out: Plan = {}
        for r in rows:
            v = r.get("services")
            items = v if isinstance(v, (list, tuple)) else str(v or "").split(";")
            out[str(r.get("site_id", r.get("id")))] = {str(s).strip() for s in items if str(s).strip()}
        return out
    return {sid: set(keys) for sid in selected}


def read_plan_file(path: str | Path) -> tuple[dict[str, Any], str]:
    """The record of a plan file or folder (``record.json`` preferred, it lists each building's services).

    A ``solution.json`` without ``selected_sites`` gets them from ``record.json`` or ``sites.csv`` beside it
    when those hold the same selection.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "record.json" if (p / "record.json").is_file() else p / "solution.json"
    rec = _read_json(p)
    if "selected_sites" not in rec:
        sibling = p.parent / "record.json"
        other = _read_json(sibling) if sibling.is_file() and sibling != p else None
        if other is not None and list(other.get("selected") or []) == list(rec.get("selected") or []) \
                and "selected_sites" in other:
            rec = dict(rec, selected_sites=other["selected_sites"])
        else:
            rows = _placements_from_sites_csv(p.parent / "sites.csv")
            if rows is not None and {r["site_id"] for r in rows} == {str(s) for s in rec.get("selected") or []}:
                rec = dict(rec, selected_sites=rows)
    return rec, str(p)


def plan_of(plan: str | Path | Mapping[str, Any] | Result | None, keys: Sequence[str], *,
            model: str, site_ids: Sequence[str] | None = None) -> tuple[Plan, str]:
    """The plan's placements and where it came from (``"existing facilities only"`` without a plan).

    Raises
    ------
    InputError
        one line naming the plan file: no solution in it, a plan of another model, a multi-service plan
        without its placements, a site or service the scenario does not have.
    """
    if plan is None:
        return {}, "existing facilities only"
    if isinstance(plan, Result):
        # the record the solve writes (its selected_sites name a multi-service plan's placements)
        from ..workflow.records import result_record

        rec, source = result_record(plan), "result"
    elif isinstance(plan, Mapping):
        rec, source = dict(plan), "record"
    else:
        rec, source = read_plan_file(plan)
    if not rec.get("has_solution", True):
        raise InputError(f"the plan holds no solution (status {rec.get('status', '?')})", file=source)
    if rec.get("model") not in (None, model):
        raise InputError(f"a plan of model {rec.get('model')!r}, but the scenario's model is {model!r}",
                         file=source, column="model")
    selected = [str(s) for s in rec.get("selected") or []]
    rows = rec.get("selected_sites") or []
    if len(keys) > 1 and selected and not any(isinstance(r, Mapping) and r.get("services") for r in rows):
        raise InputError("a multi-service plan needs the services of each building: give the solve's folder or "
                         "record.json (or keep sites.csv beside solution.json)", file=source, column="selected_sites")
    placed = _placements(rows, selected, list(keys))
    known = set(keys)
    ids = set(site_ids) if site_ids is not None else None
    for sid, services in placed.items():
        if ids is not None and sid not in ids:
            raise InputError("site is not in the scenario's candidates", file=source, row_id=sid, column="site_id")
        unknown = sorted(services - known)
        if unknown:
            raise InputError(f"service(s) {', '.join(unknown)} not enabled in the scenario (enabled: "
                             f"{', '.join(keys)})", file=source, row_id=sid, column="services")
    return placed, source
