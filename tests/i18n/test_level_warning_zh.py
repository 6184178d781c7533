"""The warning for a priority level its stage did not prove reads in Chinese in a Chinese report.

The solve's warnings are joined by "; " and a level's line contains one itself, so the report rebuilds each
level's line from the record's ``priority_levels`` and translates it whole.
"""
from __future__ import annotations

from siting.i18n import Language, use_language
from siting.i18n.labels import use_terms
from siting.i18n.messages import translate
from siting.models.levels import unproven_levels
from siting.workflow.reporting import _message

ROWS = [
    {"level": 1, "services": ["elderly_care"], "termination": "time_limit", "value": 0.569, "bound": 0.577,
     "gap": 0.0139, "held_at": 0.5121, "tolerance": 0.1},
    {"level": 2, "services": ["childcare", "kindergarten"], "termination": "time_limit", "value": 0.0897,
     "bound": None, "gap": None},
    {"level": 3, "services": ["health_station"], "termination": "optimal", "value": 0.2, "bound": 0.2, "gap": 0.0},
]


def test_each_unproven_level_reads_in_chinese_and_keeps_its_figures() -> None:
    lines = unproven_levels(ROWS)
    assert len(lines) == 2          # the proven level 3 has no line
    message = "12 new sites, cost 3,000,000, 41.0% of the weight covered; warning: " + "; ".join(lines) \
        + "; some other warning"
    with use_language(Language.ZH), use_terms({"elderly_care": "日间照料中心"}):
        text = _message(message, True, {"priority_levels": ROWS})
    assert "not proven" not in text and "its bound" not in text and "no bound" not in text
    assert text.count("未证明最优") == 2 and "没有上界" in text and "其上界为 0.577（差距 1.4 %）" in text
    # the tolerance's wording and every figure survive
    assert "0.5121（该阶段达到 0.569，减去 priority_tolerance 0.1）" in text
    # services by the report's Chinese names (a key without one stays a key), the termination in words
    assert "优先级 1（日间照料中心）未证明最优（达到时间上限）" in text and "托育、kindergarten" in text and "0.0897" in text
    assert "elderly_care" not in text and "time_limit" not in text
    assert "some other warning" in text


def test_without_the_record_rows_a_single_level_line_still_translates() -> None:
    line = unproven_levels(ROWS[:1])[0]
    assert "未证明最优" in translate(line, "zh")
    with use_language(Language.ZH):
        assert "未证明最优" in _message(f"1 new sites, cost 1, 1.0% of the weight covered; warning: {line}", True)


def test_english_reports_keep_the_message() -> None:
    message = "1 new sites, cost 1; warning: " + "; ".join(unproven_levels(ROWS))
    assert _message(message, False, {"priority_levels": ROWS}) == message
