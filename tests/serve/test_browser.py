"""The page in headless Chromium: it loads offline, a budget change and Re-plan change the table, no console error.

Drives the system Chromium (``/usr/bin/chromium``; CI's ``make browser`` installs it) through Playwright without
``playwright install``; skipped with the reason when either is missing. With ``SITING_UPDATE_SCREENSHOTS=1`` it saves
``docs/serve.png`` (1366x768), the screenshot the README shows; otherwise the screenshot goes to a temporary folder.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "serve.png"
#: set to refresh docs/serve.png (a test run never writes into the source tree otherwise)
UPDATE_ENV = "SITING_UPDATE_SCREENSHOTS"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no system Chromium at /usr/bin/chromium (make browser)"),
    pytest.mark.slow,        # the one proof of "the page re-plans" and the README's screenshot
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tiny_scenario):
    uvicorn = pytest.importorskip("uvicorn")
    from siting.serve.app import create_app

    port = _free_port()
    app = create_app(tiny_scenario, out_dir=tiny_scenario.parent.parent / "out")
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def test_page_replans_after_a_budget_change(server, tmp_path):
    shot = SCREENSHOT if os.environ.get(UPDATE_ENV) else tmp_path / "serve.png"
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    outside: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server) else None)
            page.goto(server + "/")
            page.wait_for_selector("body[data-ready='1']", timeout=20_000)
            assert page.locator("#services tbody tr").count() >= 3
            assert page.locator("#layer-sites .site").count() == 12
            page.click("#replan")
            page.wait_for_selector("#plan-status", timeout=30_000)
            first_spent = page.text_content("#spent")
            first_cells = page.locator("#services td.now").all_text_contents()
            assert sum(c.endswith("%") for c in first_cells) == 3      # the enabled services
            # double the budget: more buildings, a different table
            page.fill("#budget", str(4 * float(page.input_value("#budget"))))
            page.click("#replan")
            page.wait_for_function("document.querySelector('#summary strong').textContent.includes('2')",
                                   timeout=30_000)
            assert page.text_content("#spent") != first_spent
            now = page.locator("#services td.now").all_text_contents()
            previous = page.locator("#services td.prev").all_text_contents()
            assert previous == first_cells and now != first_cells
            assert page.locator("#diff .tag.open").count() >= 1
            # a building locked out from the map's popup
            page.locator("#layer-sites .site[fill='#f08c00']").first.click()
            page.click("#popup button:nth-of-type(2)")
            assert page.locator("#locks .tag.close").count() == 1
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    assert not errors, errors
    assert not outside, outside                       # offline: nothing but this server
    assert shot.stat().st_size > 10_000
