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

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...scenario import Scenario

__all__ = ["report_currency", "money_header"]


def report_currency(scenario: Scenario) -> str:
    """The currency code or name of ``scenario`` (see the module docstring)."""
    from ...errors import ScenarioError
    from ...services.catalog import load_catalog

    given = (scenario.report or {}).get("currency")
    if given is not None:
        if not isinstance(given, str) or not given.strip() or len(given.strip()) > 12:
            raise ScenarioError(f"expected a short currency name such as \"CNY\", got {given!r}",
                                file=None if scenario.path is None else str(scenario.path), key="report.currency")
        return given.strip()
    catalog_path = scenario.model.get("services") if scenario.model is not None else None
    path = Path(catalog_path) if isinstance(catalog_path, (str, Path)) and Path(catalog_path).is_file() else None
    currency = load_catalog(path).meta.get("currency")
    return str(currency) if currency else "CNY"


def money_header(what: str, currency: str, *, millions: bool = False) -> str:
    """A column or axis name with its unit: ``budget (CNY)``, ``budget (million CNY)``."""
    return f"{what} ({'million ' if millions else ''}{currency})"
