"""``siting prepare poi``: a POI export (Amap / Baidu / any) -> existing facilities with a ``services`` column.

Reads a CSV with a name, optionally a type code (Amap ``typecode``) and a type text (Amap ``type``, Baidu
``tag``), and the position (``lon``/``lng``/``longitude`` + ``lat``/``latitude``, or Amap's ``location`` =
``"lon,lat"``) in WGS-84, GCJ-02 or BD-09 (:mod:`siting.prepare.coords`); classifies each POI into catalog
services with the editable table ``poi_classes.toml``; writes

- ``existing.gpkg`` (layer ``existing``, metric CRS): ``id``, ``name``, ``status = existing``, ``cost = 0``,
  ``services`` (``"a;b"``, the column the multi-service model reads), ``typecode``, ``lon``, ``lat`` (WGS-84);
- ``existing.csv``: the same rows with ``x``, ``y`` (for spreadsheets);
- ``unclassified.csv``: POIs no class matched (to extend the table), when there are any;
- with ``candidates=``: ``candidates_with_existing.gpkg``, the candidates layer plus these rows, ready for
  a scenario's ``[data] candidates``.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..data._read import read_csv_text
from ..errors import InputError, ScenarioError
from ..io import atomic_path, atomic_write_csv
from .coords import COORDINATE_SYSTEMS, to_wgs84

__all__ = ["PoiClasses", "load_classes", "classify", "read_pois", "prepare_poi", "PreparedPOI", "DEFAULT_CLASSES"]

DEFAULT_CLASSES = "poi_classes.toml"
_NAME = ("name", "名称")
_CODE = ("typecode", "type_code", "code", "类型编码")
_TYPE = ("type", "tag", "category", "类型")
_LON = ("lon", "lng", "longitude", "经度")
_LAT = ("lat", "latitude", "纬度")


@dataclass(frozen=True)
class PoiClasses:
    """Keywords and type-code prefixes per service key (from ``poi_classes.toml``)."""

    keywords: dict[str, tuple[str, ...]]
    codes: dict[str, tuple[str, ...]]
    source: str

    @property
    def services(self) -> tuple[str, ...]:
        """Every service key with at least one rule."""
        return tuple(k for k in self.keywords if self.keywords[k] or self.codes.get(k))


def load_classes(path: str | os.PathLike[str] | None = None) -> PoiClasses:
    """The class table: ``path`` or the shipped ``poi_classes.toml``.

    Examples
    --------
    >>> "elderly_care" in load_classes().services
    True
    """
    if path is None:
        text = resources.files("siting.prepare").joinpath(DEFAULT_CLASSES).read_text(encoding="utf-8")
        source = DEFAULT_CLASSES
    else:
        if not Path(path).exists():
            raise InputError("POI class table not found", file=str(path))
        text, source = Path(path).read_text(encoding="utf-8"), str(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"invalid TOML: {exc}", file=source) from None
    table = raw.get("services")
    if not isinstance(table, dict) or not table:
        raise ScenarioError("expected [services.<key>] tables with keywords and codes", file=source, key="services")
    keywords: dict[str, tuple[str, ...]] = {}
    codes: dict[str, tuple[str, ...]] = {}
    for key, entry in table.items():
        unknown = set(entry) - {"keywords", "codes"}
        if unknown:
            raise ScenarioError(f"unknown key(s) {', '.join(sorted(unknown))}; allowed: keywords, codes",
                                file=source, key=f"services.{key}")
        for name, store in (("keywords", keywords), ("codes", codes)):
            values = entry.get(name, [])
            if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
                raise ScenarioError("expected a list of non-empty texts", file=source, key=f"services.{key}.{name}")
            store[key] = tuple(v.strip() for v in values)
    return PoiClasses(keywords=keywords, codes=codes, source=source)


def classify(names: pd.Series, codes: pd.Series, classes: PoiClasses) -> pd.Series:
    """Each POI's services as ``"a;b"`` text (empty when nothing matched).

    Keywords (searched in ``names``, which may hold name + type text) win; a keyword inside a longer keyword
    the same POI matched is ignored. POIs without a keyword match take the services of their longest matching
    type-code prefix (``codes`` may list several codes separated by ``|``).

    Examples
    --------
    >>> c = PoiClasses({"parcel": ("驿站",), "jobs": ("零工驿站",)}, {"parcel": (), "jobs": ("0708",)}, "t")
    >>> classify(pd.Series(["菜鸟驿站", "零工驿站", "人才中心"]), pd.Series(["", "", "070800"]), c).tolist()
    ['parcel', 'jobs', 'jobs']
    """
    text = names.fillna("").astype(str).str.lower()
    n = len(text)
    services = sorted(set(classes.keywords) | set(classes.codes))
    pairs = [(kw.lower(), svc) for svc, kws in classes.keywords.items() for kw in kws]
    hits = {kw: text.str.contains(kw, regex=False).to_numpy() for kw in {kw for kw, _ in pairs}}
    # a keyword is shadowed on a POI where a longer keyword containing it also matched
    shadowed = {kw: np.zeros(n, bool) for kw in hits}
    for kw in hits:  # loops over the table's keywords, never over POIs
        for longer in hits:
            if longer != kw and kw in longer:
                shadowed[kw] |= hits[longer]
    by_keyword = {svc: np.zeros(n, bool) for svc in services}
    for kw, svc in pairs:
        by_keyword[svc] |= hits[kw] & ~shadowed[kw]
    matched = np.logical_or.reduce([*by_keyword.values(), np.zeros(n, bool)])
    # type codes: one row per (POI, code); per code the longest matching prefix wins
    code_rows = codes.fillna("").astype(str).reset_index(drop=True).str.split("|").explode().str.strip()
    poi_of_code = code_rows.index.to_numpy()
    code_values = code_rows.fillna("").to_numpy(dtype=str)
    best = np.zeros(code_values.size, dtype=np.int64)
    prefixes = sorted({p for ps in classes.codes.values() for p in ps}, key=len)
    for prefix in prefixes:
        best = np.where(np.char.startswith(code_values, prefix), len(prefix), best)
    by_code = {svc: np.zeros(n, bool) for svc in services}
    for svc, ps in classes.codes.items():
        for prefix in ps:
            rows = np.char.startswith(code_values, prefix) & (best == len(prefix))
            by_code[svc][poi_of_code[rows]] = True
    chosen = pd.DataFrame({svc: np.where(matched, by_keyword[svc], by_code[svc]) for svc in services})
    labels = chosen.to_numpy() * np.array([svc + ";" for svc in services], dtype=object)
    joined = labels.sum(axis=1) if services else np.full(n, "", dtype=object)
    return pd.Series(joined, index=names.index, dtype=object).astype(str).str.rstrip(";")


def _pick(columns: list[str], choices: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[c] for c in choices if c in lower), None)


def read_pois(path: str | os.PathLike[str], coords: str) -> pd.DataFrame:
    """The POI table with ``name``, ``typecode``, ``type_text``, ``lon``, ``lat`` (WGS-84) and ``row`` (CSV line).

    Raises
    ------
    InputError
        Missing file or columns, unparsable or out-of-range coordinates (first bad row named).
    """
    path = Path(path)
    if coords not in COORDINATE_SYSTEMS:
        raise ScenarioError(f"expected one of {', '.join(COORDINATE_SYSTEMS)}, got {coords!r}", key="--coords")
    if not path.exists():
        raise InputError("POI file not found", file=str(path))
    # every column as text, UTF-8 then GB18030, one-line errors: the loaders' own CSV reader
    frame = read_csv_text(path, str(path))
    frame.columns = [str(c).strip() for c in frame.columns]
    cols = list(frame.columns)
    name_col = _pick(cols, _NAME)
    if name_col is None:
        raise InputError(f"missing name column; columns found: {', '.join(cols)}", file=str(path), column="name")
    lon_col, lat_col = _pick(cols, _LON), _pick(cols, _LAT)
    if lon_col and lat_col:
        lon_text, lat_text, lon_name, lat_name = frame[lon_col], frame[lat_col], lon_col, lat_col
    elif "location" in cols:
        split = frame["location"].str.split(",", n=1, expand=True).reindex(columns=[0, 1])
        lon_text, lat_text, lon_name, lat_name = split[0], split[1], "location", "location"
    else:
        raise InputError(f"needs lon and lat columns (or an Amap 'location' = 'lon,lat'); columns found: "
                         f"{', '.join(cols)}", file=str(path), column="lon")
    lon = pd.to_numeric(lon_text.str.strip(), errors="coerce").to_numpy(float)
    lat = pd.to_numeric(lat_text.str.strip(), errors="coerce").to_numpy(float)
    bad = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        which = lon_name if not (np.isfinite(lon[r]) and abs(lon[r]) <= 180) else lat_name
        raise InputError(f"expected a longitude/latitude in degrees, got {frame[which].iloc[r]!r}", file=str(path),
                         row=r + 2, row_id=frame[name_col].iloc[r], column=which)
    wlon, wlat = to_wgs84(lon, lat, coords)
    code_col, type_col = _pick(cols, _CODE), _pick(cols, _TYPE)
    id_col = _pick(cols, ("id", "poi_id", "uid"))
    out = pd.DataFrame({
        "id": frame[id_col].astype(str).str.strip() if id_col else [f"poi{k + 1}" for k in range(len(frame))],
        "name": frame[name_col].astype(str).str.strip(),
        "typecode": frame[code_col].astype(str).str.strip() if code_col else "",
        "type_text": frame[type_col].astype(str) if type_col else "",
        "lon": wlon, "lat": wlat, "row": np.arange(len(frame)) + 2})
    empty_id = out["id"].eq("")
    dup = out["id"].duplicated()
    if (empty_id | dup).any():
        r = int(np.flatnonzero((empty_id | dup).to_numpy())[0])
        raise InputError("empty id" if empty_id.iloc[r] else f"repeated id {out['id'].iloc[r]!r}", file=str(path),
                         row=r + 2, column=id_col)
    return out


@dataclass(frozen=True)
class PreparedPOI:
    """Paths written by :func:`prepare_poi` and the count of POIs per service (``counts``)."""

    paths: dict[str, Path]
    counts: dict[str, int] = field(default_factory=dict)
    unclassified: int = 0
    crs: str = ""


def prepare_poi(path: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, coords: str,
                classes: str | None = None, crs: str | None = None, candidates: str | None = None) -> PreparedPOI:
    r"""Convert, classify and write a POI export as an ``existing`` facilities layer (see the module doc).

    ``crs`` is the metric CRS of the layer (default: the candidates layer's, else the local UTM zone);
    ``candidates`` is a candidates layer to merge the facilities into.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "p.csv").write_text("name,typecode,lon,lat\n幸福社区老年食堂,050100,106.5516,29.5630\n", "utf-8")
    >>> prepare_poi(d / "p.csv", d, coords="gcj02").counts
    {'canteen': 1}
    """
    import geopandas as gpd

    from ..travel.readers import crs_name

    table = load_classes(classes)
    pois = read_pois(path, coords)
    pois["services"] = classify(pois["name"] + " " + pois["type_text"], pois["typecode"], table)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    unclassified = pois[pois["services"] == ""]
    if len(unclassified):
        paths["unclassified"] = atomic_write_csv(out / "unclassified.csv",
                                                 unclassified.drop(columns=["services"]))
    found = pois[pois["services"] != ""].copy()
    if found.empty:
        raise InputError(f"no POI matched a class of {table.source}; see unclassified.csv and extend the table",
                         file=str(path), column="name")
    cand = None
    if candidates is not None:
        if not Path(candidates).exists():
            raise InputError("candidates layer not found", file=str(candidates))
        cand = gpd.read_file(candidates, engine="pyogrio")
        if cand.crs is None:
            raise InputError("the candidates layer has no CRS; cannot place the POIs", file=str(candidates))
    points = gpd.GeoDataFrame(found.drop(columns=["row", "type_text"]),
                              geometry=gpd.points_from_xy(found["lon"], found["lat"]), crs="EPSG:4326")
    target = crs or (cand.crs if cand is not None else points.estimate_utm_crs())
    layer = points.to_crs(target).assign(status="existing", cost=0.0)
    layer = layer[["id", "name", "status", "cost", "services", "typecode", "lon", "lat", "geometry"]]
    paths["existing"] = _write(out / "existing.gpkg", layer, "existing")
    paths["existing_csv"] = atomic_write_csv(out / "existing.csv", pd.DataFrame(
        layer.drop(columns="geometry")).assign(x=layer.geometry.x, y=layer.geometry.y))
    if cand is not None:
        merged = _merge(cand.to_crs(layer.crs), layer, str(candidates))
        paths["candidates"] = _write(out / "candidates_with_existing.gpkg", merged, "candidates")
    counts = pd.Series(";".join(found["services"]).split(";")).value_counts()
    return PreparedPOI(paths=paths, counts={str(k): int(v) for k, v in counts.items()},
                       unclassified=int(len(unclassified)), crs=crs_name(layer.crs) or "")


def _merge(cand: Any, layer: Any, source: str) -> Any:
    """The candidates plus the existing rows; an id in both is an error (ids must stay unique)."""
    import geopandas as gpd

    if "id" not in cand.columns:
        raise InputError("missing required column", file=source, column="id")
    clash = set(cand["id"].astype(str)) & set(layer["id"].astype(str))
    if clash:
        raise InputError(f"POI id(s) {', '.join(sorted(clash)[:3])} also in the candidates layer", file=source,
                         column="id")
    if layer.geometry.geom_type.iloc[0] != cand.geometry.geom_type.iloc[0]:
        cand = cand.assign(geometry=cand.geometry.representative_point())
    if "status" not in cand.columns:
        cand = cand.assign(status="candidate")
    merged = pd.concat([cand, layer.drop(columns=["lon", "lat"])], ignore_index=True)
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=layer.crs)


def _write(path: Path, gdf: Any, layer: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.unlink()
        gdf.to_file(tmp, driver="GPKG", layer=layer, engine="pyogrio")
    return path
