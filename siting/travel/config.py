"""The scenario ``[network]`` section: where the streets are and how people walk.

.. code-block:: toml

    [network]
    path = "streets.gpkg"        # .gpkg/.geojson/.shp/.parquet line layer, .osm.pbf or .osm (relative to the TOML)
    layer = "streets"            # GeoPackage layer (optional)
    elevation = "dem_points.csv" # optional x,y,z samples interpolated at the nodes (networks without Z, e.g. OSM)
    tolerance_m = 0.5            # segment ends closer than this become one node
    cutoff_minutes = 15          # default: the model's (outer) threshold, else 30
    max_snap_m = 300             # points farther from every street are reported, get no times
    slope = true                 # slope response on node / vertex elevations (Tobler unless [network.slopes])
    engine = "auto"              # auto | numba | scipy
    [network.speeds]             # flat-ground walking speed per group, m/s; the first is the default table
    adult = 1.0
    elderly = 0.76
    # or [network.factors]: elderly = 0.76 (multiplies the first speed)
    [network.stairs.elderly]     # stairs: horizontal time at the flat speed + height at these vertical rates
    ascent_m_per_s = 0.22        # (defaults per group from published measurements: models/travel-times.md)
    descent_m_per_s = 0.21
    [network.slopes.elderly]     # the group's slope response (Tobler's shape): fastest grade, decay up / down
    optimum_grade = 0.0
    uphill_k = 3.5
    downhill_k = 3.5
    # legacy: stairs_factor = 0.5 (horizontal distance on stairs at half the flat speed, whatever they climb);
    # cannot be combined with [network.stairs]
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from siting.errors import InputError, ScenarioError
from siting.travel.speed import (
    DEFAULT_ADULT_SPEED_M_S,
    DEFAULT_STAIRS_FACTOR,
    SlopeResponse,
    SpeedProfile,
    StairRates,
)

if TYPE_CHECKING:  # the readers pull in geopandas; load them only when a graph is built
    from siting.travel.graph import WalkGraph

__all__ = ["NetworkConfig", "parse_network_section", "NETWORK_KEYS", "ENGINES"]

NETWORK_KEYS = ("path", "layer", "elevation", "tolerance_m", "cutoff_minutes", "max_snap_m", "slope",
                "stairs_factor", "engine", "speeds", "factors", "stairs", "slopes")
STAIR_KEYS = ("ascent_m_per_s", "descent_m_per_s")
SLOPE_KEYS = ("optimum_grade", "uphill_k", "downhill_k")
ENGINES = ("auto", "numba", "scipy")


@dataclass(frozen=True)
class NetworkConfig:
    """Validated ``[network]`` section.

    Examples
    --------
    >>> cfg = parse_network_section({"path": "/tmp/s.gpkg", "speeds": {"adult": 1.0, "elderly": 0.76}},
    ...                             check_files=False)
    >>> cfg.profile().groups, cfg.cutoff_minutes
    ({'adult': 1.0, 'elderly': 0.76}, None)
    """

    path: Path
    layer: str | None = None
    elevation: Path | None = None
    tolerance_m: float = 0.5
    cutoff_minutes: float | None = None
    max_snap_m: float = 300.0
    slope: bool = True
    stairs_factor: float = DEFAULT_STAIRS_FACTOR  # the legacy factor (used only when legacy_stairs)
    engine: str = "auto"
    speeds: dict[str, float] = field(default_factory=lambda: {"adult": DEFAULT_ADULT_SPEED_M_S})
    legacy_stairs: bool = False
    stairs: dict[str, StairRates] = field(default_factory=dict)
    slopes: dict[str, SlopeResponse] = field(default_factory=dict)

    def profile(self) -> SpeedProfile:
        """The :class:`~siting.travel.speed.SpeedProfile` of this section."""
        return SpeedProfile(groups=dict(self.speeds), use_slope=self.slope,
                            stairs_factor=self.stairs_factor if self.legacy_stairs else None,
                            stairs=dict(self.stairs), slopes=dict(self.slopes))

    def build_graph(self) -> WalkGraph:
        """Read the street network (see :func:`siting.travel.readers.load_network`)."""
        from siting.travel.readers import load_network

        graph = load_network(self.path, tolerance_m=self.tolerance_m, layer=self.layer)
        if self.elevation is not None:
            from siting.travel.elevation import read_elevation_points, with_node_elevation

            graph = with_node_elevation(graph, *read_elevation_points(self.elevation, graph))
        return graph


def _err(problem: str, file: str | os.PathLike[str] | None, key: str) -> ScenarioError:
    return ScenarioError(problem, file=None if file is None else str(file), key=f"network.{key}")


def _number(table: Mapping[str, Any], key: str, file: str | os.PathLike[str] | None, *, gt: float | None = None,
            ge: float | None = None, le: float | None = None, label: str | None = None) -> float | None:
    """``table[key]`` checked to be a finite number within the bounds; ``None`` when absent."""
    if key not in table:
        return None
    v = table[key]
    key = label or key
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _err(f"expected a number, got {v!r}", file, key)
    v = float(v)
    if v != v or v in (float("inf"), float("-inf")):
        raise _err(f"expected a finite number, got {v!r}", file, key)
    if gt is not None and not v > gt:
        raise _err(f"must be greater than {gt:g}, got {v:g}", file, key)
    if ge is not None and not v >= ge:
        raise _err(f"must be at least {ge:g}, got {v:g}", file, key)
    if le is not None and not v <= le:
        raise _err(f"must be at most {le:g}, got {v:g}", file, key)
    return v


def _number_or(default: float, table: Mapping[str, Any], key: str, file: str | os.PathLike[str] | None, *,
               gt: float | None = None, ge: float | None = None, le: float | None = None) -> float:
    """:func:`_number` with a default for an absent key."""
    value = _number(table, key, file, gt=gt, ge=ge, le=le)
    return default if value is None else value


def _speed_table(table: object, key: str, file: str | os.PathLike[str] | None) -> dict[str, float]:
    if not isinstance(table, dict) or not table:
        raise _err(f"expected a table of group = number, got {table!r}", file, key)
    out = {}
    for name, v in table.items():
        val = _number(table, name, file, gt=0, le=5, label=f"{key}.{name}")
        if val is None or isinstance(v, bool):
            raise _err(f"expected a positive number, got {v!r}", file, f"{key}.{name}")
        out[str(name)] = val
    return out


def _group_tables(table: object, key: str, allowed: tuple[str, ...], speeds: dict[str, float],
                  file: str | os.PathLike[str] | None, *, ge: float | None = None, gt: float | None = None,
                  ) -> dict[str, dict[str, float]]:
    """``[network.<key>.<group>]`` tables of numbers, each group one of ``speeds``."""
    if not isinstance(table, dict) or not table:
        raise _err(f"expected [network.{key}.<group>] tables, got {table!r}", file, key)
    out: dict[str, dict[str, float]] = {}
    for group, sub in table.items():
        if group not in speeds:
            raise _err(f"no group '{group}' in [network.speeds] ({', '.join(speeds)})", file, f"{key}.{group}")
        if not isinstance(sub, dict):
            raise _err(f"expected a table with {', '.join(allowed)}, got {sub!r}", file, f"{key}.{group}")
        for k in sub:
            if k not in allowed:
                close = difflib.get_close_matches(str(k), allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed: {', '.join(allowed)}"
                raise _err(f"unknown key{hint}", file, f"{key}.{group}.{k}")
        vals = {}
        for k in sub:
            grade = k == "optimum_grade"  # a signed grade; the rates and decays are magnitudes
            v = _number(sub, k, file, ge=-0.3 if grade else ge, gt=None if grade else gt, le=0.3 if grade else None,
                        label=f"{key}.{group}.{k}")
            vals[k] = float(v)  # type: ignore[arg-type]
        out[str(group)] = vals
    return out


def parse_network_section(table: Mapping[str, Any], *, file: str | os.PathLike[str] | None = None,
                          base_dir: Path | None = None, check_files: bool = True) -> NetworkConfig:
    """Validate a raw ``[network]`` table; errors name the file and the key.

    Parameters
    ----------
    table : dict
        The parsed TOML section.
    file : path, optional
        The scenario file (for messages).
    base_dir : Path, optional
        Folder relative paths start from (default: the scenario file's folder, else the cwd).
    check_files : bool
        Raise when the street file does not exist.

    Examples
    --------
    >>> parse_network_section({"path": "x.gpkg", "slpoe": True}, file="s.toml", check_files=False)
    Traceback (most recent call last):
    ...
    siting.errors.ScenarioError: s.toml: key 'network.slpoe': unknown key (did you mean 'slope'?)
    """
    if not isinstance(table, Mapping):
        raise ScenarioError(f"expected a table, got {table!r}", file=None if file is None else str(file),
                            key="network")
    for key in table:
        if key not in NETWORK_KEYS:
            close = difflib.get_close_matches(str(key), NETWORK_KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed: {', '.join(NETWORK_KEYS)}"
            raise _err(f"unknown key{hint}", file, str(key))
    if "path" not in table:
        raise _err("missing: the street network file (.gpkg, .geojson, .shp, .osm.pbf, .osm)", file, "path")
    raw_path = table["path"]
    if not isinstance(raw_path, str) or not raw_path.strip():
        raise _err(f"expected a file path, got {raw_path!r}", file, "path")
    if base_dir is None:
        base_dir = Path(file).resolve().parent if file is not None else Path.cwd()
    path = Path(os.path.expanduser(raw_path))
    if not path.is_absolute():
        path = (Path(base_dir) / path).resolve()
    if check_files and not path.exists():
        raise _err(f"file not found: {path}", file, "path")
    elevation = None
    if "elevation" in table:
        raw_el = table["elevation"]
        if not isinstance(raw_el, str) or not raw_el.strip():
            raise _err(f"expected a file path, got {raw_el!r}", file, "elevation")
        elevation = Path(os.path.expanduser(raw_el))
        if not elevation.is_absolute():
            elevation = (Path(base_dir) / elevation).resolve()
        if check_files and not elevation.exists():
            raise _err(f"file not found: {elevation}", file, "elevation")
    layer = table.get("layer")
    if layer is not None and not isinstance(layer, str):
        raise _err(f"expected a layer name, got {layer!r}", file, "layer")
    engine = table.get("engine", "auto")
    if engine not in ENGINES:
        raise _err(f"expected one of {', '.join(ENGINES)}, got {engine!r}", file, "engine")
    slope = table.get("slope", True)
    if not isinstance(slope, bool):
        raise _err(f"expected true or false, got {slope!r}", file, "slope")
    speeds = _speed_table(table["speeds"], "speeds", file) if "speeds" in table else \
        {"adult": DEFAULT_ADULT_SPEED_M_S}
    if "factors" in table:
        ref = next(iter(speeds.values()))
        for name, f in _speed_table(table["factors"], "factors", file).items():
            if name in speeds:
                raise _err(f"group '{name}' is given both a speed and a factor", file, f"factors.{name}")
            speeds[name] = ref * f
    if "stairs" in table and "stairs_factor" in table:
        raise _err("give either stairs_factor (the legacy model: a speed factor whatever the stairs climb) or "
                   "[network.stairs.<group>] rates, not both", file, "stairs_factor")
    stairs: dict[str, StairRates] = {}
    slopes: dict[str, SlopeResponse] = {}
    try:
        if "stairs" in table:
            base = SpeedProfile(groups=dict(speeds))
            for group, vals in _group_tables(table["stairs"], "stairs", STAIR_KEYS, speeds, file, gt=0).items():
                default = base.stair_rates(group)
                stairs[group] = StairRates(vals.get("ascent_m_per_s", default.ascent_m_per_s),
                                           vals.get("descent_m_per_s", default.descent_m_per_s),
                                           "scenario [network.stairs]")
        if "slopes" in table:
            base = SpeedProfile(groups=dict(speeds))
            for group, vals in _group_tables(table["slopes"], "slopes", SLOPE_KEYS, speeds, file, ge=0).items():
                default_slope = base.slope_response(group)
                slopes[group] = SlopeResponse(vals.get("uphill_k", default_slope.uphill_k),
                                              vals.get("downhill_k", default_slope.downhill_k),
                                              vals.get("optimum_grade", default_slope.optimum_grade))
    except InputError as exc:
        raise _err(str(exc), file, "stairs") from None
    return NetworkConfig(
        path=path, layer=layer, elevation=elevation,
        tolerance_m=_number_or(0.5, table, "tolerance_m", file, ge=0),
        cutoff_minutes=_number(table, "cutoff_minutes", file, gt=0),
        max_snap_m=_number_or(300.0, table, "max_snap_m", file, gt=0),
        slope=slope,
        stairs_factor=_number_or(DEFAULT_STAIRS_FACTOR, table, "stairs_factor", file, gt=0, le=2),
        engine=engine, speeds=speeds, legacy_stairs="stairs_factor" in table, stairs=stairs, slopes=slopes,
    )
