"""Collect every error-message template of the package from its source, and list those without a translation.

The English text of a message is its message id. This module walks the AST of every module and collects the
first argument of each ``InputError(...)`` / ``ScenarioError(...)`` / ``ParamError(...)`` call:

* a string literal is a template as it is;
* an f-string becomes a :meth:`str.format` template whose fields are named after the expressions
  (``f"column {name!r} is missing, got {len(xs)}"`` -> ``"column {name} is missing, got {v1}"``);
* a parameter of the enclosing function makes that function a *forwarder* (``fail(raw, problem, ...)`` in
  ``siting/data/_validate.py``, ``_Ctx.error`` in ``siting/scenario.py``): the argument in that position of
  every call to it is collected the same way, transitively;
* a local name is followed to what is assigned to it in the same function (including ``:=`` and
  ``a if c else b``); a call to a function of the same module follows that function's ``return`` values;
* the text of a caught ``InputError`` / ``ScenarioError`` / ``ParamError`` re-raised (``str(exc)``,
  ``exc.problem``) is collected where it was first raised;
* anything else (``str(exc)`` of another exception, ...) must be named in :data:`FOREIGN_SOURCES`, which says where the text of
  such a site comes from (the ``ValueError`` messages of one module, say). An unresolved site is reported, so
  a new kind of message source cannot slip past the completeness test either.

Fragments - strings assigned to a local name that a message's f-string interpolates (a hint, a suffix) -
are collected too, so the translation of a message can translate its pieces.

Run ``python -m siting.i18n.extract`` to list the templates missing from the Chinese catalog as TOML lines
ready to paste into ``siting/i18n/zh_messages.toml`` (``--all`` lists every template with where it is raised,
``--stale`` the catalog entries no code raises any more; exit status 1 while any template is missing).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

from ._walk import Extraction, ForeignSources, Module, Walker, clear_cache, needs_translation, template_of

__all__ = [
    "ERROR_CLASSES", "FOREIGN_SOURCES", "Extraction", "extract", "extract_package", "template_of",
    "missing_templates", "needs_translation",
]

#: the exception classes whose first argument is a message a user reads
ERROR_CLASSES = frozenset({
    "InputError", "ScenarioError", "ParamError",
    # the other errors a planner meets: no feasible plan, no solver, a solve that failed
    "InfeasibleError", "BackendUnavailableError", "NoSolutionError", "SolverError",
})

#: (module path relative to the package's parent, enclosing function) of a site whose message is not a
#: literal -> where its texts come from: ("raises", "ValueError", module) = the first argument of every
#: ``ValueError(...)`` in that module; ("raises", "KeyError", module) likewise.
FOREIGN_SOURCES: ForeignSources = {
    # a parameter check raises ValueError(problem); __post_init__ wraps it in ParamError(str(exc))
    ("siting/models/params.py", "ModelParams.__post_init__"): (("raises", "ValueError", "siting/models/params.py"),),
    # Instance.travel_for raises KeyError(problem); travel_of re-raises its text as an InputError
    ("siting/models/parts.py", "travel_of"): (("raises", "KeyError", "siting/data/instance.py"),),
}


def extract(sources: Mapping[str, str]) -> Extraction:
    """Templates raised by the given modules (path -> source text).

    Parameters
    ----------
    sources
        module path (as named in messages, e.g. ``"siting/data/points.py"``) -> its Python source

    Returns
    -------
    Extraction
        templates, fragments, unresolved sites and the forwarders found
    """
    # parse only what can raise: modules that call an error class, a forwarder or are named in FOREIGN_SOURCES
    foreign = {path for sources_ in FOREIGN_SOURCES.values() for _, _, path in sources_} | {p for p, _ in FOREIGN_SOURCES}
    names: set[str] = set(ERROR_CLASSES)
    parsed: dict[str, Module] = {}
    try:
        while True:
            wanted = [path for path, text in sources.items() if path not in parsed
                      and (path in foreign or any(f"{name}(" in text for name in names))]
            if not wanted:
                break
            parsed.update((path, Module(path, sources[path])) for path in wanted)
            finder = Walker(list(parsed.values()), ERROR_CLASSES, FOREIGN_SOURCES)
            finder.find_forwarders()
            names |= set(finder.forwarders)
        return Walker(list(parsed.values()), ERROR_CLASSES, FOREIGN_SOURCES).run()
    finally:
        clear_cache()


def extract_package(root: Path | None = None) -> Extraction:
    """Templates raised anywhere in the ``siting`` package (``root`` = the folder holding ``siting/``)."""
    package = Path(__file__).resolve().parents[1] if root is None else Path(root) / "siting"
    base = package.parent
    sources = {p.relative_to(base).as_posix(): p.read_text(encoding="utf-8")
               for p in sorted(package.rglob("*.py"))}
    return extract(sources)


def missing_templates(extraction: Extraction, catalog: Mapping[str, str]) -> list[str]:
    """Templates and fragments with words that the catalog does not translate, in a stable order."""
    wanted = [*extraction.templates, *extraction.fragments]
    return sorted({t for t in wanted if needs_translation(t) and t not in catalog})


def _toml_string(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)     # a JSON string is a valid TOML basic string


def main(argv: list[str] | None = None) -> int:
    """``python -m siting.i18n.extract [--all]``: print missing templates as TOML lines; exit 1 if any."""
    from .messages import load_catalog

    parser = argparse.ArgumentParser(prog="python -m siting.i18n.extract", description=__doc__.split("\n")[0])
    parser.add_argument("--all", action="store_true", help="list every template with the places it is raised")
    parser.add_argument("--stale", action="store_true", help="list catalog entries no code raises any more")
    args = parser.parse_args(argv)
    extraction = extract_package()
    catalog = load_catalog("zh")
    if args.stale:
        raised = {*extraction.templates, *extraction.fragments}
        for text in sorted(set(catalog) - raised):
            print(f"{_toml_string(text)} = {_toml_string(catalog[text])}")
        return 0
    if args.all:
        for text, places in sorted({**extraction.fragments, **extraction.templates}.items()):
            print(f"# {', '.join(places)}")
            print(f"{_toml_string(text)} = {_toml_string(catalog.get(text, ''))}")
        return 0
    missing = missing_templates(extraction, catalog)
    for site in extraction.unresolved:
        print(f"# unresolved message source (add it to FOREIGN_SOURCES in siting/i18n/extract.py): {site}")
    everywhere = {**extraction.fragments, **extraction.templates}
    for text in missing:
        print(f"# {', '.join(everywhere[text])}")
        print(f'{_toml_string(text)} = ""')
    print(f"# {len(missing)} missing of {len(everywhere)} templates; {len(extraction.unresolved)} unresolved sites",
          file=sys.stderr)
    return 1 if missing or extraction.unresolved else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
