"""Language switch shared by reports, plots, the CLI and the serve page.

One switch decides the language a planner reads: ``--lang`` on the command line, else the
scenario's ``[report] language``, else the environment variable ``SITING_LANG``, else English.
The current language lives in a :class:`contextvars.ContextVar` so two requests (two browser
tabs of ``siting serve``) can use different languages at the same time.

Figures never depend on the language: only labels, units and number formatting change.
"""
from __future__ import annotations

import contextlib
import contextvars
import enum
import os
from collections.abc import Iterator, Mapping

from siting.errors import ScenarioError

__all__ = [
    "Language",
    "LANG_ENV",
    "parse_language",
    "resolve_language",
    "current_language",
    "chosen_language",
    "use_language",
    "set_language",
]

LANG_ENV = "SITING_LANG"


class Language(str, enum.Enum):
    """A language siting writes in (the value is the code users type)."""

    EN = "en"
    ZH = "zh"

    def __str__(self) -> str:  # "zh", not "Language.ZH", in messages and file names
        return self.value

    @property
    def babel_locale(self) -> str:
        """Locale identifier for Babel number / date / currency formatting."""
        return "zh_Hans_CN" if self is Language.ZH else "en_US"


# spellings people type for the two languages; anything else is an error, never a silent fallback
_ALIASES = {
    "en": Language.EN, "english": Language.EN, "en-us": Language.EN, "en-gb": Language.EN,
    "en_us": Language.EN, "en_gb": Language.EN,
    "zh": Language.ZH, "zh-cn": Language.ZH, "zh_cn": Language.ZH, "zh-hans": Language.ZH,
    "zh_hans": Language.ZH, "chinese": Language.ZH, "中文": Language.ZH,
}


def parse_language(value: object, *, source: str = "--lang", file: str | None = None,
                   key: str | None = None) -> Language:
    """Turn a user-typed language code into a :class:`Language`.

    Parameters
    ----------
    value
        ``"en"``, ``"zh"`` (or a common spelling such as ``"zh-CN"``), or a ``Language``.
    source
        What the value came from, named in the error (``--lang``, ``[report] language``, ``SITING_LANG``).
    file
        Scenario file, named in the error when the value came from it.
    key
        The scenario key (``report.language``), named in the error instead of ``source``.

    Raises
    ------
    ScenarioError
        One line naming the source and the accepted values.
    """
    if isinstance(value, Language):
        return value
    if isinstance(value, str):
        found = _ALIASES.get(value.strip().lower())
        if found is not None:
            return found
    # one message template for every source (the zh message catalog has it); a scenario's key is named too
    raise ScenarioError(f"{source} = {value!r} is not a known language; use \"en\" or \"zh\"", file=file, key=key)


def resolve_language(
    explicit: str | Language | None,
    scenario_report: Mapping | None,
    *,
    file: str | None = None,
) -> Language:
    """Pick the language: ``--lang`` > ``[report] language`` > ``$SITING_LANG`` > English.

    Parameters
    ----------
    explicit
        The ``--lang`` value, or None when not given.
    scenario_report
        The scenario's ``[report]`` table (``Scenario.report``), or None.
    file
        Scenario file path, named in the error for a bad ``[report] language``.

    Raises
    ------
    ScenarioError
        When the chosen value is not a known language.
    """
    if explicit is not None and explicit != "":
        return parse_language(explicit, source="--lang")
    if scenario_report:
        value = scenario_report.get("language")
        if value is not None:
            return parse_language(value, source="[report] language", file=file, key="report.language")
    env_value = os.environ.get(LANG_ENV)
    if env_value:
        return parse_language(env_value, source=LANG_ENV)
    return Language.EN


_CURRENT: contextvars.ContextVar[Language | None] = contextvars.ContextVar("siting_language", default=None)


def current_language() -> Language:
    """The language in force in this context (``use_language``), else ``$SITING_LANG``, else English."""
    lang = _CURRENT.get()
    if lang is not None:
        return lang
    env_value = os.environ.get(LANG_ENV)
    if env_value:
        found = _ALIASES.get(env_value.strip().lower())
        if found is not None:
            return found
    return Language.EN


def chosen_language() -> Language | None:
    """The language a caller set with :func:`use_language` / :func:`set_language` (None when none was set).

    A command that got ``--lang`` sets it; library code then resolves ``chosen_language()`` before the
    scenario's ``[report] language`` (``resolve_language(chosen_language(), scenario.report)``).
    """
    return _CURRENT.get()


def set_language(lang: str | Language) -> contextvars.Token:
    """Set the language for the rest of this context; returns the token to reset it."""
    return _CURRENT.set(parse_language(lang))


@contextlib.contextmanager
def use_language(lang: str | Language | None) -> Iterator[Language]:
    """Run a block in ``lang`` (None keeps the current one); restores the previous language after."""
    if lang is None:
        yield current_language()
        return
    token = _CURRENT.set(parse_language(lang))
    try:
        yield _CURRENT.get()  # type: ignore[misc]
    finally:
        _CURRENT.reset(token)
