"""Every literal the package passes to ``tr(...)`` has a Chinese text (an edited English label loses it silently)."""
from __future__ import annotations

import ast
from pathlib import Path

import siting
from siting.i18n.labels import ZH

PACKAGE = Path(siting.__file__).resolve().parent


def tr_literals(source: str) -> list[tuple[int, str]]:
    """``(line, text)`` of every ``tr("...")`` / ``tr_note("...")`` call with a literal first argument."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("tr", "tr_note") \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            out.append((node.lineno, node.args[0].value))
    return out


def test_every_tr_literal_has_a_chinese_text() -> None:
    missing = [f"{path.relative_to(PACKAGE)}:{line}: {text[:70]!r}"
               for path in sorted(PACKAGE.rglob("*.py"))
               for line, text in tr_literals(path.read_text(encoding="utf-8")) if text not in ZH]
    assert not missing, "labels without a Chinese text (add them to siting/i18n/labels.py ZH):\n" + "\n".join(missing)


def test_the_check_sees_a_missing_label() -> None:
    assert tr_literals('x = tr("a label nobody translated")') == [(1, "a label nobody translated")]
    assert "a label nobody translated" not in ZH
