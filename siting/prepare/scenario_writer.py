"""A ``scenario.toml`` that ``siting solve`` reads as written: the prepared layers, a [network] and an MCLP.

Values are written with :func:`toml_value` (TOML basic strings share JSON's escapes), and the result is read
back with :func:`siting.scenario.load_scenario` by the caller's tests, so a key the loader refuses fails there.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["toml_value", "render_scenario"]


def toml_value(value: Any) -> str:
    r"""One TOML value: text, bool, number, or a list of them.

    Examples
    --------
    >>> toml_value('a"b'), toml_value(True), toml_value(2.5e6), toml_value(["x", 1])
    ('"a\\"b"', 'true', '2500000', '["x", 1]')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML cannot hold {value!r}")
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def render_scenario(*, description: str, comments: Sequence[str],
                    sections: Mapping[str, Mapping[str, Any]]) -> str:
    """The TOML text: a comment block, ``description``, then each ``[section]`` with ``key = value`` lines.

    A value given as ``(value, "comment")`` gets the comment at the end of its line.

    Examples
    --------
    >>> print(render_scenario(description="d", comments=["c"], sections={"model": {"type": ("mclp", "why")}}))
    # c
    description = "d"
    <BLANKLINE>
    [model]
    type = "mclp"   # why
    <BLANKLINE>
    """
    lines = [f"# {c}" if c else "#" for c in comments]
    lines.append(f"description = {toml_value(description)}")
    for name, table in sections.items():
        lines += ["", f"[{name}]"]
        for key, value in table.items():
            note = None
            if isinstance(value, tuple):
                value, note = value
            lines.append(f"{key} = {toml_value(value)}" + (f"   # {note}" if note else ""))
    return "\n".join(lines) + "\n"
