"""``siting prepare osm FILE.pbf`` and ``siting prepare poi FILE.csv``: inputs from OpenStreetMap and POI exports."""
from __future__ import annotations

import argparse

from .options import OUT

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``prepare`` command (sub-commands ``osm`` and ``poi``) to ``subparsers``."""
    p = subparsers.add_parser("prepare", help="inputs from an OpenStreetMap extract (osm) or a POI export (poi)")
    sub = p.add_subparsers(dest="source", required=True, metavar="SOURCE")

    o = sub.add_parser("osm", help="streets, candidate and residential buildings and a scenario from an .osm.pbf")
    o.add_argument("pbf", help="OpenStreetMap extract (.osm.pbf)")
    o.add_argument("--out", required=True, help="output folder: streets.gpkg, candidates.gpkg, demand.gpkg, "
                   "footprints.gpkg, scenario.toml, prepare.json")
    o.add_argument("--dem", metavar="DEM.tif", help="GeoTIFF of elevations (m) sampled onto every street vertex")
    o.add_argument("--candidates", metavar="EXPR",
                   help="filter on building tags selecting the candidates, a pandas query, e.g. "
                   "\"idle or building in ['public', 'industrial']\" (idle = the default test: building=disused/"
                   "abandoned/vacant, disused=yes, abandoned=yes, vacant=yes, disused:*/abandoned:* keys)")
    o.add_argument("--persons-per-m2", type=float, default=None,
                   help="residents per m2 of residential floor area (default 0.025 = 40 m2 per person)")
    o.add_argument("--default-levels", type=float, default=None,
                   help="storeys of a building without building:levels (default 1)")
    o.add_argument("--population-grid", metavar="GRID", help="GeoTIFF or CSV (lon,lat or x,y; population) of cells "
                   "shared among the residential buildings by floor area, instead of --persons-per-m2")
    o.add_argument("--cost-per-m2", type=float, default=None,
                   help="conversion cost per m2 of floor area, CNY (default 2000)")
    o.add_argument("--crs", help="metric CRS of every layer (default: the local UTM zone)")
    o.add_argument("--bbox", metavar="MINLON,MINLAT,MAXLON,MAXLAT",
                   help="only this box of the extract (WGS-84 degrees), e.g. a district of a city extract")
    o.add_argument("--threshold-minutes", type=float, default=None, help="the scenario's MCLP threshold (default 10)")
    o.add_argument("--budget", type=float, default=None,
                   help="the scenario's budget (default: 25 %% of the candidates' total cost)")
    o.add_argument("--geometry", choices=("point", "footprint"), default="point",
                   help="demand and candidates as representative points (default) or footprint polygons")
    o.add_argument("--quiet", action="store_true", help="print nothing but errors")
    o.set_defaults(func=run)

    q = sub.add_parser("poi", help="existing facilities with a services column from a POI export (Amap, Baidu, ...)")
    q.add_argument("csv", help="POI table: name, typecode and/or type, lon, lat (or Amap location = 'lon,lat')")
    q.add_argument("--coords", required=True, choices=("gcj02", "bd09", "wgs84"),
                   help="coordinate system of lon/lat: gcj02 (Amap, Tencent), bd09 (Baidu) or wgs84")
    q.add_argument("--out", required=True, help="output folder: existing.gpkg, existing.csv, unclassified.csv")
    q.add_argument("--classes", metavar="TOML", help="class table (default: the shipped poi_classes.toml)")
    q.add_argument("--crs", help="metric CRS of the layer (default: the candidates' CRS, else the local UTM zone)")
    q.add_argument("--candidates", metavar="LAYER",
                   help="candidates layer to merge the facilities into (writes candidates_with_existing.gpkg)")
    q.add_argument("--quiet", action="store_true", help="print nothing but errors")
    q.set_defaults(func=run)


def _defaults(args: argparse.Namespace) -> dict[str, float]:
    names = ("persons_per_m2", "default_levels", "cost_per_m2", "threshold_minutes", "budget")
    return {n: getattr(args, n) for n in names if getattr(args, n) is not None}


def run(args: argparse.Namespace) -> int:
    """Run ``siting prepare osm|poi`` with the parsed ``args``; the exit code."""
    # here, not at the top: see siting.cli (start-up)
    from ..workflow.records import output_folder

    output_folder(args.out, key=OUT)  # a file named by --out fails here, before any work
    if args.source == "osm":
        from ..prepare.osm import prepare_osm

        done = prepare_osm(args.pbf, args.out, dem=args.dem, candidates=args.candidates,
                           population_grid=args.population_grid, crs=args.crs, geometry=args.geometry, bbox=args.bbox,
                           **_defaults(args))
        if not args.quiet:
            s = done.summary
            print(f"{s['candidates']} candidate buildings, {s['demand_points']} demand points "
                  f"({s['population']:,.0f} residents), {s['street_segments']} street segments, CRS {s['crs']}")
            if s["levels_defaulted"]:
                print(f"note: {s['levels_defaulted']} of {s['buildings']} buildings have no building:levels "
                      f"(counted as {s['defaults']['default_levels']:g} storey)")
            print("written: " + ", ".join(str(p) for p in done.paths.values()))
            print(f"next: siting solve {done.paths['scenario']} --out <DIR>")
        return 0
    from ..prepare.poi import prepare_poi

    poi = prepare_poi(args.csv, args.out, coords=args.coords, classes=args.classes, crs=args.crs,
                      candidates=args.candidates)
    if not args.quiet:
        print(f"{sum(1 for _ in poi.counts)} services found ({poi.crs}): "
              + ", ".join(f"{k} {v}" for k, v in sorted(poi.counts.items())))
        if poi.unclassified:
            print(f"note: {poi.unclassified} POIs matched no class; see {poi.paths['unclassified']}")
        print("written: " + ", ".join(str(p) for p in poi.paths.values()))
    return 0
