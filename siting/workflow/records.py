"""Resumable records: fingerprints of what a solve depends on, and the JSON record a finished task leaves.

A task's record is written atomically (:func:`siting.io.atomic_write_json`) the moment it finishes; a re-run
trusts it only when it parses, says ``"finished": true`` and carries the same fingerprint. This module is
the bottom of :mod:`siting.workflow`: it imports nothing from the package.

Example
-------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_record(folder / "a.json", {"status": "optimal", "finished": True, "fingerprint": "f1"})
>>> read_record(folder / "a.json", "f1")["status"], read_record(folder / "a.json", "f2")
('optimal', None)
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ScenarioError
from ..io import atomic_write_json
from ..result import Result, site_labels

__all__ = ["fingerprint", "read_record", "write_record", "result_record", "output_folder"]


def fingerprint(scenario_path: str | Path, extra_files: Iterable[str | Path] = (), extra: str = "", *,
                include_scenario: bool = True) -> str:
    """sha256 of the scenario text, ``extra`` and (size, mtime) of every file named (changed input -> recompute).

    Parameters
    ----------
    scenario_path : str or Path
        The scenario file; its bytes are hashed when ``include_scenario``.
    extra_files : iterable of paths
        Input files: their size and modification time (not their bytes: tables can be large) are hashed.
    extra : str
        Any further text the result depends on (e.g. the scenario's parsed tables).
    include_scenario : bool
        Hash the scenario file's bytes.

    Returns
    -------
    str
        16 hex digits.
    """
    h = hashlib.sha256()
    if include_scenario:
        h.update(Path(scenario_path).read_bytes())
    h.update(extra.encode())
    for f in sorted(str(x) for x in extra_files):
        fp = Path(f)
        st = fp.stat() if fp.exists() else None
        h.update(f"{f}:{st.st_size if st else -1}:{st.st_mtime_ns if st else -1}".encode())
    return h.hexdigest()[:16]


def read_record(path: Path, fp: str | None) -> dict | None:
    """A finished task's record, or None when missing, unreadable, unfinished or from other inputs (``fp``)."""
    try:
        rec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or "status" not in rec or rec.get("finished") is not True:
        return None
    if fp is not None and rec.get("fingerprint") != fp:
        return None
    return rec


def write_record(path: Path, record: dict) -> Path:
    """Write a record atomically as indented JSON (NaN -> null); returns ``path``."""
    return atomic_write_json(path, record, indent=1)


def output_folder(path: str | Path, *, key: str = "out_dir", file: str | None = None, create: bool = True) -> Path:
    """``path`` resolved (and created), or a one-line :class:`~siting.errors.ScenarioError` naming ``key``.

    Called before any solving, so ``--out`` naming an existing file (or a folder inside one) fails at once.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "taken.txt"
    >>> _ = f.write_text("x")
    >>> output_folder(f, key="--out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    siting.errors.ScenarioError: key '--out': .../taken.txt is a file, not a folder for the outputs
    """
    out = Path(path).resolve()
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                raise ScenarioError(f"{p} is a file, not a folder for the outputs", file=file, key=key)
            break
    if create:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ScenarioError(f"cannot create the output folder {out}: {exc.strerror or exc}", file=file,
                                key=key) from None
    return out


# ----------------------------------------------------------------------------- the record of one result
def _per_service(result: Result) -> dict[str, dict[str, Any]]:
    """Per-service figures if the model reports them (multi-service), else {}."""
    stats = result.stats or {}
    for key in ("per_service", "services"):
        v = stats.get(key)
        if isinstance(v, dict):
            return {str(k): dict(x) if isinstance(x, dict) else {"value": x} for k, x in v.items()}
    return {}


def _labelled(frame: pd.DataFrame, result: Result) -> pd.DataFrame:
    """``frame`` with the candidates' text columns (name, address, ...) when the result knows its input layers."""
    if result.input_layers is None:
        return frame
    return site_labels(frame, result.input_layers.sites)


def _selected_sites(result: Result) -> list[dict[str, Any]]:
    """The converted buildings: id, cost and (multi-service) the services placed in each."""
    sites = result.sites
    if sites is None or sites.empty:
        return []
    if {"service", "origin", "site_id"} <= set(sites.columns):  # multi-service: one row per placement
        new = sites[sites["origin"] == "new"]
        if new.empty:
            return []
        g = new.groupby("site_id", sort=False)
        out = pd.DataFrame({
            "site_id": list(g.groups),
            "services": g["service"].agg(lambda s: ";".join(sorted(s))).to_numpy(),
            "building_cost": g["building_cost"].first().to_numpy() if "building_cost" in new else np.nan,
            "fitout_cost": g["fitout_cost"].sum().to_numpy() if "fitout_cost" in new else 0.0,
        })
        out["cost"] = out["building_cost"] + out["fitout_cost"]
        out = _labelled(out, result)
        return [{str(k): v for k, v in row.items()} for row in out.to_dict(orient="records")]
    if "selected" in sites.columns:
        keep = [c for c in ("site_id", "cost", "x", "y", "served_weight") if c in sites.columns]
        chosen = _labelled(sites.loc[sites["selected"].astype(bool), keep].copy(), result)
        return [{str(k): v for k, v in row.items()} for row in chosen.to_dict(orient="records")]
    return [{"site_id": s} for s in result.selected]


def result_record(result: Result) -> dict[str, Any]:
    """A JSON-ready record of a result: ``Result.summary()`` plus per-service figures and the selected sites."""
    rec = result.summary()
    rec["per_service"] = _per_service(result)
    rec["selected_sites"] = _selected_sites(result)
    return rec
