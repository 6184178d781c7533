"""``siting serve SCENARIO.toml``: the interactive what-if planner in the browser (``docs/SERVE.md``)."""
from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` sub-command to ``subparsers``."""
    p = subparsers.add_parser("serve", help="interactive what-if planner in the browser: lock buildings, change the "
                              "budget and the services, re-plan (offline web app)")
    p.add_argument("scenario", help="scenario TOML file")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--lang", default="en", help="page language: en or zh (default en; ?lang= changes it per tab)")
    p.add_argument("--out", help="folder for the walking-time cache and exported tables (default: as siting solve)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``siting serve`` with the parsed ``args``; the exit code (0 once the server stops)."""
    # here, not at the top: see siting.cli (start-up)
    import uvicorn

    from ..serve.app import create_app

    app = create_app(args.scenario, out_dir=args.out, lang=args.lang, quiet=args.quiet)
    if not args.quiet:
        print(f"siting serve: http://{args.host}:{args.port}/  (Ctrl+C stops)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning" if args.quiet else "info")
    return 0
