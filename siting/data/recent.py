"""Instances read recently, reused while their files are unchanged.

One process often reads the same three tables many times: ``siting report`` solves, evaluates and draws the
plan, a multi-service model reads the table once per speed group, ``siting serve`` re-plans, and a test suite
runs every command in process. Reading and validating the tables is most of what a small scenario costs, so
:func:`recent_instance` keeps the last few instances, keyed by the files' bytes (size, modification time and
a BLAKE2 digest of the content, plus the travel table's metadata sidecar) and the loader's arguments. A file
changed in any way is read again; errors are never kept (a fixed file is read again too).

Every call returns fresh arrays (copies of the kept ones), so a caller that edits an instance in place (a
status set to ``required`` in a script) never changes what the next call returns. Only files up to
:data:`MAX_FILE_BYTES` together are kept, at most :data:`MAX_KEPT_BYTES` over all instances.

Example
-------
>>> from siting.data.load import load_instance
>>> paths = ("scenarios/example/demand.csv", "scenarios/example/candidates.csv",
...          "scenarios/example/travel_times.csv")
>>> a, b = load_instance(*paths), load_instance(*paths)
>>> a.sites.cost is b.sites.cost, bool((a.sites.cost == b.sites.cost).all())
(False, True)
"""
from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..io import sidecar_path

__all__ = ["recent_instance", "forget_instances", "MAX_FILE_BYTES", "MAX_KEPT_BYTES"]

#: the files of one instance above this size together are read every time (a city's tables: reading is then a
#: small part of the work, and the copy would double the memory)
MAX_FILE_BYTES = 64 * 2**20
#: the files of all kept instances together: the oldest are dropped past it
MAX_KEPT_BYTES = 128 * 2**20
#: how many instances are kept (a multi-service scenario uses one per speed group)
MAX_KEPT = 8
#: formats read by siting's own readers, whose content is the file itself (a shapefile's is not: .dbf, .prj)
_SUFFIXES = (".csv", ".txt", ".parquet", ".pq", ".gpkg", ".geojson", ".json")

T = TypeVar("T")
_kept: OrderedDict[tuple[Any, ...], tuple[Any, int]] = OrderedDict()
_lock = threading.Lock()


def _file_key(path: Path) -> tuple[Any, ...] | None:
    """What identifies the file's content: path, size, mtime and digest (None: missing or not to be kept)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    if not path.is_file() or path.suffix.lower() not in _SUFFIXES or stat.st_size > MAX_FILE_BYTES:
        return None
    if Path(f"{path}-wal").exists():  # a GeoPackage still being written: its pages are not all in the file yet
        return None
    digest = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    return (str(path), str(path.resolve()), stat.st_size, stat.st_mtime_ns, digest)


def _sidecar_key(path: Path) -> tuple[Any, ...] | None:
    side = sidecar_path(path)
    try:
        return (side.stat().st_mtime_ns, side.read_bytes())
    except OSError:
        return None


def _copied(value: Any) -> Any:
    """``value`` with every numpy array copied (dataclasses and dicts followed; other values shared)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        out = copy.copy(value)
        for f in fields(value):
            object.__setattr__(out, f.name, _copied(getattr(value, f.name)))
        return out
    return value


def recent_instance(paths: Sequence[str | Path], options: dict[str, Any], load: Callable[[], T]) -> T:
    """``load()``, or a copy of what it returned for the same files (unchanged) and ``options``.

    Parameters
    ----------
    paths : the files ``load`` reads (demand, candidates, travel table); the travel table's sidecar is watched
    options : the loader's other arguments (group, name, crs, column mapping); JSON-able
    load : reads the files (called on a miss; its errors propagate and nothing is kept)
    """
    files = [_file_key(Path(p)) for p in paths]
    size = sum(int(f[2]) for f in files if f is not None)
    if any(f is None for f in files) or size > MAX_FILE_BYTES:
        return load()
    key = (tuple(files), _sidecar_key(Path(paths[-1])), json.dumps(options, sort_keys=True, default=repr))
    with _lock:
        hit = _kept.get(key)
        if hit is not None:
            _kept.move_to_end(key)
    if hit is not None:
        return _copied(hit[0])
    value = load()
    with _lock:
        _kept[key] = (_copied(value), size)
        while len(_kept) > MAX_KEPT or sum(s for _, s in _kept.values()) > MAX_KEPT_BYTES:
            _kept.popitem(last=False)
    return value


def forget_instances() -> None:
    """Drop every kept instance (tests that count reads; a long-running process short of memory)."""
    with _lock:
        _kept.clear()
