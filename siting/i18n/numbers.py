"""Money, numbers and dates as a planner writes them, per language (Babel's CLDR data).

Chinese budgets are written in 万元 (10^4 yuan) and 亿元 (10^8 yuan); English ones with thousands separators
and the currency. Only the text changes: every figure in a CSV or ``solution.json`` stays in yuan.

Examples
--------
>>> format_money(60_000_000, "CNY", "zh"), format_money(60_000_000, "CNY", "en")
('6,000万元', '60,000,000 CNY')
>>> format_money(1_250_000_000, "CNY", "zh"), format_money(3_456, "CNY", "zh")
('12.5亿元', '3,456元')
>>> money_unit("CNY", "zh"), money_scale("CNY", "zh"), money_unit("EUR", "zh")
('万元', 10000.0, 'EUR')
"""
from __future__ import annotations

import datetime as _dt
import math

from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import format_decimal, format_percent

from . import Language, current_language

__all__ = ["format_money", "money_unit", "money_scale", "format_number", "format_share", "format_date",
           "format_datetime", "YUAN_CODES", "is_yuan"]

#: currency names that mean Chinese yuan (the catalog says "CNY"; scenarios sometimes say "yuan" or "元")
YUAN_CODES = frozenset({"CNY", "RMB", "YUAN", "元", "人民币"})

WAN = 1e4
YI = 1e8


def _lang(lang: Language | str | None) -> Language:
    return current_language() if lang is None else Language(str(lang))


def is_yuan(currency: str) -> bool:
    """True for every spelling of the Chinese yuan (CNY, RMB, yuan, 元, 人民币)."""
    return str(currency).strip().upper() in YUAN_CODES or str(currency).strip() in YUAN_CODES


def format_number(value: float, lang: Language | str | None = None, *, digits: int = 0) -> str:
    """``value`` with the locale's grouping and at most ``digits`` decimals (``—`` for NaN / None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=_lang(lang).babel_locale)


def format_share(share: float, lang: Language | str | None = None, *, digits: int = 1) -> str:
    """A fraction (0-1) as a percentage with ``digits`` decimals (``—`` for NaN / None)."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
    return format_percent(share, format=pattern, locale=_lang(lang).babel_locale)


def money_unit(currency: str, lang: Language | str | None = None) -> str:
    """The unit a money column is shown in: ``万元`` for yuan in Chinese, else the currency."""
    return "万元" if _lang(lang) is Language.ZH and is_yuan(currency) else str(currency)


def money_scale(currency: str, lang: Language | str | None = None) -> float:
    """What one unit of :func:`money_unit` is worth in the currency (10,000 for 万元, else 1)."""
    return WAN if _lang(lang) is Language.ZH and is_yuan(currency) else 1.0


def format_money(amount: float, currency: str, lang: Language | str | None = None) -> str:
    """One amount as text: ``6,000万元`` / ``12.5亿元`` in Chinese, ``60,000,000 CNY`` in English.

    Chinese yuan amounts of at least one 亿 are given in 亿元 with up to 2 decimals, of at least one 万 in 万元
    with up to 2 decimals, smaller ones in 元; other currencies keep their code after the number.
    """
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return "—"
    lang = _lang(lang)
    if lang is Language.ZH and is_yuan(currency):
        size = abs(float(amount))
        if size >= YI:
            return f"{format_number(amount / YI, lang, digits=2)}亿元"
        if size >= WAN:
            return f"{format_number(amount / WAN, lang, digits=2)}万元"
        return f"{format_number(amount, lang)}元"
    return f"{format_number(amount, lang)} {currency}"


def format_date(day: _dt.date, lang: Language | str | None = None) -> str:
    """A date in the locale's long form: ``2026年11月29日`` / ``November 29, 2026``."""
    return _babel_date(day, format="long", locale=_lang(lang).babel_locale)


def format_datetime(moment: _dt.datetime, lang: Language | str | None = None) -> str:
    """A UTC timestamp in the locale's medium form (report stamps)."""
    return _babel_datetime(moment, format="medium", tzinfo=_dt.UTC, locale=_lang(lang).babel_locale) + " UTC"
