"""README.md and README.zh-CN.md link to each other and mention the same ``siting ...`` and ``make ...`` commands."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _commands(text: str) -> set[str]:
    """``siting <command>`` for registered commands and ``make <target>`` for Makefile targets named in ``text``."""
    from siting.cli import COMMANDS

    names = {m.__name__.rsplit(".", 1)[-1] for m in COMMANDS}
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))
    found = {f"siting {c}" for c in re.findall(r"(?<![\w-])siting ([a-z]+)", text) if c in names}
    found |= {f"make {t}" for t in re.findall(r"\bmake ([a-z][a-z-]*)", text) if t in targets}
    return found


def test_both_readmes_mention_the_same_commands():
    en = (ROOT / "README.md").read_text(encoding="utf-8")
    zh = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert len(_commands(en)) >= 8
    assert _commands(en) == _commands(zh), (_commands(en) ^ _commands(zh))


def test_readmes_link_both_ways():
    en = (ROOT / "README.md").read_text(encoding="utf-8")
    zh = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "](README.zh-CN.md)" in "\n".join(en.splitlines()[:5])   # near the top
    assert "](README.md)" in "\n".join(zh.splitlines()[:5])
    assert re.search(r"[\u4e00-\u9fff]{200}", re.sub(r"[^\u4e00-\u9fff]", "", zh))  # it is a Chinese README


def test_the_check_sees_a_command_missing_from_one_readme():
    assert _commands("run `siting report S.toml` then `make demo`") == {"siting report", "make demo"}
    assert _commands("`siting report S.toml`") != _commands("`siting report S.toml`, `siting rank S.toml`")
