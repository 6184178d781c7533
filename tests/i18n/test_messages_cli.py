"""``siting --lang zh`` / ``SITING_LANG=zh``: the one-line error in Chinese, with the same figures."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from siting.cli import main
from siting.i18n import Language, current_language

EXAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "example"


def _scenario(tmp_path: Path, *, budget: str = "2500000", demand_rows: dict[int, str] | None = None) -> Path:
    """The example MCLP scenario in ``tmp_path``, with a budget and demand cells to break."""
    for name in ("candidates.csv", "travel_times.csv"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    lines = (EXAMPLE / "demand.csv").read_text(encoding="utf-8").splitlines()
    for index, line in (demand_rows or {}).items():
        lines[index] = line
    (tmp_path / "demand.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = (EXAMPLE / "mclp.toml").read_text(encoding="utf-8").replace("budget = 2500000", f"budget = {budget}")
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err.strip()


def _figures(text: str) -> list[str]:
    return sorted(re.findall(r"-?\d+(?:\.\d+)?", text))


@pytest.fixture(autouse=True)
def _no_env_language(monkeypatch):
    monkeypatch.delenv("SITING_LANG", raising=False)


def test_lang_zh_prints_the_chinese_error_with_the_same_figures(tmp_path, capsys):
    scenario = _scenario(tmp_path, budget="-5")
    code_en, english = _run(["solve", str(scenario), "--out", str(tmp_path / "out")], capsys)
    code_zh, chinese = _run(["--lang", "zh", "solve", str(scenario), "--out", str(tmp_path / "out")], capsys)
    assert code_en == code_zh == 2
    assert english.startswith("error: ") and "must be at least 0, got -5" in english
    assert chinese.startswith("错误：") and "至少为 0，实际为 -5" in chinese and "\n" not in chinese
    assert "model.budget" in chinese and "bad.toml" in chinese
    assert _figures(chinese) == _figures(english)          # switching languages changes no figure
    assert current_language() is Language.EN                 # main() leaves no language behind


def test_siting_lang_env_and_a_data_error_located_in_chinese(tmp_path, capsys, monkeypatch):
    scenario = _scenario(tmp_path, demand_rows={3: "D03,3x9,711,315,Jiefangbei,653229,3266999"})
    code_en, english = _run(["solve", str(scenario), "--out", str(tmp_path / "out")], capsys)
    monkeypatch.setenv("SITING_LANG", "zh")
    code_zh, chinese = _run(["solve", str(scenario), "--out", str(tmp_path / "out")], capsys)
    assert code_en == code_zh == 2
    assert "row 4" in english and "'population'" in english
    assert "第 4 行（id D03）" in chinese and "列 'population'" in chinese and "3x9" in chinese
    assert re.search(r"[\u4e00-\u9fff]", chinese.split("：", 3)[-1]), chinese   # the problem itself is Chinese
    assert _figures(chinese) == _figures(english)
    # --lang beats the environment
    code, again = _run(["--lang", "en", "solve", str(scenario), "--out", str(tmp_path / "out")], capsys)
    assert again == english


def test_an_unknown_language_is_one_line(tmp_path, capsys, monkeypatch):
    code, text = _run(["--lang", "fr", "solve", "missing.toml", "--out", str(tmp_path)], capsys)
    assert code == 2 and text.startswith("error: ") and "'fr'" in text and "\n" not in text
    monkeypatch.setenv("SITING_LANG", "klingon")
    code, text = _run(["solve", "missing.toml", "--out", str(tmp_path)], capsys)
    assert code == 2 and "SITING_LANG" in text and "'klingon'" in text
