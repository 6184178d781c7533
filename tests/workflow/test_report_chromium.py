"""Open the HTML report in headless Chromium: it renders, and nothing is fetched from the network.

Needs ``/usr/bin/chromium`` (Debian: ``apt-get install chromium``); skipped with the reason otherwise.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from siting.workflow.reporting import build_report

from .test_report import with_crs

CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", shutil.which("chromium") or "")
                 if p and Path(p).is_file()), None)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (/usr/bin/chromium): "
                                "apt-get install -y chromium to run the browser check of the HTML report")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         "--disable-default-apps", "--hide-scrollbars"]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=90)


# Chromium's own background traffic (time sync, updates, accounts) that the flags above do not all stop;
# the proxy below makes it fail locally. Anything else in the net log was requested by the page.
BROWSER_HOSTS = ("google.com", "googleapis.com", "gstatic.com", "gvt1.com", "googleusercontent.com")


def page_requests(netlog: Path) -> list[str]:
    """URLs of network requests in a Chromium net log (``--log-net-log``), minus Chromium's own traffic."""
    import json
    from urllib.parse import urlsplit

    data = json.loads(netlog.read_text())
    kinds = {v: k for k, v in data["constants"]["logEventTypes"].items()}
    urls = {e["params"]["url"] for e in data["events"]
            if kinds.get(e["type"]) == "URL_REQUEST_START_JOB" and "url" in e.get("params", {})}
    host = lambda u: urlsplit(u).hostname or ""  # noqa: E731
    return sorted(u for u in urls if not any(host(u) == h or host(u).endswith("." + h) for h in BROWSER_HOSTS))


def _render(tmp_path: Path, html: Path, name: str):
    shot, netlog = tmp_path / f"{name}.png", tmp_path / f"{name}.netlog.json"
    # --proxy-server to a closed port: a remote request is logged but fails locally, nothing leaves the machine
    proc = _chromium(tmp_path / name, "--window-size=1280,2000", f"--screenshot={shot}",
                     "--proxy-server=127.0.0.1:9", f"--log-net-log={netlog}", html.resolve().as_uri())
    return proc, shot, netlog


def test_net_log_detects_a_page_that_fetches_from_the_internet(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><img src="https://example.com/x.png">hi</body></html>')
    proc, shot, netlog = _render(tmp_path, bad, "bad")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert page_requests(netlog) == ["https://example.com/x.png"]


def test_report_renders_in_headless_chromium_offline(example, tmp_path):
    from PIL import Image

    rep = build_report(with_crs(example / "mclp.toml"), out_dir=tmp_path / "out", quiet=True)
    proc, shot, netlog = _render(tmp_path, rep.html, "report")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.is_file() and shot.stat().st_size > 20_000
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[:2] == (2000, 1280)
    # not a blank page: many distinct colours (maps, tables)
    assert len(np.unique(img.reshape(-1, 3)[::37], axis=0)) > 50
    # nothing requested from the network by the page
    assert page_requests(netlog) == []
    # no resource outside the file at all (a missing local image would be one)
    html = rep.html.read_text()
    assert re.findall(r"""(?:src|href)\s*=\s*["']?(?!data:|#)([^"'\s>]+)""", html) == []
    # every embedded image survived parsing
    dom = _chromium(tmp_path / "dom", "--dump-dom", rep.html.resolve().as_uri())
    assert dom.returncode == 0
    assert dom.stdout.count("<img") == html.count("<img") >= 1


def _street_grid(path: Path, demand_csv: Path, spacing_m: float = 150.0) -> None:
    """A GeoPackage of straight streets on a grid covering the demand points (EPSG:32648)."""
    import geopandas as gpd
    import pandas as pd
    from shapely import LineString

    d = pd.read_csv(demand_csv)
    x0, x1, y0, y1 = d.x.min() - 300, d.x.max() + 300, d.y.min() - 300, d.y.max() + 300
    xs, ys = np.arange(x0, x1, spacing_m), np.arange(y0, y1, spacing_m)
    lines = [LineString([(a, b), (a + spacing_m, b)]) for a in xs[:-1] for b in ys] + \
            [LineString([(a, b), (a, b + spacing_m)]) for a in xs for b in ys[:-1]]
    gpd.GeoDataFrame({"highway": ["footway"] * len(lines)}, geometry=lines, crs="EPSG:32648").to_file(
        path, layer="streets", driver="GPKG")


def test_interactive_map_draws_its_layers_and_opens_a_building(example, tmp_path):
    import json

    _street_grid(example / "streets.gpkg", example / "demand.csv")
    toml = with_crs(example / "mclp.toml")
    toml.write_text(toml.read_text() + '\n[report]\nstreets = "streets.gpkg"\ncurrency = "EUR"\n')
    rep = build_report(toml, out_dir=tmp_path / "out", quiet=True)
    html = rep.html.read_text()
    assert "streets not drawn" not in html and "(EUR)" in html and "yuan" not in html
    # the selftest hash clicks the first converted building and zooms in; the DOM after the scripts ran
    proc = _chromium(tmp_path / "live", "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0",
                     "--dump-dom", rep.html.resolve().as_uri() + "#selftest")
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []  # no error, warning or log from the page's scripts
    root = re.search(r'<div id="siting-map"([^>]*)>', proc.stdout).group(1)
    assert 'data-state="ready"' in root and "data-errors" not in root
    counts = dict(kv.split(":") for kv in re.search(r'data-layers="([^"]*)"', root).group(1).split(","))
    for layer in ("streets", "area", "covered", "converted", "existing", "candidates"):
        assert int(counts[layer]) > 0, (layer, counts)
    assert int(counts["converted"]) == len(rep.record["selected"])
    first = re.search(r'class="smap-popup" data-site="([^"]+)"[^>]*>(.*?)</table>', proc.stdout, re.S)
    assert first is not None and first.group(1) in rep.record["selected"]
    popup = first.group(2)
    data = json.loads(re.search(r'id="siting-map-data">(.*?)</script>', html, re.S).group(1).replace("<\\/", "</"))
    site = next(s for s in data["sites"] if s["id"] == first.group(1))
    assert site["name"] and site["name"] in popup and "cost (EUR)" in popup and "mclp" in popup
    # the viewBox changed: the zoom ran
    assert re.search(r'<svg[^>]*viewBox="(?!0 0 )', proc.stdout)
