"""The currency every money column and axis of the report names.

``[report] currency = "EUR"`` wins; else the ``[catalog] currency`` of the catalog the scenario's model uses (a
multi-service model's ``services`` file), else the shipped catalog's (``CNY``): the candidates' ``cost`` column is
documented in the catalog's currency (siting/services/default_catalog.toml).

Example
-------
>>> money_header("budget", "EUR"), money_header("budget", "EUR", millions=True)
('budget (EUR)', 'budget (million EUR)')
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

    from ...scenario import Scenario

__all__ = ["report_currency", "money_header", "money_label", "money_frame"]


def report_currency(scenario: Scenario) -> str:
    """The currency code or name of ``scenario`` (see the module docstring)."""
    from ...errors import ScenarioError

    given = (scenario.report or {}).get("currency")
    if given is not None:
        if not isinstance(given, str) or not given.strip() or len(given.strip()) > 12:
            raise ScenarioError(f"expected a short currency name such as \"CNY\", got {given!r}",
                                file=None if scenario.path is None else str(scenario.path), key="report.currency")
        return given.strip()
    from ...services.catalog import catalog_file_key

    return _catalog_currency(*catalog_file_key(scenario))


@functools.lru_cache(maxsize=32)
def _catalog_currency(path: str | None, digest: str | None) -> str:
    """The ``[catalog] currency`` of a catalog file (None: the shipped one), parsed once per content of the file.

    A command asks for it several times (tables, plot, report) and parsing the catalog costs more than the rest.
    """
    from ...services.catalog import load_catalog

    currency = load_catalog(None if path is None else Path(path)).meta.get("currency")
    return str(currency) if currency else "CNY"


def money_header(what: str, currency: str, *, millions: bool = False) -> str:
    """A column or axis name with its unit: ``budget (CNY)``, ``budget (million CNY)``."""
    return f"{what} ({'million ' if millions else ''}{currency})"


def money_label(what: str, currency: str) -> str:
    """A money column or axis name in the current language: ``budget (CNY)`` / ``预算（万元）``.

    Chinese yuan are shown in 万元 (:func:`siting.i18n.numbers.money_unit`); divide the values by
    :func:`siting.i18n.numbers.money_scale` (as :func:`money_frame` does).
    """
    from ...i18n import Language, current_language
    from ...i18n.labels import tr
    from ...i18n.numbers import money_unit

    lang = current_language()
    if lang is Language.EN:
        return money_header(what, currency)
    return f"{tr(what)}（{money_unit(currency, lang)}）"


def money_frame(df: pd.DataFrame, columns: Iterable[str], currency: str) -> pd.DataFrame:
    """``df`` with ``columns`` named by :func:`money_label` and, in Chinese yuan, their values in 万元."""
    from ...i18n import current_language
    from ...i18n.numbers import money_scale

    scale = money_scale(currency, current_language())
    out = df.copy()
    if scale != 1.0:
        for c in columns:
            if c in out:
                out[c] = out[c].map(lambda v: _scaled(v, scale))
    return out.rename(columns={c: money_label(c, currency) for c in columns if c in out})


def _scaled(value: object, scale: float) -> object:
    """A number divided by ``scale``; text (a total row's ``""``) and flags unchanged."""
    import numbers

    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value) / scale
    return value
