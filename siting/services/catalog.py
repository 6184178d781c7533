"""The service catalog: which services a life circle needs, with thresholds, target groups, costs and areas.

Also :func:`service_masks`: which services existing buildings provide and which a candidate may receive,
from the candidates table's ``services`` column.

Example
-------
>>> cat = load_catalog()
>>> cat["elderly_care"].threshold_minutes, cat["elderly_care"].demand_column
(5.0, 'elderly')
>>> load_catalog(overrides={"childcare": {"threshold_minutes": 8}})["childcare"].threshold_minutes
8.0
"""
from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.instance import Instance, SiteStatus
from ..errors import InputError, ScenarioError

__all__ = ["Service", "Catalog", "load_catalog", "service_masks", "DEFAULT_CATALOG", "TIERS"]

TIERS = ("5min", "10min", "15min")
DEFAULT_CATALOG = "default_catalog.toml"

# field -> (python type(s), required)
_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "name": ((str,), False),
    "tier": ((str,), False),
    "threshold_minutes": ((int, float), True),
    "demand_column": ((str,), True),
    "weight": ((int, float), False),
    "fitout_cost": ((int, float), False),
    "min_floor_area_m2": ((int, float), False),
    "capacity": ((int, float), False),
    "speed_group": ((str,), False),
    "enabled": ((bool,), False),
}
_TOP = ("catalog", "services")


@dataclass(frozen=True)
class Service:
    """One service of the basket.

    key : catalog key, e.g. ``elderly_care``
    threshold_minutes : walking threshold for coverage
    demand_column : demand column served (``population`` or a group such as ``elderly``)
    weight : objective weight of one covered person
    fitout_cost : cost of fitting the service into a converted building (per site)
    min_floor_area_m2 : floor area the service occupies in a building
    capacity : persons one site can serve, None = unlimited
    speed_group : travel-time group (e.g. ``elderly``), None = the default table
    tier : ``5min`` / ``10min`` / ``15min`` label (GB 50180-2018 life-circle tier)
    """

    key: str
    threshold_minutes: float
    demand_column: str
    name: str = ""
    tier: str = ""
    weight: float = 1.0
    fitout_cost: float = 0.0
    min_floor_area_m2: float = 0.0
    capacity: float | None = None
    speed_group: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Catalog:
    """An ordered, read-only set of services (only enabled ones are iterated)."""

    services: tuple[Service, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<catalog>"

    def __iter__(self) -> Iterator[Service]:
        return (s for s in self.services if s.enabled)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __getitem__(self, key: str) -> Service:
        for s in self.services:
            if s.key == key:
                return s
        raise ScenarioError(f"unknown service; catalog has {', '.join(self.keys)}", file=self.source, key=key)

    @property
    def keys(self) -> tuple[str, ...]:
        """Keys of the enabled services, in catalog order."""
        return tuple(s.key for s in self)

    def select(self, keys: Iterable[str]) -> Catalog:
        """A catalog with only ``keys`` enabled (in catalog order)."""
        wanted = set(keys)
        for k in wanted:
            self[k]
        return replace(self, services=tuple(replace(s, enabled=s.key in wanted) for s in self.services))


def _check_service(key: str, raw: Any, source: str, base: Service | None) -> Service:
    where = f"services.{key}"
    if not isinstance(raw, Mapping):
        raise ScenarioError("must be a table of fields", file=source, key=where)
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in _FIELDS:
            raise ScenarioError(f"unknown field; allowed: {', '.join(_FIELDS)}", file=source, key=f"{where}.{name}")
        types, _ = _FIELDS[name]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            want = " or ".join(t.__name__ for t in types)
            raise ScenarioError(f"must be {want}, got {type(value).__name__} {value!r}", file=source,
                                key=f"{where}.{name}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
            if not math.isfinite(value) or value < 0:
                raise ScenarioError(f"must be a finite number >= 0, got {value!r}", file=source, key=f"{where}.{name}")
        values[name] = value
    if base is None:
        missing = [n for n, (_, req) in _FIELDS.items() if req and n not in values]
        if missing:
            raise ScenarioError(f"missing field(s) {', '.join(missing)}", file=source, key=where)
        service = Service(key=key, **values)
    else:
        service = replace(base, **values)
    if service.threshold_minutes <= 0:
        raise ScenarioError("must be > 0", file=source, key=f"{where}.threshold_minutes")
    if service.tier and service.tier not in TIERS:
        raise ScenarioError(f"must be one of {', '.join(TIERS)}", file=source, key=f"{where}.tier")
    if service.capacity is not None and service.capacity <= 0:
        raise ScenarioError("must be > 0 (omit it for unlimited)", file=source, key=f"{where}.capacity")
    return service


def _parse(data: Mapping[str, Any], source: str, base: Catalog | None) -> Catalog:
    for top in data:
        if top not in _TOP:
            raise ScenarioError(f"unknown section; allowed: {', '.join(_TOP)}", file=source, key=str(top))
    raw_services = data.get("services", {})
    if not isinstance(raw_services, Mapping):
        raise ScenarioError("must be a table of services", file=source, key="services")
    services = {s.key: s for s in base.services} if base is not None else {}
    for key, raw in raw_services.items():
        services[key] = _check_service(str(key), raw, source, services.get(key))
    if not services:
        raise ScenarioError("the catalog defines no service", file=source, key="services")
    meta = {**(base.meta if base else {}), **dict(data.get("catalog", {}))}
    return Catalog(tuple(services.values()), meta, source if base is None else base.source)


def load_catalog(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> Catalog:
    """Read a catalog TOML (the shipped default when ``path`` is None) and apply scenario overrides.

    Parameters
    ----------
    path : str or Path, optional
        A TOML file with ``[services.<key>]`` tables (and an optional ``[catalog]`` table).
    overrides : mapping, optional
        Either ``{"services": {...}}`` or directly ``{"<key>": {field: value}}``. A known key changes only the
        given fields; an unknown key adds a service (then ``threshold_minutes`` and ``demand_column`` are
        required); ``{"<key>": {"enabled": false}}`` drops one.

    Raises
    ------
    ScenarioError
        naming the file and the key (``services.<key>.<field>``) for unknown keys, wrong types or values.
    """
    if path is None:
        text = resources.files(__package__).joinpath(DEFAULT_CATALOG).read_text(encoding="utf-8")
        source = f"siting/services/{DEFAULT_CATALOG}"
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"cannot read catalog ({exc.strerror})", file=source) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"invalid TOML: {exc}", file=source) from None
    catalog = _parse(data, source, None)
    if overrides:
        over = overrides if "services" in overrides or "catalog" in overrides else {"services": overrides}
        catalog = _parse(over, "overrides", catalog)
    return catalog


def service_masks(frame: pd.DataFrame, instance: Instance, catalog: Catalog, *, id_column: str = "id",
                  column: str = "services", file: str | None = None,
                  row_number: Callable[[int], int] | None = None,
                  ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(existing_services, allowed_services)`` from a candidates table's ``services`` column (``a;b``).

    Rows with status ``existing`` list what they already provide; on other rows a non-empty value restricts
    which services may be placed there. Unknown keys raise :class:`InputError` naming the row
    (``row_number(k)`` maps a 0-based frame position to the number shown; default ``k + 1``).
    Without the column both mappings are empty (nothing exists, everything is allowed).

    Examples
    --------
    >>> from siting.testing import random_instance
    >>> inst = random_instance(3, 2, seed=0)
    >>> frame = pd.DataFrame({"id": ["s0", "s1"], "services": ["canteen", ""]})
    >>> existing, allowed = service_masks(frame, inst, load_catalog().select(["canteen", "childcare"]))
    >>> allowed["childcare"].tolist(), existing["canteen"].tolist()
    ([False, True], [False, False])
    """
    row_number = row_number or (lambda k: k + 1)
    n = instance.n_sites
    if column not in frame.columns:
        return {}, {}
    pos = pd.Series(np.arange(n), index=instance.sites.ids.astype(str))
    ids = frame[id_column].astype(str)
    where = pos.reindex(ids.to_numpy()).to_numpy()
    if np.isnan(where).any():
        bad = int(np.flatnonzero(np.isnan(where))[0])
        raise InputError("id not among the instance's sites", file=file, row=row_number(bad), row_id=ids.iloc[bad],
                         column=id_column)
    where = where.astype(np.int64)
    lists = frame[column].fillna("").astype(str).str.split(";").map(lambda xs: {x.strip() for x in xs if x.strip()})
    known = {s.key for s in catalog.services}
    unknown = lists.map(lambda xs: sorted(xs - known))
    bad_rows = np.flatnonzero(unknown.map(len).to_numpy() > 0)
    if bad_rows.size:
        r = int(bad_rows[0])
        raise InputError(f"unknown service(s) {', '.join(unknown.iloc[r])}; catalog has {', '.join(sorted(known))}",
                         file=file, row=row_number(r), row_id=ids.iloc[r], column=column)
    status = np.asarray(instance.sites.status).astype(str)[where]
    is_existing = status == SiteStatus.EXISTING.value
    restricted = lists.map(len).to_numpy() > 0
    existing, allowed = {}, {}
    for s in catalog:   # loop over services, not over sites
        has = lists.map(lambda xs, k=s.key: k in xs).to_numpy()
        provides = np.zeros(n, bool)
        provides[where[is_existing & has]] = True
        may = np.ones(n, bool)
        may[where[~is_existing & restricted & ~has]] = False
        existing[s.key], allowed[s.key] = provides, may
    return existing, allowed
