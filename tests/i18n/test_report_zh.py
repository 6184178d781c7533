"""Reports, plots, money and CSV labels in Chinese and English (issue 16, engineer R's part).

The example scenario is solved and reported once per language (module fixtures); every test reads those outputs.
"""
from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from siting.errors import ScenarioError
from siting.i18n import Language, current_language, resolve_language, use_language

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------- the switch


def test_language_precedence_is_flag_then_scenario_then_environment(monkeypatch):
    monkeypatch.delenv("SITING_LANG", raising=False)
    assert resolve_language(None, None) is Language.EN
    monkeypatch.setenv("SITING_LANG", "zh")
    assert resolve_language(None, None) is Language.ZH
    assert resolve_language(None, {"language": "en"}) is Language.EN
    assert resolve_language("zh", {"language": "en"}) is Language.ZH
    with pytest.raises(ScenarioError, match=r"s.toml: key 'report.language': \[report\] language = 'fr' is not"):
        resolve_language(None, {"language": "fr"}, file="s.toml")
    with pytest.raises(ScenarioError, match="--lang = 'de'"):
        resolve_language("de", None)


def test_use_language_is_scoped_to_its_context(monkeypatch):
    import contextvars

    monkeypatch.delenv("SITING_LANG", raising=False)
    with use_language("zh"):
        assert current_language() is Language.ZH
        # another context (a second tab of the serve app) keeps its own language
        assert contextvars.Context().run(current_language) is Language.EN
    assert current_language() is Language.EN


# ---------------------------------------------------------------- money, numbers, names


def test_money_in_wan_and_yi_in_chinese_and_with_separators_in_english():
    from siting.i18n.numbers import format_money, money_scale, money_unit

    amount = 60_000_000
    assert format_money(amount, "CNY", "zh") == f"{amount // 10_000:,}万元"
    assert format_money(amount * 25, "CNY", "zh") == f"{amount * 25 / 1e8:g}亿元"
    assert format_money(9_999, "CNY", "zh") == "9,999元"
    assert format_money(amount, "CNY", "en") == f"{amount:,} CNY"
    assert format_money(amount, "EUR", "zh").endswith("EUR")      # no 万元 for another currency
    assert (money_unit("CNY", "zh"), money_scale("CNY", "zh")) == ("万元", 1e4)
    assert (money_unit("CNY", "en"), money_scale("CNY", "en")) == ("CNY", 1.0)


def test_service_names_come_from_the_catalogs_bilingual_name():
    from siting.i18n.labels import catalog_terms, service_title, split_bilingual
    from siting.services.catalog import load_catalog

    catalog = {s.key: s.name for s in load_catalog().services}
    zh, en = split_bilingual(catalog["elderly_care"])
    assert zh.startswith("日间照料中心") and en == "elderly day care station"
    assert service_title("elderly_care", catalog["elderly_care"], "zh") == "日间照料中心"
    assert service_title("elderly_care", catalog["elderly_care"], "en") == "elderly_care (elderly day care station)"
    terms = catalog_terms()
    assert set(terms) == {k for k, v in catalog.items() if v} and all(CJK.search(v) for v in terms.values())


# ---------------------------------------------------------------- plots


def _glyph_warnings(draw) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def _sweep_table() -> pd.DataFrame:
    return pd.DataFrame({"budget": [1e6, 2e7, 6e7], "total_cost": [0.0, 1.9e7, 5.5e7],
                         "coverage_share": [0.0, 0.4, 0.7], "has_solution": [False, True, True],
                         "status": ["infeasible", "optimal", "time_limit"], "pareto": [False, True, True],
                         "share_elderly_care": [0.0, 0.5, 0.8]})


def test_chinese_plot_draws_every_glyph_and_the_check_can_fail(tmp_path):
    import matplotlib

    from siting.i18n.labels import catalog_terms, use_terms
    from siting.workflow.budget_sweep import plot_frontier

    def draw():
        with use_language("zh"), use_terms(catalog_terms()):
            plot_frontier(_sweep_table(), tmp_path / "sweep.png", title="示范区：覆盖率与预算", currency="CNY",
                          metric="老年人 步行 15 分钟以内")

    assert _glyph_warnings(draw) == []
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
    # the same plot with Latin fonts only: the detector sees the boxes
    from siting.i18n import fonts

    original = fonts.plot_rc
    try:
        fonts.plot_rc = lambda: {"font.family": ["DejaVu Sans"]}
        with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
            missing = _glyph_warnings(draw)
    finally:
        fonts.plot_rc = original
    assert missing and any("CJK UNIFIED IDEOGRAPH" in m for m in missing)


# ---------------------------------------------------------------- the report in both languages


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, object]:
    """The example scenario reported in English (default) and in Chinese (``[report] language``), in two folders."""
    from siting.workflow.reporting import build_report

    base = tmp_path_factory.mktemp("i18n")
    out = {}
    for lang in ("en", "zh"):
        scenario = base / f"example-{lang}"
        shutil.copytree(ROOT / "scenarios" / "example", scenario)
        toml = scenario / "mclp.toml"
        if lang == "zh":  # the scenario's switch (the --lang flag is tested through the command below)
            toml.write_text(toml.read_text() + '\n[report]\nlanguage = "zh"\n', encoding="utf-8")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rep = build_report(toml, out_dir=base / f"out-{lang}", quiet=True)
        out[lang] = rep
        out[f"{lang}-warnings"] = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    return out


def test_chinese_report_headings_tables_and_maps_are_chinese(reports):
    html = reports["zh"].html.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    headings = re.findall(r"<h2>(.*?)</h2>", html)
    assert headings and all(CJK.search(h) for h in headings), headings
    headers = set(re.findall(r"<th>(.*?)</th>", html))
    english = sorted(h for h in headers if re.fullmatch(r"[A-Za-z_ ()]+", h) and h not in ("mclp",))
    assert english == [], english
    assert "万元" in html and "yuan" not in html.split("<script")[0]
    assert "@font-face" in html and "Siting CJK" in html      # the glyphs travel with the page
    data = json.loads(re.search(r'id="siting-map-data">(.*?)</script>', html, re.S).group(1))
    assert data["text"]["zoom in"] == "放大" and data["money_unit"] == "万元"
    assert reports["zh-warnings"] == []                      # maps drew every Chinese glyph


def test_english_report_stays_english(reports):
    html = reports["en"].html.read_text(encoding="utf-8")
    assert '<html lang="en">' in html
    body = html.split("<script")[0]
    assert not CJK.search(re.sub(r"<style>.*?</style>", "", body, flags=re.S))
    assert "Coverage per service" in html and "cost (CNY)" in html


def test_switching_languages_changes_no_figure(reports):
    en, zh = reports["en"], reports["zh"]
    pd.testing.assert_frame_equal(pd.read_csv(en.csv), pd.read_csv(zh.csv))
    solutions = [json.loads((r.html.parents[1] / "solve" / "solution.json").read_text()) for r in (en, zh)]
    for key in ("objective", "total_cost", "covered_weight", "total_weight", "selected", "status"):
        assert solutions[0][key] == solutions[1][key], key
    for name in ("sites.csv", "coverage.csv"):
        a, b = (pd.read_csv(r.html.parents[1] / "solve" / name) for r in (en, zh))
        pd.testing.assert_frame_equal(a, b)


def test_csv_headers_keep_machine_names_and_a_sidecar_names_them(reports):
    from siting.i18n.labels import labels_path

    csv = reports["zh"].csv
    table = pd.read_csv(csv)
    assert "covered_after" in table.columns                     # machine names, whatever the language
    side = pd.read_csv(labels_path(csv))
    assert list(side.columns) == ["column", "en", "zh"]
    assert list(side["column"]) == list(table.columns)
    assert side["zh"].map(lambda v: bool(CJK.search(str(v)))).all()
    assert side["en"].notna().all()


def test_report_command_takes_lang_and_rejects_an_unknown_one(tmp_path, monkeypatch):
    import argparse

    from siting.commands import report as report_command

    parser = argparse.ArgumentParser()
    report_command.register(parser.add_subparsers())
    calls = {}
    import siting.workflow

    monkeypatch.setattr(siting.workflow, "report", lambda *a, **k: calls.update(k) or pytest.skip("not reached"))
    args = parser.parse_args(["report", "s.toml", "--lang", "zh", "--quiet"])
    with pytest.raises(pytest.skip.Exception):
        args.func(args)
    assert calls["language"] == "zh"
    # without --lang the attribute is absent: a global `siting --lang` (the current language) is not overridden
    assert not hasattr(parser.parse_args(["report", "s.toml"]), "lang")


# ---------------------------------------------------------------- the Chinese page in a browser

CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", shutil.which("chromium") or "")
                 if p and Path(p).is_file()), None)

# after the fonts settle: the page's text, the embedded face's status, and whether a heading drawn with it differs
# from the same heading drawn with a family that does not exist (the browser's fallback: boxes without CJK fonts)
PROBE = """<script>
document.fonts.ready.then(async function () {
  var faces = []; document.fonts.forEach(function (f) { if (f.family.replace(/"/g, "") === "Siting CJK") faces.push(f); });
  await Promise.all(faces.map(function (f) { return f.load().catch(function () {}); }));
  var sample = document.querySelector("h2").textContent;
  function pixels(family) {
    var c = document.createElement("canvas"); c.width = 400; c.height = 60;
    var g = c.getContext("2d"); g.font = "40px " + family; g.fillText(sample, 4, 48);
    return Array.prototype.join.call(g.getImageData(0, 0, 400, 60).data, ",");
  }
  var text = document.body.innerText;
  var res = {cjk: (text.match(/[\\u4e00-\\u9fff]/g) || []).length, latin: (text.match(/[A-Za-z]/g) || []).length,
             status: faces.map(function (f) { return f.status; }), sample: sample,
             check: document.fonts.check('16px "Siting CJK"', sample),
             drawn: pixels('"Siting CJK"') !== pixels('"No Such Font 16"')};
  document.documentElement.setAttribute("data-i18n", JSON.stringify(res));
});
</script>"""


def _probe(page: Path, tmp_path: Path) -> dict:
    import html as html_lib
    import subprocess

    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={tmp_path / ('chromium-' + page.stem)}", "--virtual-time-budget=8000",
                           "--window-size=1280,1600", "--dump-dom", page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r'data-i18n="([^"]*)"', proc.stdout)
    assert found, "the probe did not run"
    return json.loads(html_lib.unescape(found.group(1)))


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (/usr/bin/chromium): apt-get install -y chromium")
def test_chinese_report_renders_chinese_text_with_its_embedded_font_in_chromium(reports, tmp_path):
    import subprocess

    html = reports["zh"].html.read_text(encoding="utf-8")
    page = tmp_path / "zh.html"
    page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    res = _probe(page, tmp_path)
    assert res["cjk"] > 300 and res["cjk"] > res["latin"] / 4, res      # the page reads as Chinese
    assert res["status"] == ["loaded"] and res["check"] and res["drawn"], res
    # the same page without its embedded font: the probe sees the difference (where no system CJK font exists,
    # the heading is drawn as boxes, exactly like the non-existent family)
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"@font-face\{[^}]*\}", "", html).replace("</body>", PROBE + "</body>"), encoding="utf-8")
    without = _probe(bare, tmp_path)
    assert without["status"] == [] and not without["drawn"], without
    # and a screenshot of the page for a person to look at
    shot = tmp_path / "zh.png"
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'chromium-shot'}", "--window-size=1280,1600",
                           "--virtual-time-budget=8000", f"--screenshot={shot}", page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.stat().st_size > 20_000, proc.stderr[-2000:]


def test_demo_command_runs_the_workflow_in_the_chosen_language(monkeypatch):
    import argparse

    import siting.workflow
    from siting.commands import demo as demo_command

    parser = argparse.ArgumentParser()
    demo_command.register(parser.add_subparsers())
    seen = []
    monkeypatch.setattr(siting.workflow, "run_demo", lambda *a, **k: seen.append(current_language()) or
                        pytest.skip("not reached"))
    args = parser.parse_args(["demo", "--lang", "zh", "--quiet"])
    with pytest.raises(pytest.skip.Exception):
        args.func(args)
    assert seen == [Language.ZH]
    bad = parser.parse_args(["demo", "--lang", "klingon"])
    with pytest.raises(ScenarioError, match="--lang = 'klingon'"):   # before any district is generated
        bad.func(bad)
    assert len(seen) == 1
