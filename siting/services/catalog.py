"""The service catalog: which services a life circle needs, with walking distances, target groups, costs and areas.

Each service states its walking distance from the standard (``radius_m``); the loader turns it into a time
threshold at the flat walking speed of the service's speed group (the catalog's ``[speeds]`` table), so slopes
and stairs still lengthen walks on the group's travel table while the group's slower pace counts once. An
explicit ``threshold_minutes`` wins. See ``models/service-catalog.md``.

Policy fields (floors, priority, operating cost, ``complex_core``) are checked here and read by the
multi-service model; :meth:`Catalog.priority_levels` orders the services for the lexicographic objective.

Also :func:`service_masks`: which services existing buildings provide and which a candidate may receive,
from the candidates table's ``services`` column.

Example
-------
>>> cat = load_catalog()
>>> s = cat["elderly_care"]
>>> s.radius_m, s.flat_speed_m_s, round(s.threshold_minutes, 2), s.threshold_source
(300.0, 0.76, 6.58, 'radius_m 300 m at 0.76 m/s (elderly)')
>>> load_catalog(overrides={"childcare": {"threshold_minutes": 8}})["childcare"].threshold_source
'explicit'
>>> round(load_catalog(overrides={"speeds": {"elderly": 0.8}})["canteen"].threshold_minutes, 2)
6.25
"""
from __future__ import annotations

import hashlib
import math
import numbers
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data.instance import Instance, SiteStatus
from ..errors import InputError, ScenarioError

__all__ = ["Service", "Catalog", "load_catalog", "catalog_file_key", "service_masks", "DEFAULT_CATALOG", "TIERS",
           "CATEGORIES", "DEFAULT_SPEED_GROUP", "POLICY_FIELDS"]

#: GB 50180-2018 life-circle tiers (labels; tiers do not nest). ``block`` is the 居住街坊 level.
TIERS = ("block", "5min", "10min", "15min")
#: Category key -> label, in report order: the eight categories of the life circle, then ``other``
#: (services a scenario adds without a category).
CATEGORIES: Mapping[str, str] = {
    "education": "education (教育)",
    "elderly": "elderly care (养老)",
    "health": "health (医疗卫生)",
    "childcare": "childcare (托育)",
    "commerce": "daily commerce (商业便民)",
    "culture": "culture (文化)",
    "sports": "sports (体育)",
    "community": "employment and community service (就业与社区服务)",
    "other": "other",
}
AREA_BASES = ("building", "land")
#: The ``[speeds]`` entry of services without a ``speed_group`` (they walk on the default travel table).
DEFAULT_SPEED_GROUP = "default"
DEFAULT_CATALOG = "default_catalog.toml"

_NUMBER = (int, float)
# field -> (python type(s), required for a new service); threshold_minutes / radius_m: one of them is required
_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "name": ((str,), False),
    "category": ((str,), False),
    "tier": ((str,), False),
    "radius_m": (_NUMBER, False),
    "threshold_minutes": (_NUMBER, False),
    "demand_column": ((str,), True),
    "weight": (_NUMBER, False),
    "fitout_cost": (_NUMBER, False),
    "min_floor_area_m2": (_NUMBER, False),
    "capacity": (_NUMBER, False),
    "speed_group": ((str,), False),
    "enabled": ((bool,), False),
    "area_norm_m2": ((list,), False),
    "area_basis": ((str,), False),
    "capacity_norm": ((str,), False),
    "source": ((str,), False),
    "assumed": ((list,), False),
    "min_share": (_NUMBER, False),
    "min_share_per_community": (_NUMBER, False),
    "min_providers_per_community": ((int,), False),
    "priority": ((int,), False),
    "operating_cost_per_year": (_NUMBER, False),
    "complex_core": ((bool,), False),
}
#: policy fields (policy.md), in :meth:`Service.policy_info` order
POLICY_FIELDS = ("min_share", "min_share_per_community", "min_providers_per_community", "priority",
                 "operating_cost_per_year", "complex_core")
#: policy fields a Python override may set to None (= not set)
_NULLABLE = ("min_share", "min_share_per_community", "priority")
#: policy fields that make a disabled service an error (the scenario asks for something that cannot happen)
_DUTIES = ("priority", "min_share", "min_share_per_community", "min_providers_per_community")
_TOP = ("catalog", "speeds", "services")


@dataclass(frozen=True)
class Service:
    """One service of the basket.

    key : catalog key, e.g. ``elderly_care``
    threshold_minutes : walking threshold for coverage (resolved: explicit, or ``radius_m`` at the flat speed)
    demand_column : demand column served (``population`` or a group such as ``elderly``)
    weight : objective weight of one covered person
    fitout_cost : cost of fitting the service into a converted building (per site)
    min_floor_area_m2 : floor area the service occupies in a building
    capacity : persons one site can serve, None = unlimited
    speed_group : travel-time group (e.g. ``elderly``), None = the default table
    tier : ``block`` / ``5min`` / ``10min`` / ``15min`` label (GB 50180-2018 life-circle tier)
    category : one of :data:`CATEGORIES` (reports group by it)
    radius_m : walking distance from the standard, None when only a time is given
    threshold_source : ``"explicit"`` or how the threshold was derived (``"radius_m 300 m at 0.76 m/s (elderly)"``)
    flat_speed_m_s : the speed group's flat walking speed from the catalog, None when it has none
    area_norm_m2 : (low, high) floor-area (or land, see ``area_basis``) norm per facility, None = no norm
    area_basis : ``building`` or ``land`` (grounds occupy land, not floor area)
    capacity_norm : the norm's capacity rule as text (not used by the solver; ``capacity`` is)
    source : where the radius and norms come from ([S] seen / [M] unverified, as in the domain notes)
    assumed : fields that have no source (assumptions)
    min_share : hard floor on the covered share of the target group after the plan, in [0, 1]; None = none
    min_share_per_community : the same floor in every community with target weight > 0; None = none
    min_providers_per_community : sites providing the service (existing + new) required in every community
    priority : lexicographic level (1 is maximised first); None = the last level
    operating_cost_per_year : running cost of one new placement per year (same currency as ``fitout_cost``)
    complex_core : counts towards the embedded complex's elderly / infant / child / meal services

    Raises
    ------
    ScenarioError
        naming ``services.<key>.<field>`` when a policy field is out of range or of the wrong type.
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
    category: str = "other"
    radius_m: float | None = None
    threshold_source: str = "explicit"
    flat_speed_m_s: float | None = None
    area_norm_m2: tuple[float, float] | None = None
    area_basis: str = "building"
    capacity_norm: str = ""
    source: str = ""
    assumed: tuple[str, ...] = ()
    min_share: float | None = None
    min_share_per_community: float | None = None
    min_providers_per_community: int = 0
    priority: int | None = None
    operating_cost_per_year: float = 0.0
    complex_core: bool = False

    def __post_init__(self) -> None:
        # Python-built services get the loader's checks too; numbers are stored as plain float / int
        for name in POLICY_FIELDS:
            value = getattr(self, name)
            problem = _policy_problem(name, value)
            if problem:
                raise ScenarioError(problem, key=f"services.{self.key}.{name}")
            if value is not None and not isinstance(value, bool):
                object.__setattr__(self, name, int(value) if isinstance(value, numbers.Integral) and name in
                                   ("priority", "min_providers_per_community") else float(value))

    def policy_info(self) -> dict[str, Any]:
        """The policy fields that are set (floors and priority only when not None), for results and reports.

        Examples
        --------
        >>> load_catalog()["canteen"].policy_info()  # doctest: +NORMALIZE_WHITESPACE
        {'min_providers_per_community': 0, 'operating_cost_per_year': 200000.0, 'complex_core': True}
        >>> load_catalog(overrides={"canteen": {"min_share": 0.5, "priority": 1}})["canteen"].policy_info()
        ... # doctest: +NORMALIZE_WHITESPACE
        {'min_share': 0.5, 'min_providers_per_community': 0, 'priority': 1, 'operating_cost_per_year': 200000.0,
         'complex_core': True}
        """
        return {name: value for name in POLICY_FIELDS if (value := getattr(self, name)) is not None}

    def threshold_info(self) -> dict[str, Any]:
        """How the threshold was set, for results and reports.

        Examples
        --------
        >>> load_catalog()["fresh_market"].threshold_info()  # doctest: +NORMALIZE_WHITESPACE
        {'category': 'commerce', 'tier': '10min', 'radius_m': 500.0, 'speed_group': 'default',
         'flat_speed_m_s': 1.0, 'threshold_minutes': 8.333333333333334,
         'threshold_source': 'radius_m 500 m at 1 m/s (default)'}
        """
        return {"category": self.category, "tier": self.tier, "radius_m": self.radius_m,
                "speed_group": self.speed_group or DEFAULT_SPEED_GROUP, "flat_speed_m_s": self.flat_speed_m_s,
                "threshold_minutes": self.threshold_minutes, "threshold_source": self.threshold_source}


@dataclass(frozen=True)
class Catalog:
    """An ordered, read-only set of services (only enabled ones are iterated) and the flat speeds per group."""

    services: tuple[Service, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)
    source: str = "<catalog>"
    speeds: Mapping[str, float] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Service]:
        return (s for s in self.services if s.enabled)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __getitem__(self, key: str) -> Service:
        for s in self.services:
            if s.key == key:
                return s
        raise ScenarioError(f"unknown service; catalog has {', '.join(s.key for s in self.services)}",
                            file=self.source, key=key)

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

    def by_category(self) -> dict[str, tuple[str, ...]]:
        """Enabled service keys per category, categories in :data:`CATEGORIES` order (empty ones left out).

        Examples
        --------
        >>> load_catalog().by_category()["elderly"]
        ('elderly_care', 'canteen')
        """
        return {c: keys for c in CATEGORIES if (keys := tuple(s.key for s in self if s.category == c))}

    def priority_levels(self) -> list[tuple[str, ...]]:
        """Enabled service keys per priority level, level 1 first, services without a priority last.

        Equal priorities share a level; gaps (1, 3) are skipped. One level when no service has a priority,
        none when no service is enabled. Keys keep catalog order within a level.

        Examples
        --------
        >>> load_catalog().priority_levels()  # doctest: +NORMALIZE_WHITESPACE
        [('elderly_care', 'canteen', 'health_station', 'childcare', 'fresh_market', 'culture_sports',
          'service_centre')]
        >>> cat = load_catalog(overrides={"childcare": {"priority": 1}, "elderly_care": {"priority": 1},
        ...                               "canteen": {"priority": 3}})
        >>> cat.priority_levels()  # doctest: +NORMALIZE_WHITESPACE
        [('elderly_care', 'childcare'), ('canteen',), ('health_station', 'fresh_market', 'culture_sports',
          'service_centre')]
        """
        enabled = list(self)
        ranks = sorted({s.priority for s in enabled if s.priority is not None})
        levels = [tuple(s.key for s in enabled if s.priority == rank) for rank in ranks]
        rest = tuple(s.key for s in enabled if s.priority is None)
        return levels + [rest] if rest else levels

    def check_policy(self, file: str | None = None) -> None:
        """Raise when a disabled service carries a priority or a floor (it would be dropped without a word).

        :func:`load_catalog` runs the same check on its final catalog (naming the layer at fault); call this
        on a catalog built in Python. :meth:`select` does not check (it disables on purpose).

        Raises
        ------
        ScenarioError
            ``key 'services.<key>.<field>': <field> = ... on a disabled service; ...``.

        Examples
        --------
        >>> load_catalog(overrides={"kindergarten": {"priority": 1}})
        Traceback (most recent call last):
        ...
        siting.errors.ScenarioError: overrides: key 'services.kindergarten.priority': priority = 1 is set on disabled service 'kindergarten'; enable it (enabled = true) or remove priority
        """
        duties = _disabled_duties(self)
        if duties:
            raise _disabled_error(*duties[0], file)


# ------------------------------------------------------------------------------------------ policy checks
def _policy_problem(name: str, value: Any) -> str | None:
    """What is wrong with the value of policy field ``name`` (None when it is valid)."""
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    is_integer = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if value is None and name in _NULLABLE:
        return None
    if name in ("min_share", "min_share_per_community"):
        if not (is_number and 0.0 <= value <= 1.0):      # NaN fails the comparison
            return f"must be a share in [0, 1] (omit it for no floor), got {value!r}"
    elif name == "priority":
        if not (is_integer and value >= 1):
            return f"must be an integer >= 1 (level 1 is maximised first), got {value!r}"
    elif name == "min_providers_per_community":
        if not (is_integer and value >= 0):
            return f"must be an integer >= 0, got {value!r}"
    elif name == "operating_cost_per_year":
        if not (is_number and math.isfinite(value) and value >= 0):
            return f"must be a finite cost >= 0 per year, got {value!r}"
    elif name == "complex_core" and not isinstance(value, bool):
        return f"must be true or false, got {value!r}"
    return None


def _disabled_duties(catalog: Catalog) -> list[tuple[str, str, Any]]:
    """``(key, field, value)`` of every priority or floor set on a disabled service (0 floors do nothing)."""
    return [(s.key, name, value) for s in catalog.services if not s.enabled
            for name in _DUTIES if (value := getattr(s, name)) not in (None, 0)]


def _disabled_error(key: str, name: str, value: Any, file: str | None) -> ScenarioError:
    return ScenarioError(f"{name} = {value!r} is set on disabled service {key!r}; enable it (enabled = true) or "
                         f"remove {name}", file=file, key=f"services.{key}.{name}")


# ------------------------------------------------------------------------------------------ parsing
def _check_fields(where: str, raw: Any, source: str) -> dict[str, Any]:
    """The fields of one ``[services.<key>]`` table, type-checked, numbers as finite floats >= 0."""
    if not isinstance(raw, Mapping):
        raise ScenarioError("must be a table of fields", file=source, key=where)
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in _FIELDS:
            raise ScenarioError(f"unknown field; allowed: {', '.join(_FIELDS)}", file=source, key=f"{where}.{name}")
        if value is None and name in _NULLABLE:   # Python overrides: unset a floor or a priority
            values[name] = None
            continue
        types, _ = _FIELDS[name]
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            want = " or ".join("array" if t is list else t.__name__ for t in types)
            raise ScenarioError(f"must be {want}, got {type(value).__name__} {value!r}", file=source,
                                key=f"{where}.{name}")
        if types == _NUMBER:
            value = _number(value, source, f"{where}.{name}")
        if name in POLICY_FIELDS and (problem := _policy_problem(name, value)):
            raise ScenarioError(problem, file=source, key=f"{where}.{name}")
        values[name] = value
    if "area_norm_m2" in values:
        norm = values["area_norm_m2"]
        if len(norm) != 2 or any(isinstance(v, bool) or not isinstance(v, _NUMBER) for v in norm):
            raise ScenarioError(f"must be [low, high] in m2, got {norm!r}", file=source, key=f"{where}.area_norm_m2")
        low, high = (_number(v, source, f"{where}.area_norm_m2") for v in norm)
        if low > high:
            raise ScenarioError(f"low {low:g} is above high {high:g}", file=source, key=f"{where}.area_norm_m2")
        values["area_norm_m2"] = (low, high)
    if "assumed" in values:
        bad = [v for v in values["assumed"] if v not in _FIELDS]
        if bad:
            raise ScenarioError(f"names no field: {', '.join(map(repr, bad))}; fields: {', '.join(_FIELDS)}",
                                file=source, key=f"{where}.assumed")
        values["assumed"] = tuple(values["assumed"])
    return values


def _number(value: Any, source: str, key: str) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ScenarioError(f"must be a finite number >= 0, got {value!r}", file=source, key=key)
    return value


def _check_choices(service: Service, where: str, source: str) -> None:
    for name, allowed in (("tier", TIERS), ("category", tuple(CATEGORIES)), ("area_basis", AREA_BASES)):
        value = getattr(service, name)
        if value not in allowed and (value or name != "tier"):
            raise ScenarioError(f"must be one of {', '.join(allowed)}, got {value!r}", file=source,
                                key=f"{where}.{name}")
    if service.capacity is not None and service.capacity <= 0:
        raise ScenarioError("must be > 0 (omit it for unlimited)", file=source, key=f"{where}.capacity")
    if service.radius_m is not None and service.radius_m <= 0:
        raise ScenarioError("must be > 0", file=source, key=f"{where}.radius_m")


def _resolve(service: Service, explicit: bool, speeds: Mapping[str, float], source: str) -> Service:
    """``service`` with its threshold: explicit, or ``radius_m`` at its speed group's flat speed."""
    where = f"services.{service.key}"
    group = service.speed_group or DEFAULT_SPEED_GROUP
    speed = speeds.get(group)
    if explicit:
        if not service.threshold_minutes > 0:
            raise ScenarioError("must be > 0", file=source, key=f"{where}.threshold_minutes")
        return replace(service, threshold_source="explicit", flat_speed_m_s=speed)
    if service.radius_m is None:
        raise ScenarioError("needs radius_m (the standard's walking distance) or threshold_minutes", file=source,
                            key=where)
    if speed is None:
        raise ScenarioError(f"speed group {group!r} has no flat speed to turn radius_m into minutes; [speeds] has "
                            f"{', '.join(speeds) or 'nothing'}", file=source,
                            key=f"{where}.speed_group" if service.speed_group else where)
    return replace(service, threshold_minutes=service.radius_m / speed / 60.0, flat_speed_m_s=speed,
                   threshold_source=f"radius_m {service.radius_m:g} m at {speed:g} m/s ({group})")


def _check_speeds(raw: Any, source: str) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise ScenarioError("must be a table {group = m/s}", file=source, key="speeds")
    out = {}
    for group, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, _NUMBER) or not math.isfinite(value) or value <= 0:
            raise ScenarioError(f"must be a walking speed > 0 in m/s, got {value!r}", file=source,
                                key=f"speeds.{group}")
        out[str(group)] = float(value)
    return out


def _parse(data: Mapping[str, Any], source: str, base: Catalog | None) -> Catalog:
    """One layer (a catalog file, or overrides on ``base``), every threshold resolved against the speeds."""
    for top in data:
        if top not in _TOP:
            raise ScenarioError(f"unknown section; allowed: {', '.join(_TOP)}", file=source, key=str(top))
    raw_services = data.get("services", {})
    if not isinstance(raw_services, Mapping):
        raise ScenarioError("must be a table of services", file=source, key="services")
    layer_speeds = _check_speeds(data["speeds"], source) if "speeds" in data else {}
    speeds = {**(base.speeds if base else {}), **layer_speeds}
    services = {s.key: s for s in base.services} if base is not None else {}
    explicit = {k: s.threshold_source == "explicit" for k, s in services.items()}
    for key, raw in raw_services.items():
        key, where = str(key), f"services.{key}"
        if key in _TOP:
            raise ScenarioError(f"{key!r} is a reserved name, not a service key", file=source, key=where)
        values = _check_fields(where, raw, source)
        if key in services:
            services[key] = replace(services[key], **values)
            # the last layer that states a distance or a time decides; within a layer the time wins
            if "threshold_minutes" in values or "radius_m" in values:
                explicit[key] = "threshold_minutes" in values
        else:
            missing = [n for n, (_, req) in _FIELDS.items() if req and n not in values]
            if missing:
                raise ScenarioError(f"missing field(s) {', '.join(missing)}", file=source, key=where)
            explicit[key] = "threshold_minutes" in values
            services[key] = Service(key=key, threshold_minutes=values.pop("threshold_minutes", math.nan), **values)
        _check_choices(services[key], where, source)
    if not services:
        raise ScenarioError("the catalog defines no service", file=source, key="services")
    resolved = tuple(_resolve(s, explicit[k], speeds, source) for k, s in services.items())
    meta = {**(base.meta if base else {}), **dict(data.get("catalog", {}))}
    return Catalog(resolved, meta, source if base is None else base.source, speeds)


@cache
def _shipped_text() -> str:
    return resources.files(__package__).joinpath(DEFAULT_CATALOG).read_text(encoding="utf-8")


@cache
def _shipped_speeds() -> tuple[tuple[str, Any], ...]:
    """The shipped ``[speeds]`` table, parsed once (a catalog file without its own takes it)."""
    return tuple(_toml(_shipped_text(), DEFAULT_CATALOG)["speeds"].items())


def load_catalog(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None, *,
                 speeds: Mapping[str, float] | None = None) -> Catalog:
    """Read a catalog TOML (the shipped default when ``path`` is None) and apply scenario overrides.

    Parameters
    ----------
    path : str or Path, optional
        A TOML file with ``[services.<key>]`` tables, an optional ``[speeds]`` table (flat walking speed per
        speed group, m/s; without it the shipped one) and an optional ``[catalog]`` table.
    overrides : mapping, optional
        Either ``{"services": {...}, "speeds": {...}}`` or directly ``{"<key>": {field: value}, "speeds":
        {...}}`` (a scenario's ``[services]`` section). A known key changes only the given fields; an unknown
        key adds a service (then ``demand_column`` and ``radius_m`` or ``threshold_minutes`` are required);
        ``{"<key>": {"enabled": false}}`` drops one. Thresholds derived from ``radius_m`` follow changed speeds,
        speed groups and radii; a ``threshold_minutes`` given in a later layer replaces a derived one, and a
        ``radius_m`` given alone in a later layer replaces an explicit one.
    speeds : mapping, optional
        Flat speeds ``{group: m/s}`` applied after the file and before ``overrides``, e.g. the speeds the
        travel tables were computed with (the default table's speed under ``"default"``).

    Raises
    ------
    ScenarioError
        naming the file and the key (``services.<key>.<field>``, ``speeds.<group>``) for unknown keys, wrong
        types or values (floors outside [0, 1], a priority below 1, a negative operating cost), a service with
        neither ``radius_m`` nor ``threshold_minutes``, an unknown category or tier, a speed group without a flat
        speed, or a priority or floor on a service that ends up disabled (named in the layer that last touched
        the service: ``overrides`` or the file).
    """
    if path is None:
        text, source = _shipped_text(), f"siting/services/{DEFAULT_CATALOG}"
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"cannot read catalog ({exc.strerror})", file=source) from None
    data = _toml(text, source)
    if "speeds" not in data:
        data = {**data, "speeds": dict(_shipped_speeds())}
    catalog = _parse(data, source, None)
    if speeds:
        catalog = _parse({"speeds": dict(speeds)}, "speeds", catalog)
    if overrides:
        over = dict(overrides)
        if not ("services" in over or "catalog" in over):
            over = {"services": {k: v for k, v in over.items() if k != "speeds"},
                    **({"speeds": over["speeds"]} if "speeds" in over else {})}
        catalog = _parse(over, "overrides", catalog)
    touched = set((overrides or {}).get("services", overrides or {}))
    duties = _disabled_duties(catalog)
    if duties:
        key = duties[0][0]
        raise _disabled_error(*duties[0], "overrides" if key in touched else source)
    return catalog


def catalog_file_key(scenario: object = None) -> tuple[str | None, str | None]:
    """``(path, BLAKE2 digest of its content)`` of the catalog file a scenario names, ``(None, None)`` for the shipped one.

    A key for caches of what is read from a scenario's catalog (report currency, Chinese service names): a
    file changed in any way gets another key. ``scenario``: anything with a ``model`` mapping (its ``services``).
    """
    model = getattr(scenario, "model", None)
    given = model.get("services") if model is not None else None
    if not (isinstance(given, (str, Path)) and Path(given).is_file()):
        return None, None
    return str(given), hashlib.blake2b(Path(given).read_bytes(), digest_size=16).hexdigest()


def _toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"invalid TOML: {exc}", file=source) from None


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
