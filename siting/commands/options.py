"""Options shared by several commands: the execution engine (Dask or serial) and how ``--out`` is named."""
from __future__ import annotations

import argparse
from typing import Any

from ..errors import ScenarioError

__all__ = ["OUT", "add_engine_options", "engine_options"]

#: how errors name the output folder given on the command line
OUT = "--out"


def add_engine_options(p: argparse.ArgumentParser) -> None:
    """--scheduler / --no-dask / --workers / --quiet, shared by sweep, compare and rank."""
    g = p.add_argument_group("execution")
    g.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler of an existing cluster (tcp://host:8786); "
                   "default: a local 2-worker cluster")
    g.add_argument("--no-dask", action="store_true", help="run the solves one after the other in this process")
    g.add_argument("--workers", type=int, default=2, help="workers of the local Dask cluster (default 2)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors (no progress bars)")


def engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keywords of :func:`siting.workflow.tasks.run_tasks` from the flags above (checked)."""
    if args.workers < 1:
        raise ScenarioError(f"must be at least 1, got {args.workers}", key="--workers")
    if args.scheduler:  # a malformed address fails before any preparation, for every command
        from ..workflow.tasks import check_scheduler_address

        check_scheduler_address(args.scheduler)
    return dict(scheduler=args.scheduler, use_dask=not args.no_dask, n_workers=args.workers, quiet=args.quiet,
                out_key=OUT)
