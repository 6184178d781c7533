"""Build a :class:`~siting.travel.graph.WalkGraph` from networkx, line layers or OSM files (offline).

Geographic inputs (EPSG:4326, e.g. OpenStreetMap) are projected to the local UTM zone
before lengths are computed.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from siting.errors import InputError
from siting.travel.graph import WalkGraph, walkable_highway

__all__ = ["from_networkx", "from_lines", "from_osm_pbf", "from_osm_xml", "load_network", "crs_name"]

LINE_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".parquet", ".geoparquet", ".fgb")


def crs_name(crs: object) -> str | None:
    """A short, comparable text for a CRS (``EPSG:xxxx`` when possible).

    Examples
    --------
    >>> crs_name("epsg:32648"), crs_name(None), crs_name("not a crs")
    ('EPSG:32648', None, 'not a crs')
    """
    if crs is None:
        return None
    try:
        from pyproj import CRS

        c = CRS.from_user_input(crs)
        epsg = c.to_epsg()
        return f"EPSG:{epsg}" if epsg else c.to_string()
    except Exception:  # noqa: BLE001 - any unparsable CRS is compared as text
        return str(crs)


def _is_geographic(crs: object) -> bool:
    if crs is None:
        return False
    from pyproj import CRS

    return CRS.from_user_input(crs).is_geographic


def _first(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


def _stairs(highway: Iterable[object]) -> np.ndarray:
    out = []
    for h in highway:
        if isinstance(h, (list, tuple)):
            out.append(any(str(x).lower() == "steps" for x in h))
        else:
            out.append(h is not None and h == h and str(h).lower() == "steps")
    return np.asarray(out, dtype=bool)


def from_networkx(G: Any, *, length: str = "length", elevation: tuple[str, ...] = ("elevation", "z"),
                  highway: str = "highway", geometry: str = "geometry", directed: bool | None = None,
                  crs: object = None, source_crs: object = None, source: str = "networkx graph") -> WalkGraph:
    """Walking graph from a networkx ``Graph``/``DiGraph``/``MultiDiGraph``.

    Nodes need ``x`` and ``y`` attributes (or ``pos=(x, y)``) in a metric CRS; edges may carry
    ``length`` (default: straight-line distance), ``highway`` (``steps`` = stairs, motorways are
    dropped) and ``geometry``; nodes may carry ``elevation`` (or ``z``) in metres. A directed
    graph keeps its arc directions unless ``directed=False``. Arcs ``a -> b`` and ``b -> a`` of
    equal length merge into one two-way segment; parallel edges keep the shortest per direction.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.Graph(); G.add_node("a", x=0, y=0); G.add_node("b", x=30, y=40)
    >>> G.add_edge("a", "b")
    >>> from_networkx(G).seg_length_m.tolist()
    [50.0]
    """
    import networkx as nx  # noqa: F401  (documented dependency)

    nodes = list(G.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    xs = np.empty(len(nodes))
    ys = np.empty(len(nodes))
    zs = np.full(len(nodes), np.nan)
    for i, (n, d) in enumerate(G.nodes(data=True)):
        if "x" in d and "y" in d:
            xs[i], ys[i] = float(d["x"]), float(d["y"])
        elif "pos" in d:
            xs[i], ys[i] = float(d["pos"][0]), float(d["pos"][1])
        else:
            raise InputError("node has no 'x'/'y' (or 'pos') attribute; coordinates are needed to snap points",
                             file=source, row_id=n, column="x")
        for key in elevation:
            if key in d and d[key] is not None:
                zs[i] = float(d[key])
                break
    tails: list[int] = []
    heads: list[int] = []
    edge_lengths: list[object] = []
    geoms: list[object] = []
    hws: list[object] = []
    for s, t, d in G.edges(data=True):
        tails.append(index[s])
        heads.append(index[t])
        edge_lengths.append(d.get(length, np.nan))
        geoms.append(d.get(geometry))
        hws.append(d.get(highway))
    a = np.asarray(tails, dtype=np.int64)
    b = np.asarray(heads, dtype=np.int64)
    lens = np.asarray(edge_lengths, dtype=np.float64)
    chord = np.hypot(xs[a] - xs[b], ys[a] - ys[b]) if a.size else np.empty(0)
    lens = np.where(np.isnan(lens), chord, lens)
    if np.any(lens < 0):
        bad = int(np.flatnonzero(lens < 0)[0])
        raise InputError(f"negative edge {length} {lens[bad]}", file=source,
                         row_id=f"{nodes[a[bad]]}->{nodes[b[bad]]}", column=length)
    hw_first = [_first(h) for h in hws]
    keep = walkable_highway(hw_first)
    stairs = _stairs(hws)
    a, b, lens, stairs = a[keep], b[keep], lens[keep], stairs[keep]
    geoms = [g for g, k in zip(geoms, keep, strict=True) if k]
    is_directed = G.is_directed() if directed is None else bool(directed)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    frame = pd.DataFrame({"lo": lo, "hi": hi, "len": np.round(lens, 9), "fwd": a <= b, "bwd": a >= b,
                          "stairs": stairs, "row": np.arange(a.size)})
    if not is_directed:
        frame["fwd"] = True
        frame["bwd"] = True
    grp = frame.groupby(["lo", "hi", "len"], sort=False).agg(
        fwd=("fwd", "any"), bwd=("bwd", "any"), stairs=("stairs", "any"), row=("row", "first")).reset_index()
    rows = grp["row"].to_numpy()
    u, v = grp["lo"].to_numpy(), grp["hi"].to_numpy()
    seg_geom = np.empty(rows.size, dtype=object)
    straight = shapely.linestrings(np.stack([np.c_[xs[u], ys[u]], np.c_[xs[v], ys[v]]], axis=1)) if rows.size else []
    for k, r in enumerate(rows):
        g = geoms[r]
        if g is None:
            seg_geom[k] = straight[k]
            continue
        start = shapely.get_point(g, 0)
        if shapely.distance(start, shapely.points(xs[u[k]], ys[u[k]])) > shapely.distance(
                start, shapely.points(xs[v[k]], ys[v[k]])):
            g = shapely.reverse(g)
        seg_geom[k] = g
    crs = crs if crs is not None else G.graph.get("crs")
    return WalkGraph.from_segments(xs, ys, zs, u, v, seg_length_m=grp["len"].to_numpy(), seg_geom=seg_geom,
                                   stairs=grp["stairs"].to_numpy(), fwd=grp["fwd"].to_numpy(),
                                   bwd=grp["bwd"].to_numpy(), node_ids=np.asarray(nodes, dtype=object),
                                   crs=crs_name(crs), source_crs=crs_name(source_crs), source=source)


def _read_lines(path: str | os.PathLike[str], layer: str | None = None) -> Any:
    """The line layer as a GeoDataFrame; a missing or unreadable file is an :class:`InputError`."""
    import geopandas as gpd

    p = Path(path)
    if not p.exists():
        raise InputError("street network file not found", file=str(path))
    try:
        if p.suffix.lower() in (".parquet", ".geoparquet"):
            return gpd.read_parquet(p)
        return gpd.read_file(p, layer=layer)
    except Exception as exc:  # noqa: BLE001 - reader errors become one line
        raise InputError(f"cannot read street layer: {exc}", file=str(path)) from None


def from_lines(data: str | os.PathLike[str] | Any, *, tolerance_m: float = 0.5, layer: str | None = None,
               highway: str = "highway", foot: str = "foot", source: str | None = None) -> WalkGraph:
    """Walking graph from a line layer; nodes are segment ends merged within ``tolerance_m``.

    ``data`` is a path (GeoPackage, GeoJSON, Shapefile, GeoParquet) or a GeoDataFrame of
    LineStrings/MultiLineStrings. Optional columns: ``highway`` (``steps`` = stairs; motorways
    dropped), ``foot`` (``no``/``private`` dropped), ``z_from``/``z_to`` (end elevations, metres)
    when the vertices have no Z. Vertex Z values give per-piece slopes. Lines that cross
    without a shared end are *not* connected (bridges, tunnels).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> gdf = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (100, 0)]), LineString([(100.2, 0), (100, 50)])],
    ...                        crs="EPSG:32649")
    >>> g = from_lines(gdf)
    >>> g.n_nodes, g.n_segments
    (3, 2)
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    if isinstance(data, (str, os.PathLike)):
        source = source or str(data)
        gdf = _read_lines(data, layer)
    else:
        source = source or "street layer"
        gdf = data
    if gdf.crs is None:
        src_crs = None
    else:
        src_crs = crs_name(gdf.crs)
    gdf = gdf.reset_index(drop=True)
    geom_types = shapely.get_type_id(gdf.geometry.values)
    bad = ~np.isin(geom_types, [1, 5])  # LineString, MultiLineString
    if np.any(bad):
        r = int(np.flatnonzero(bad)[0])
        got = gdf.geometry.iloc[r].geom_type if gdf.geometry.iloc[r] is not None else "nothing"
        raise InputError(f"street geometry must be a line, got {got}",
                         file=source, row=r, column="geometry")
    if gdf.crs is not None and gdf.crs.is_geographic:
        gdf = gdf.to_crs(gdf.estimate_utm_crs())
    crs = crs_name(gdf.crs)
    hw = gdf[highway].to_numpy() if highway in gdf.columns else np.full(len(gdf), None)
    ft = gdf[foot].to_numpy() if foot in gdf.columns else None
    gdf = gdf[walkable_highway(hw, ft)]
    gdf = gdf.explode(index_parts=False).reset_index(drop=True)
    gdf = gdf[~gdf.geometry.is_empty]
    geoms = gdf.geometry.values
    coords, idx = shapely.get_coordinates(geoms, include_z=True, return_index=True)
    m = len(gdf)
    if m == 0:
        raise InputError("no walkable street segment in the layer", file=source)
    starts = np.searchsorted(idx, np.arange(m))
    ends = np.r_[starts[1:], idx.size] - 1
    ends_xy = np.r_[coords[starts, :2], coords[ends, :2]]
    ends_z = np.r_[coords[starts, 2], coords[ends, 2]]
    if np.all(np.isnan(coords[:, 2])) and {"z_from", "z_to"} <= set(gdf.columns):
        ends_z = np.r_[gdf["z_from"].to_numpy(float), gdf["z_to"].to_numpy(float)]
    tree = cKDTree(ends_xy)
    pairs = tree.query_pairs(max(float(tolerance_m), 0.0), output_type="ndarray")
    k = ends_xy.shape[0]
    adj = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(k, k)) if len(pairs) else \
        coo_matrix((k, k))
    n_nodes, label = connected_components(adj, directed=False)
    first = np.full(n_nodes, k, dtype=np.int64)
    np.minimum.at(first, label, np.arange(k))
    node_x, node_y = ends_xy[first, 0], ends_xy[first, 1]
    with np.errstate(invalid="ignore"):
        zsum = np.bincount(label, weights=np.nan_to_num(ends_z), minlength=n_nodes)
        zcnt = np.bincount(label, weights=np.isfinite(ends_z).astype(float), minlength=n_nodes)
        node_z = np.where(zcnt > 0, zsum / np.maximum(zcnt, 1), np.nan)
    u, v = label[:m], label[m:]
    same = idx[1:] == idx[:-1]
    d = np.diff(coords, axis=0)[same]
    p_seg = idx[1:][same]
    p_len = np.hypot(d[:, 0], d[:, 1])
    p_rise = d[:, 2]
    if np.all(np.isnan(p_rise)):
        seg_len_tmp = np.bincount(p_seg, weights=p_len, minlength=m)
        grade = (ends_z[m:] - ends_z[:m]) / np.where(seg_len_tmp > 0, seg_len_tmp, 1.0)
        p_rise = p_len * grade[p_seg]
    seg_len = np.bincount(p_seg, weights=p_len, minlength=m)
    geom2d = shapely.force_2d(geoms)
    hw = gdf[highway].to_numpy() if highway in gdf.columns else np.full(m, None)
    # a closed line (u == v, e.g. a path around a park) is kept: points can snap onto it
    return WalkGraph.from_segments(
        node_x, node_y, node_z, u, v, seg_length_m=seg_len, seg_geom=geom2d, stairs=_stairs(hw),
        pieces=(p_seg, p_len, p_rise), crs=crs, source_crs=src_crs, source=source)


def from_osm_pbf(path: str | os.PathLike[str], *, bounding_box: object = None) -> WalkGraph:
    """Walking graph from an OpenStreetMap ``.osm.pbf`` extract with pyrosm (offline).

    Examples
    --------
    >>> import pyrosm
    >>> g = from_osm_pbf(pyrosm.get_data("test_pbf"))
    >>> g.crs.startswith("EPSG:326"), g.n_segments > 500
    (True, True)
    """
    import geopandas as gpd
    import pyrosm

    if not Path(path).exists():
        raise InputError("OpenStreetMap file not found", file=str(path))
    try:
        osm = pyrosm.OSM(str(path), bounding_box=bounding_box)
        nodes, edges = osm.get_network("walking", nodes=True)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"cannot read OpenStreetMap extract: {exc}", file=str(path)) from None
    if edges is None or len(edges) == 0:
        raise InputError("no walkable way in the OpenStreetMap extract", file=str(path))
    utm = edges.estimate_utm_crs()
    nodes = gpd.GeoDataFrame(nodes[["id"]], geometry=gpd.points_from_xy(nodes["lon"], nodes["lat"]),
                             crs="EPSG:4326").to_crs(utm)
    edges = edges.to_crs(utm)
    ids = pd.Index(nodes["id"].to_numpy())
    u = ids.get_indexer(edges["u"].to_numpy())
    v = ids.get_indexer(edges["v"].to_numpy())
    hw = edges["highway"].to_numpy() if "highway" in edges.columns else np.full(len(edges), None)
    ft = edges["foot"].to_numpy() if "foot" in edges.columns else None
    ok = (u >= 0) & (v >= 0) & (u != v) & walkable_highway(hw, ft)
    geoms = edges.geometry.values[ok]
    u, v = u[ok], v[ok]
    nx_, ny_ = nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy()
    start = shapely.get_point(geoms, 0)
    d_u = shapely.distance(start, shapely.points(nx_[u], ny_[u]))
    flip = d_u > shapely.distance(start, shapely.points(nx_[v], ny_[v]))
    geoms = np.where(flip, shapely.reverse(geoms), geoms)
    return WalkGraph.from_segments(nx_, ny_, None, u, v, seg_geom=geoms, stairs=_stairs(hw[ok]),
                                   node_ids=ids.to_numpy(), crs=crs_name(utm), source_crs="EPSG:4326",
                                   source=str(path))


def from_osm_xml(path: str | os.PathLike[str]) -> WalkGraph:
    """Walking graph from an OpenStreetMap ``.osm`` XML file with osmnx (offline), two-way for pedestrians.

    Examples
    --------
    >>> g = from_osm_xml("tests/travel/fixtures/tiny.osm")
    >>> g.source_crs, g.n_segments > 0
    ('EPSG:4326', True)
    """
    import osmnx as ox

    if not Path(path).exists():
        raise InputError("OpenStreetMap file not found", file=str(path))
    try:
        G = ox.graph_from_xml(Path(path), bidirectional=True, simplify=False, retain_all=True)
        G = ox.project_graph(G)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"cannot read OpenStreetMap XML: {exc}", file=str(path)) from None
    drop = [(a, b, k) for a, b, k, d in G.edges(keys=True, data=True) if d.get("highway") is None]
    G.remove_edges_from(drop)
    return from_networkx(G, directed=False, source_crs="EPSG:4326", source=str(path))


def load_network(path: str | os.PathLike[str], *, tolerance_m: float = 0.5, layer: str | None = None) -> WalkGraph:
    """Pick the reader from the file name: ``.osm.pbf``/``.pbf``, ``.osm``/``.xml``, or a line layer.

    Raises
    ------
    InputError
        The file is missing, unreadable, of an unknown format or holds no walkable street.

    Examples
    --------
    >>> load_network("streets.dxf")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    siting.errors.InputError: streets.dxf: unknown street network format (use .gpkg, .geojson, ...)
    """
    name = str(path).lower()
    if name.endswith(".pbf"):
        return from_osm_pbf(path)
    if name.endswith(".osm") or name.endswith(".xml"):
        return from_osm_xml(path)
    if name.endswith(LINE_SUFFIXES):
        return from_lines(path, tolerance_m=tolerance_m, layer=layer)
    if name.endswith(".graphml"):
        import networkx as nx

        try:
            G = nx.read_graphml(path)
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"cannot read GraphML: {exc}", file=str(path)) from None
        for _, d in G.nodes(data=True):
            for k in ("x", "y", "elevation"):
                if k in d:
                    d[k] = float(d[k])
        for _, _, d in G.edges(data=True):
            if "length" in d:
                d["length"] = float(d["length"])
        return from_networkx(G, source=str(path))
    raise InputError("unknown street network format (use .gpkg, .geojson, .shp, .parquet, .osm.pbf, .osm, .graphml)",
                     file=str(path))
