"""Budget lists of sweeps and rankings: validation and the file-name form of one budget.

Example
-------
>>> parse_budgets(["40M", "2.5e7", 1_000, "1,000"])
[1000.0, 25000000.0, 40000000.0]
>>> budget_key(6e7), budget_key(1234.5)
('60000000', '1234.5')
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from ..errors import ScenarioError

__all__ = ["budget_key", "parse_budgets"]

_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9}


def budget_key(budget: float) -> str:
    """File-name form of a budget: ``60000000`` for whole yuan, ``1234.5`` otherwise."""
    b = float(budget)
    return str(int(b)) if b.is_integer() else repr(b)


def parse_budgets(values: Iterable[object], *, file: str | None = None, key: str = "budgets") -> list[float]:
    """Validate budgets (numbers > 0, finite; ``1e6``/``"60M"``/``"2.5e7"`` accepted); sorted, unique.

    Raises
    ------
    ScenarioError
        One line naming ``file`` and ``key`` for a value that is not a positive number, or an empty list.
    """
    out: list[float] = []
    for raw in values:
        v = raw
        if isinstance(raw, str):
            s = raw.strip().replace(",", "").replace("_", "")
            mult = 1.0
            if s[-1:].upper() in _SUFFIX:
                mult = _SUFFIX[s[-1].upper()]
                s = s[:-1]
            try:
                v = float(s) * mult
            except ValueError:
                raise ScenarioError(f"budget {raw!r} is not a number", file=file, key=key) from None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ScenarioError(f"budget {raw!r} must be a number, got {type(raw).__name__}", file=file, key=key)
        if not math.isfinite(v) or v <= 0:
            raise ScenarioError(f"budgets must be positive, got {raw!r}", file=file, key=key)
        out.append(float(v))
    if not out:
        raise ScenarioError("no budgets given", file=file, key=key)
    return sorted(set(out))
