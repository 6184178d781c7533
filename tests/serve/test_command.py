"""``siting serve`` on the command line: arguments reach the app and the server (uvicorn is not started here)."""
from __future__ import annotations

import argparse

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from siting.commands import serve  # noqa: E402
from siting.errors import SitingError  # noqa: E402


def parse(argv):
    parser = argparse.ArgumentParser(prog="siting")
    serve.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["serve", *argv])


def test_serve_builds_the_app_and_hands_it_to_uvicorn(tiny_scenario, monkeypatch, capsys):
    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(app=app, **kw))
    args = parse([str(tiny_scenario), "--port", "8123", "--lang", "zh", "--out", str(tiny_scenario.parent / "o")])
    assert args.func(args) == 0
    assert started["host"] == "127.0.0.1" and started["port"] == 8123
    state = started["app"].state.serve
    assert state.lang == "zh" and state.planner.scenario.name == "tiny-serve"
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out


def test_a_bad_language_or_scenario_stops_before_the_server(tiny_scenario, tmp_path, monkeypatch):
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: pytest.fail("the server must not start"))
    with pytest.raises(SitingError, match="lang"):
        args = parse([str(tiny_scenario), "--lang", "fr"])
        args.func(args)
    with pytest.raises(SitingError):
        args = parse([str(tmp_path / "missing.toml")])
        args.func(args)
