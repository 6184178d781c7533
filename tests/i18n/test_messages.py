"""Every error message exists in Chinese, and the Chinese line carries the same figures as the English one."""
from __future__ import annotations

import re
import string

import pytest

from siting.errors import InputError, ScenarioError
from siting.i18n import Language, current_language
from siting.i18n.extract import extract, extract_package, missing_templates, needs_translation
from siting.i18n.messages import error_line, load_catalog, load_frame, load_words, localize, translate
from siting.models.params import ParamError

ZH = re.compile(r"[\u4e00-\u9fff]")
ZH_OR_PUNCTUATION = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")  # "ortools/cbc：{err}" is Chinese


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


@pytest.fixture(scope="module")
def package():
    return extract_package()


@pytest.fixture(scope="module")
def catalog():
    return load_catalog("zh")


# --------------------------------------------------------------------------- completeness
def test_every_message_of_the_package_has_a_chinese_text(package, catalog):
    assert len(package.templates) > 150          # the walk finds the raise sites (about 200 in 2026-11)
    missing = missing_templates(package, catalog)
    assert not missing, ("messages without a Chinese text; run `python -m siting.i18n.extract` and fill them in "
                         f"siting/i18n/zh_messages.toml: {missing[:10]}")


def test_every_message_source_is_traced(package):
    assert not package.unresolved, ("raise sites whose text cannot be traced; add them to FOREIGN_SOURCES in "
                                    f"siting/i18n/extract.py: {package.unresolved}")


def test_forwarders_of_the_package_are_found(package):
    # siting/data/_validate.py's fail(raw, problem, ...) and siting/scenario.py's ctx.error(problem, key)
    assert package.forwarders.get("fail") == 1
    assert package.forwarders.get("error") == 0
    # a ParamError wraps the ValueError of a parameter check: FOREIGN_SOURCES sends the walk there
    assert "must be greater than {gt}, got {v}" in package.templates


SYNTHETIC = '''
from siting.errors import InputError, ScenarioError

def helper(raw, problem, *, column=None):
    return InputError(problem, file=raw, column=column)

def late(problem):
    text = problem(3) if callable(problem) else problem
    raise helper("t.csv", text)

def check(value, name):
    if value < 0:
        raise InputError(f"a brand-new problem with {name!r}: {value:g} below {len(name)}")
    hint = " (a brand-new hint)" if value else ""
    raise helper("t.csv", f"a forwarded problem{hint}", column=name)
    late(lambda p: f"a late problem at {p}")

def rewrap(exc):
    raise ScenarioError(str(exc))
'''


def test_a_new_untranslated_message_fails_the_check(catalog):
    found = extract({"siting/synthetic.py": SYNTHETIC})
    missing = missing_templates(found, catalog)
    assert "a brand-new problem with {name}: {value} below {count}" in missing
    assert "a forwarded problem{hint}" in missing             # through a helper that forwards its argument
    assert "a late problem at {p}" in missing                 # through a helper and a lambda
    assert " (a brand-new hint)" in missing                   # a piece interpolated into a message
    assert found.forwarders == {"helper": 1, "late": 0}
    # the text of a foreign exception cannot be traced: the site is reported, not skipped
    assert [site.split(" ")[1] for site in found.unresolved] == ["(rewrap)"]
    # and a translation makes it complete
    done = {**catalog, **{t: "新的" + "".join("{" + f + "}" for f in sorted(_fields(t))) for t in missing}}
    assert missing_templates(found, done) == []


# --------------------------------------------------------------------------- the catalog itself
def test_chinese_texts_have_the_fields_of_the_english(catalog):
    assert catalog
    for english, chinese in {**catalog, **load_words("zh")}.items():
        assert chinese.strip(), f"empty translation of {english!r}"
        assert _fields(chinese) == _fields(english), f"fields differ: {english!r} -> {chinese!r}"
        if needs_translation(english):
            assert ZH_OR_PUNCTUATION.search(chinese), f"not Chinese: {english!r} -> {chinese!r}"


def test_frame_has_every_english_word():
    frame, english = load_frame("zh"), load_frame("en")
    assert set(frame) == set(english)
    for key, text in english.items():
        assert _fields(frame[key]) == _fields(text), key


def _sample(template: str) -> dict[str, str]:
    # values no template translates, with digits so figures can be followed through; the second of two
    # adjacent fields ("{source}{hint}") is a hint, empty here (a real hint is tested below)
    pieces = list(string.Formatter().parse(template))
    hints = {b[1] for a, b in zip(pieces, pieces[1:], strict=False) if a[1] is not None and b[1] is not None and b[0] == ""}
    return {name: "" if name in hints else f"X{i}7.5Q" for i, name in enumerate(sorted(_fields(template)))}


def test_each_message_renders_as_its_own_chinese_text_with_the_same_values(catalog):
    wrong = []
    for english, chinese in catalog.items():
        values = _sample(english)
        if not needs_translation(english):
            continue
        if sum(ch.isalpha() for ch in re.sub(r"\{[^{}]*\}", "", english)) < 3:
            continue                           # a wordless template ("{a} {b}") is used only around translated values
        got = translate(english.format(**values), "zh")
        want = chinese.format(**values)
        if got != want:
            wrong.append((english, got, want))
    assert not wrong, f"{len(wrong)} messages render as another template: {wrong[:5]}"


# --------------------------------------------------------------------------- display
def _figures(text: str) -> list[str]:
    return sorted(re.findall(r"-?\d+(?:\.\d+)?", text))


def test_input_error_location_and_figures_in_chinese():
    err = InputError("non-numeric population '3,1a'", file="demand.csv", row=4, row_id="D07", column="population")
    zh = localize(err, "zh")
    assert zh == "demand.csv：第 4 行（id D07），列 'population'：人口不是数值：'3,1a'"
    assert _figures(zh) == _figures(str(err))
    assert localize(err, "en") == str(err)
    feature = InputError("missing id", file="demand.geojson", feature=12, column="id")
    assert localize(feature, "zh") == "demand.geojson：第 12 个要素，列 'id'：缺少 id"


def test_scenario_and_parameter_errors_in_chinese():
    err = ScenarioError("unknown key (did you mean 'budget'?); allowed: budget, max_sites", file="s.toml",
                        key="model.budgt")
    assert localize(err, "zh") == "s.toml：键 'model.budgt'：未知的键（是否想写 'budget'？）；允许的键：budget, max_sites"
    param = ParamError("must be greater than 0, got -2.5", param="budget")
    assert localize(param, "zh") == "参数 'budget'：必须大于 0，实际为 -2.5"
    assert error_line(param, "zh").startswith("错误：")
    assert error_line(param, "en") == "error: parameter 'budget': must be greater than 0, got -2.5"


def test_other_errors_a_planner_meets_are_translated_whole():
    from siting.errors import InfeasibleError

    err = InfeasibleError("mclp: budget 1,000 is below the cost of the 3 required sites (2,500)")
    assert localize(err, "zh") == "mclp：预算 1,000 低于 3 个必选场地的费用（2,500）"
    assert error_line(err, "en") == f"error: {err}"


def test_a_hint_beside_another_value_is_split_off_and_translated():
    english = "no column 'popualtion' in demand.csv (did you mean 'population'?)"
    assert translate(english, "zh") == "demand.csv 中没有列 'popualtion'（是否想写 'population'？）"
    assert translate("no column 'popualtion' in demand.csv", "zh") == "demand.csv 中没有列 'popualtion'"


def test_words_of_the_code_translate_but_names_of_the_user_do_not():
    # number_column(..., what="population") -> "negative population -3": word fields carry our words
    assert translate("negative population -3", "zh") == "人口为负值 -3"
    # a user's column named like one of our words stays as the user wrote it
    assert translate("no column 'population' in d.csv", "zh") == "d.csv 中没有列 'population'"


def test_an_unknown_message_stays_english_and_whole():
    err = InputError("a message nobody has translated yet: 42 rows", file="x.csv")
    assert localize(err, "zh") == "x.csv：a message nobody has translated yet: 42 rows"
    # a caught message re-raised behind a prefix still translates
    assert translate("network.stairs: speed profile needs at least one group", "zh") == \
        "network.stairs: 速度配置至少需要一个人群"


def test_language_follows_the_context(monkeypatch):
    from siting.i18n import use_language

    monkeypatch.delenv("SITING_LANG", raising=False)
    err = InputError("missing id", file="d.csv", row=2)
    assert localize(err) == "d.csv: row 2: missing id"
    with use_language("zh"):
        assert localize(err) == "d.csv：第 2 行：缺少 id"
    monkeypatch.setenv("SITING_LANG", "zh")
    assert current_language() is Language.ZH
    assert localize(err) == "d.csv：第 2 行：缺少 id"
