r"""``siting travel``: compute the walking-time table from a street network and write it.

Examples::

    siting travel scenarios/x.toml --out travel_times.parquet
    siting travel --network streets.gpkg --demand demand.csv --candidates candidates.csv \\
        --out travel_times.csv --cutoff 15 --group elderly=0.76
    siting travel demo.toml --sensitivity stairs --plan out/demo/solve --by district=old_town --out stairs.csv

``--sensitivity stairs`` writes, instead of the travel table, the plan's coverage under a range of stair
parameter sets (:mod:`siting.travel.sensitivity`) and prints the shares.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, ScenarioError
from .options import OUT

if TYPE_CHECKING:
    import pandas as pd

    from ..travel.config import NetworkConfig

__all__ = ["register", "run", "write_with_limits"]

TABLE_SUFFIXES = (".parquet", ".csv")
#: from this many demand x candidate combinations the table is written block by block (never whole in memory);
#: below it, in memory, sorted by demand point then site. A 200,000 x 5,000 city table stays in memory.
STREAM_MIN_COMBINATIONS = 2_000_000_000


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``travel`` sub-command to ``subparsers``."""
    p = subparsers.add_parser("travel",
                              help="compute walking times from a street network (.gpkg/.geojson/.osm.pbf/.osm)")
    p.add_argument("scenario", nargs="?", help="scenario TOML file with [data] and [network] (optional)")
    p.add_argument("--network", help="street network file (overrides network.path)")
    p.add_argument("--elevation",
                   help="x,y,z elevation samples interpolated at the nodes (overrides network.elevation)")
    p.add_argument("--demand", help="demand layer (overrides data.demand)")
    p.add_argument("--candidates", help="candidates layer (overrides data.candidates)")
    p.add_argument("--out", required=True, help="output table, .parquet or .csv")
    p.add_argument("--cutoff", type=float, help="cutoff in minutes (default: scenario threshold, else 15)")
    p.add_argument("--speed", type=float, help="default (adult) walking speed in m/s (default 1.0)")
    p.add_argument("--group", action="append", default=[], metavar="NAME=M_S",
                   help="extra group and its speed in m/s, e.g. elderly=0.76 (repeatable)")
    p.add_argument("--no-slope", action="store_true", help="ignore elevation (flat walking times)")
    p.add_argument("--stairs-factor", type=float,
                   help="legacy stair model: speed factor on stairs whatever they climb (default: the stair model, "
                        "[network.stairs.<group>])")
    p.add_argument("--max-snap", type=float, help="farthest distance (m) from a point to a street (default 300)")
    p.add_argument("--tolerance", type=float, help="segment ends closer than this (m) become one node (default 0.5)")
    p.add_argument("--engine", choices=("auto", "numba", "scipy"), help="Dijkstra kernel")
    p.add_argument("--threads", type=int, default=1, help="worker threads of the numba kernel (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the search in blocks of sources on this Dask cluster (tcp://host:8786; workers must "
                        "have siting installed); the table is written block by block as on one machine")
    p.add_argument("--sensitivity", choices=("stairs",),
                   help="write the plan's coverage under a range of stair parameters to --out (.csv) instead")
    p.add_argument("--plan", help="with --sensitivity: a solve folder (its sites.csv); default: existing facilities")
    p.add_argument("--minutes", type=float, nargs="+", default=[5.0, 10.0, 15.0],
                   help="with --sensitivity: walking-time thresholds (default 5 10 15)")
    p.add_argument("--by", metavar="COLUMN[=VALUE]",
                   help="with --sensitivity: demand label to break coverage down by; =VALUE prints that one")
    p.add_argument("--stair-scales", type=float, nargs="+", default=[0.7, 1.0, 1.3],
                   help="with --sensitivity: multiples of the stair rates compared (default 0.7 1 1.3)")
    p.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    p.set_defaults(func=run)


def _groups(values: list[str]) -> dict[str, float]:
    out = {}
    for item in values:
        name, sep, speed = item.partition("=")
        try:
            v = float(speed)
        except ValueError:
            v = float("nan")
        if not sep or not name.strip() or not v > 0:
            raise InputError(f"--group expects NAME=SPEED_M_S with a positive speed, got {item!r}")
        out[name.strip()] = v
    return out


def _output_table(path: str) -> Path:
    """``--out``: a .parquet / .csv file whose folder exists or can be made (checked before any search)."""
    out = Path(path)
    if out.suffix.lower() not in TABLE_SUFFIXES:
        raise InputError("output must end in .parquet or .csv", file=str(out))
    if out.is_dir():
        raise InputError(f"{OUT} names a folder; give the table's file name (.parquet or .csv)", file=str(out))
    for parent in out.resolve().parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{OUT}: {parent} is a file, not a folder", file=str(out))
            break
    return out


def _config(args: argparse.Namespace) -> tuple[NetworkConfig, Path, Path, float]:
    """(NetworkConfig, demand path, candidates path, cutoff minutes) from the scenario and flags."""
    # here, not at the top: see siting.cli (start-up; the travel stack loads shapely and the search kernels)
    from ..scenario import load_scenario
    from ..travel.config import parse_network_section
    from ..travel.scenario import scenario_cutoff

    table: dict = {}
    demand = candidates = None
    cutoff = 15.0
    file = base = None
    scenario = None
    if args.scenario:
        scenario = load_scenario(args.scenario)
        table = dict(scenario.network)
        demand, candidates = scenario.data.demand, scenario.data.candidates
        file, base = scenario.path, scenario.base_dir
    if args.network:
        table["path"] = str(Path(args.network).absolute())
    if args.elevation:
        table["elevation"] = str(Path(args.elevation).absolute())
    if "path" not in table:
        raise InputError("no street network: give --network or a scenario with a [network] section",
                         file=args.scenario)
    for flag, key in ((args.cutoff, "cutoff_minutes"), (args.stairs_factor, "stairs_factor"),
                      (args.max_snap, "max_snap_m"), (args.tolerance, "tolerance_m"), (args.engine, "engine")):
        if flag is not None:
            table[key] = flag
    if args.no_slope:
        table["slope"] = False
    if args.speed is not None or args.group:
        speeds = dict(table.get("speeds", {"adult": 1.0}))
        if args.speed is not None:
            first = next(iter(speeds))
            speeds[first] = args.speed
        speeds.update(_groups(args.group))
        table["speeds"] = speeds
    cfg = parse_network_section(table, file=file, base_dir=base)
    demand = Path(args.demand) if args.demand else demand
    candidates = Path(args.candidates) if args.candidates else candidates
    if demand is None or candidates is None:
        raise InputError("give --demand and --candidates (or a scenario whose [data] names them)")
    if scenario is not None:
        cutoff = scenario_cutoff(scenario, cfg)
    elif cfg.cutoff_minutes is not None:
        cutoff = cfg.cutoff_minutes
    return cfg, demand, candidates, cutoff


def write_with_limits(df: pd.DataFrame, path: Path, cfg: NetworkConfig, cutoff_min: float) -> Path:
    """Write the table (:func:`siting.travel.api.write_travel_table`'s checks and columns) with its cutoff and speeds.

    Parquet: key-value metadata in the file; CSV: the sidecar ``<table>.csv.json``
    (:func:`siting.io.sidecar_path`), written after the table.
    """
    from ..io import atomic_write_parquet, write_table_metadata
    from ..travel.api import TRAVEL_COLUMNS, write_travel_table
    from ..workflow.prepare import travel_limits

    meta = travel_limits(cfg, cutoff_min, len(df))
    if path.suffix.lower() != ".parquet":
        write_travel_table(df, path)
        write_table_metadata(path, meta)
        return path
    missing = [c for c in TRAVEL_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"travel table lacks columns {missing}", file=str(path))
    data = df[TRAVEL_COLUMNS + (["group"] if "group" in df.columns else [])].reset_index(drop=True)
    data.attrs = {}  # attrs hold DataFrames (far points): not for Parquet's pandas metadata
    return atomic_write_parquet(path, data, metadata=meta)


def run(args: argparse.Namespace) -> int:
    """Run ``siting travel`` with the parsed ``args``; the exit code."""
    # here, not at the top: see siting.cli (start-up)
    from ..data import read_demand, read_sites
    from ..io import sidecar_path
    from ..travel.scenario import network_travel_times

    if args.threads < 1:
        raise ScenarioError(f"must be a whole number >= 1, got {args.threads!r}", key="--threads")
    out = _output_table(args.out)
    if getattr(args, "scheduler", None):  # a malformed address fails before any input is read
        from ..workflow.tasks import check_scheduler_address

        check_scheduler_address(args.scheduler)
    cfg, demand_path, cand_path, cutoff = _config(args)
    started = time.perf_counter()
    demand = read_demand(demand_path)
    sites = read_sites(cand_path)
    graph = cfg.build_graph()
    if not args.quiet:
        print(graph.summary())
        for row in cfg.profile().describe():  # the walking model the times (or the sensitivity's centre) use
            print(f"  {row['group']}: {row['flat_m_s']:g} m/s flat; slope {row['slope']}; stairs {row['stairs']}")
    if getattr(args, "sensitivity", None):
        return _sensitivity(args, cfg, demand, sites, graph, out)
    if getattr(args, "scheduler", None) or len(demand.ids) * len(sites.ids) >= STREAM_MIN_COMBINATIONS:
        rows, far = _stream(args, cfg, demand, sites, graph, out, cutoff)
    else:
        df = network_travel_times(cfg, demand, sites, cutoff_min=cutoff, progress=not args.quiet,
                                  threads=args.threads, graph=graph)
        write_with_limits(df, out, cfg, cutoff)
        rows, far = len(df), df.attrs["far_points"]
    if not args.quiet:
        print(f"{rows:,} pairs within {cutoff:g} min written to {out} "
              f"({time.perf_counter() - started:.1f} s); its cutoff and speeds are recorded "
              + ("in the file" if out.suffix.lower() == ".parquet" else f"in {sidecar_path(out).name} (keep it "
                 "next to the table)"))
        if far is not None and len(far):
            show = ", ".join(f"{r.role} {r.id} ({r.distance_m:.0f} m)" for r in far.head(5).itertuples())
            more = f" and {len(far) - 5} more" if len(far) > 5 else ""
            print(f"warning: {len(far)} point(s) farther than {cfg.max_snap_m:g} m from any street have no "
                  f"times: {show}{more}")
    return 0


def _stream(args: argparse.Namespace, cfg: NetworkConfig, demand: Any, sites: Any, graph: Any, out: Path,
            cutoff: float) -> tuple[int, pd.DataFrame]:
    """The table written block by block, on the ``--scheduler`` cluster if given; (rows, far points)."""
    import contextlib

    from ..travel.scenario import stream_network_travel_times
    from ..workflow.prepare import travel_limits

    def meta(rows: int) -> dict[str, Any]:
        return travel_limits(cfg, cutoff, rows)

    if args.scheduler:
        from ..workflow.tasks import dask_client

        clients: Any = dask_client(args.scheduler, quiet=args.quiet)
    else:
        clients = contextlib.nullcontext(None)
    with clients as client:
        done = stream_network_travel_times(cfg, demand, sites, out, cutoff_min=cutoff, metadata=meta,
                                           progress=not args.quiet, threads=args.threads, graph=graph, client=client)
    if not args.quiet:
        print(f"written in {done.blocks:,} blocks" + (f" on the Dask cluster at {args.scheduler}"
                                                      if args.scheduler else ""))
    return done.rows, done.far_points


def _sensitivity(args: argparse.Namespace, cfg: NetworkConfig, demand: Any, sites: Any, graph: Any, out: Path) -> int:
    """``--sensitivity stairs``: the coverage table under each stair parameter set, written to ``out``."""
    from ..io import atomic_write_csv, atomic_write_parquet
    from ..travel.sensitivity import scenario_sensitivity, summary_table

    by, _, only = (args.by or "").partition("=")
    table = scenario_sensitivity(cfg, demand, sites, plan_dir=args.plan, minutes=args.minutes, by=by or None,
                                 scales=args.stair_scales, graph=graph)
    (atomic_write_parquet if out.suffix.lower() == ".parquet" else atomic_write_csv)(out, table)
    if not args.quiet:
        for name, what in table.attrs["sets"].items():
            print(f"  {name}: {what}")
        where = f" in {by} = {only}" if only else ""
        print(f"covered share (%) of each group's weight{where}, plan {args.plan or 'existing facilities'}:")
        print(summary_table(table, by=by or None, only=only or None).to_string())
        print(f"written: {out}")
    return 0
