"""Error messages in the reader's language.

Code raises errors in English, and the English text is the message id: a raise site is never rewritten
for a translation. At display time (the CLI's one error line, the serve page) :func:`localize` renders an
error in the current language:

1. an error without a location (``InfeasibleError``, ``SolverError``, ...) is matched whole as in 3.;
2. the location part of an :class:`~siting.errors.InputError` / :class:`~siting.errors.ScenarioError`
   (file, row, id, column, key; ``parameter 'x'`` of a ``ParamError``) is rebuilt from the exception's
   attributes with the words of the catalog's ``[frame]`` table;
3. the problem is matched against the catalog's templates - the English f-string of each raise site with
   named fields (``"unknown weight column {column}{hint}; numeric columns: {have}"``), turned into a regex -
   and rendered with the Chinese template and the captured values. A captured value that is itself a
   message or a fragment of one (a hint) is translated too. Among several matching templates the one with
   the most words of its own wins; text that matches none stays English (never an error of its own).

The catalog is ``siting/i18n/<lang>_messages.toml`` (stdlib ``tomllib``, no build step).
``python -m siting.i18n.extract`` lists the templates the code raises that the catalog lacks;
``tests/i18n/test_messages.py`` fails on any.

Examples
--------
>>> from siting.errors import InputError
>>> err = InputError("must be a number, got 'abc'", file="demand.csv", row=4, column="population")
>>> localize(err, "en")
"demand.csv: row 4, column 'population': must be a number, got 'abc'"
"""
from __future__ import annotations

import functools
import re
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path

from siting.errors import FRAME_EN, InputError
from siting.i18n import Language, current_language, parse_language

__all__ = ["load_catalog", "load_words", "load_frame", "translate", "localize", "error_line", "interrupted_line"]

_HERE = Path(__file__).resolve().parent
_FIELD = string.Formatter()

#: the CLI's own words in English (the catalog's [frame] has the other languages)
_CLI_EN = {"error": "error: {message}", "interrupted": "interrupted", "param": "parameter '{param}': {problem}"}


def _catalog_path(lang: Language) -> Path:
    return _HERE / f"{lang.value}_messages.toml"


@functools.cache
def _load(lang: Language) -> dict:
    if lang is Language.EN:
        return {"messages": {}, "frame": {}}
    with _catalog_path(lang).open("rb") as fh:
        return tomllib.load(fh)


def load_catalog(lang: str | Language) -> dict[str, str]:
    """English template -> template in ``lang`` (empty for English)."""
    return dict(_load(parse_language(lang)).get("messages", {}))


def load_frame(lang: str | Language) -> dict[str, str]:
    """The words around a message in ``lang``: :data:`siting.errors.FRAME_EN`'s keys and the CLI's."""
    return {**FRAME_EN, **_CLI_EN, **_load(parse_language(lang)).get("frame", {})}


@dataclass(frozen=True)
class _Template:
    pattern: re.Pattern[str]
    prefix: str          # the literal text before the first field: a cheap filter before the regex
    suffix: str
    words: int           # length of the literal text: the most specific matching template wins
    target: str
    weak: bool           # next to no words of its own ("{word} {what} {values}"): used only when its word fields translate
    adjacent: tuple[tuple[str, str], ...]   # fields with nothing between ("{source}{hint}"): split by meaning


def _compile(source: str, target: str) -> _Template:
    parts: list[str] = []
    seen: set[str] = set()
    literals: list[str] = []
    for literal, name, _spec, _conv in _FIELD.parse(source):
        parts.append(re.escape(literal))
        literals.append(literal)
        if name is None:
            continue
        if name in seen:
            parts.append(f"(?P={name})")
        else:
            seen.add(name)
            parts.append(f"(?P<{name}>.*?)")
    pieces = list(_FIELD.parse(source))
    prefix = pieces[0][0] if pieces else ""
    suffix = pieces[-1][0] if pieces and pieces[-1][1] is None else ""
    letters = sum(ch.isalpha() for ch in "".join(literals))
    adjacent = tuple((a[1], b[1]) for a, b in zip(pieces, pieces[1:], strict=False)
                     if a[1] is not None and b[1] is not None and b[0] == "" and a[1] != b[1])
    return _Template(re.compile("".join(parts), re.DOTALL), prefix, suffix, len("".join(literals)), target,
                     weak=letters < 3, adjacent=adjacent)


def _split_adjacent(values: dict[str, str], adjacent: tuple[tuple[str, str], ...], language: Language,
                    depth: int) -> dict[str, str]:
    """Re-split ``{a}{b}``: ``b`` is the longest tail that is a known fragment (a hint), else empty.

    A regex cannot tell where ``{source}`` ends and ``{hint}`` begins; a hint is a translated fragment
    such as " (did you mean 'x'?)", and without one the second field is empty.
    """
    out = dict(values)
    for first, second in adjacent:
        joined = out[first] + out[second]
        split = len(joined)
        for at in range(len(joined)):
            if joined[at] in " ;,(" and translate(joined[at:], language, _depth=depth + 1) != joined[at:]:
                split = at
                break
        out[first], out[second] = joined[:split], joined[split:]
    return out


def load_words(lang: str | Language) -> dict[str, str]:
    """Single words code passes into messages (``what="population"``) -> in ``lang``."""
    return dict(_load(parse_language(lang)).get("words", {}))


@functools.cache
def _word_fields(lang: Language) -> frozenset[str]:
    """The fields whose values are words of ours (``what``), not the user's names (a column ``population``)."""
    return frozenset(_load(lang).get("word_fields", ()))


@functools.cache
def _templates(lang: Language, words: bool = False) -> tuple[_Template, ...]:
    entries = {**(load_words(lang) if words else {}), **load_catalog(lang)}
    compiled = [_compile(source, target) for source, target in entries.items() if target]
    return tuple(sorted(compiled, key=lambda t: -t.words))


def _words_translated(before: dict[str, str], after: dict[str, str], wordy: frozenset[str]) -> bool:
    """Whether a wordless template ("{word} {what} {values}") is the right one.

    It is when each of its word fields (``what``, ``word``, ...) holds one of our words, so the split fell
    where the code put it.
    """
    fields = [k for k in before if k in wordy]
    return bool(fields) and all(after[k] != before[k] for k in fields)


def translate(text: str, lang: str | Language | None = None, *, _depth: int = 0, _words: bool = False) -> str:
    """``text`` (an English message or a piece of one) in ``lang``; unchanged when no template matches.

    Parameters
    ----------
    text
        the English text, as the code raised it
    lang
        the target language; the current one (:func:`siting.i18n.current_language`) when None

    Examples
    --------
    >>> translate("interrupted", "en")
    'interrupted'
    """
    language = current_language() if lang is None else parse_language(lang)
    if language is Language.EN or not text:
        return text
    for template in _templates(language, _words):
        if not (text.startswith(template.prefix) and text.endswith(template.suffix)):
            continue
        match = template.pattern.fullmatch(text)
        if match is None:
            continue
        values = match.groupdict()
        if template.adjacent and _depth < 3:
            values = _split_adjacent(values, template.adjacent, language, _depth)
        if _depth < 3:
            wordy = _word_fields(language)
            translated = {k: translate(v, language, _depth=_depth + 1, _words=k in wordy) for k, v in values.items()}
            if template.weak and not _words_translated(values, translated, wordy):
                continue
            values = translated
        elif template.weak:
            continue
        try:
            return template.target.format(**values)
        except (KeyError, IndexError, ValueError):  # a catalog entry with a field the English lacks
            return text
    # a caught error's text re-raised behind a prefix ("network.stairs: <message>"): translate the message
    head, sep, rest = text.partition(": ")
    while sep and _depth < 3:
        tail = translate(rest, language, _depth=3)
        if tail != rest:
            return f"{head}{sep}{tail}"
        more, sep, rest = rest.partition(": ")
        head = f"{head}: {more}"
    return text


def _problem_of(exc: InputError) -> tuple[str, str | None]:
    """The bare problem and the parameter a ``ParamError`` names (its message starts ``parameter 'x': ``)."""
    param = getattr(exc, "param", None)
    head = f"parameter '{param}': "
    if param is not None and exc.problem.startswith(head):
        return exc.problem[len(head):], str(param)
    return exc.problem, None


def localize(exc: BaseException, lang: str | Language | None = None) -> str:
    """The one-line message of ``exc`` in ``lang`` (the current language when None).

    Figures, file names, ids, columns and keys are carried over as they are; only words change.
    """
    language = current_language() if lang is None else parse_language(lang)
    if language is Language.EN:
        return str(exc)
    if isinstance(exc, InputError):
        frame = load_frame(language)
        problem, param = _problem_of(exc)
        text = translate(problem, language)
        if param is not None:
            text = frame["param"].format(param=param, problem=text)
        return exc.located(text, frame)        # a ScenarioError puts its key there
    return translate(str(exc), language)


def error_line(exc: BaseException, lang: str | Language | None = None) -> str:
    """``error: <message>`` as the CLI prints it, in ``lang``."""
    language = current_language() if lang is None else parse_language(lang)
    return load_frame(language)["error"].format(message=localize(exc, language))


def interrupted_line(lang: str | Language | None = None) -> str:
    """What the CLI prints on Ctrl-C, in ``lang``."""
    language = current_language() if lang is None else parse_language(lang)
    return load_frame(language)["interrupted"]
