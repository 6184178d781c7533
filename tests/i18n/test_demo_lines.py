"""The demo's printed summary speaks the chosen language and keeps every figure."""
from pathlib import Path

from siting.i18n import Language, use_language
from siting.workflow.demo import DemoResult, summary


def _result() -> DemoResult:
    rec = {"budget": 6e7, "total_cost": 5.9e7, "selected": ["b1", "b2"], "status": "optimal",
           "stats": {"services": {"elderly_care": {"already_covered": 10, "covered": 30, "total": 100}}}}
    cmp = {"demo-district": {"per_service": {"elderly_care": {"share": 0.3}}},
           "demo-equal-weights": {"per_service": {"elderly_care": {"share": 0.1}}}}
    res = DemoResult(out_dir=Path("out"), scenario=Path("out/data/demo.toml"))
    res.seconds = {"district": 2.5, "travel": 3.0}
    res.summary = summary(rec, cmp)
    res.report = Path("out/report/report.html")
    return res


def test_the_summary_is_chinese_in_zh_with_the_same_figures() -> None:
    english = _result().lines()
    with use_language(Language.ZH):
        chinese = _result().lines()
    assert len(chinese) == len(english)
    assert chinese[0].startswith("示范区：") and any("预算（CNY）: 60,000,000" in line for line in chinese)
    assert any("改造建筑数: 2" in line for line in chinese)
    assert any("demo-district 对比 demo-equal-weights（百分点）: elderly_care +20.0" in line for line in chinese)
    assert chinese[-1] == "已写出：out/report/report.html"
    # every number of the English lines is in the Chinese ones, in the same order
    import re

    def numbers(lines: list[str]) -> list[str]:
        return re.findall(r"\d[\d,.]*", " ".join(lines))

    assert numbers(chinese) == numbers(english)
