"""The AST walk behind :mod:`siting.i18n.extract`: message templates, forwarders and fragments of modules."""
from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass, field

__all__ = ["Extraction", "ForeignSources", "Module", "Walker", "needs_translation", "template_of", "clear_cache"]

#: (module path, enclosing function) -> where the texts of its untraceable sites come from (see extract.py)
ForeignSources = dict[tuple[str, str], tuple[tuple[str, str, str], ...]]


@dataclass
class Extraction:
    """What :func:`extract` found.

    Attributes
    ----------
    templates
        message template -> the ``path:line`` places it is raised from
    fragments
        pieces interpolated into messages (hints, suffixes) -> places
    unresolved
        ``path:line (function)`` of sites whose text could not be traced and are not in FOREIGN_SOURCES
    forwarders
        function name -> index of the argument it forwards into an error
    """

    templates: dict[str, list[str]] = field(default_factory=dict)
    fragments: dict[str, list[str]] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)
    forwarders: dict[str, int] = field(default_factory=dict)

    def add(self, table: dict[str, list[str]], text: str, where: str) -> None:
        """Record that ``text`` is raised at ``where`` (``path:line``)."""
        table.setdefault(text, []).append(where)


def needs_translation(template: str) -> bool:
    """Whether a template has words of its own (``"{path}: {exc}"`` has none and reads the same in Chinese)."""
    literal = "".join(part for part, *_ in _parse(template))
    return re.search(r"[A-Za-z]{2,}", literal) is not None


def _parse(template: str) -> list[tuple[str, str | None, str | None, str | None]]:
    return list(string.Formatter().parse(template))


#: calls that only convert their first argument: the field is named after the argument
_CONVERSIONS = frozenset({"str", "repr", "int", "float", "sorted", "list", "tuple", "set", "abs", "round", "_one_line"})


def _field_name(expr: ast.expr, index: int) -> str:
    """A readable field name for an interpolated expression: its variable or attribute name, else ``v<i>``.

    ``type(x).__name__`` is ``type``, ``len(xs)`` is ``count``, ``", ".join(xs)`` is ``items``.
    """
    node = expr
    while isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Name):
        return node.id.strip("_") or f"v{index}"
    if isinstance(node, ast.Attribute):
        return "type" if node.attr == "__name__" else node.attr.strip("_") or f"v{index}"
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            if node.func.id == "len":
                return "count"
            if node.func.id in _CONVERSIONS and node.args:
                return _field_name(node.args[0], index)
            return node.func.id.strip("_") or f"v{index}"
        if isinstance(node.func, ast.Attribute):
            return "items" if node.func.attr == "join" else node.func.attr.strip("_") or f"v{index}"
    return f"v{index}"


def template_of(node: ast.expr) -> str | None:
    """The ``str.format`` template of a string literal or f-string (None for anything else).

    Examples
    --------
    >>> template_of(ast.parse('f"column {col!r} of {self.file}: {len(x):d} {col}"', mode="eval").body)
    'column {col} of {file}: {count} {col}'
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if not isinstance(node, ast.JoinedStr):
        return None
    parts: list[str] = []
    names: dict[str, str] = {}            # expression source -> field name
    for index, value in enumerate(node.values):
        if isinstance(value, ast.Constant):
            parts.append(str(value.value).replace("{", "{{").replace("}", "}}"))
            continue
        assert isinstance(value, ast.FormattedValue)
        source = ast.unparse(value.value)
        if source not in names:
            name = _field_name(value.value, index)
            while name in names.values():
                name += "_"
            names[source] = name
        parts.append("{" + names[source] + "}")
    return "".join(parts)


def _concatenations(node: ast.expr) -> list[str] | None:
    """Every template ``a + (b if c else d)`` can produce, when each piece is a literal or f-string."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _concatenations(node.left), _concatenations(node.right)
        if left is None or right is None:
            return None
        return [a + b for a in left for b in right]
    if isinstance(node, ast.IfExp):
        body, orelse = _concatenations(node.body), _concatenations(node.orelse)
        return None if body is None or orelse is None else [*body, *orelse]
    text = template_of(node)
    return None if text is None else [text]


#: a function and its qualified name (``Class.method``, ``outer.inner``)
_Func = tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]


class Module:
    """One parsed module: its functions, its calls by name and each call's enclosing function."""

    """One parsed module: its functions by name and by qualified name, with parents to find enclosing ones."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.tree = ast.parse(source)
        self.functions: dict[str, list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]] = {}
        self.enclosing: dict[int, _Func] = {}
        self.calls_by_name: dict[str, list[ast.Call]] = {}
        self._walk(self.tree, "", None)
        self._index_calls()

    def _walk(self, node: ast.AST, prefix: str, func: _Func | None) -> None:
        # statements only (defs sit in bodies of defs, classes, if/try/with/for); expressions via ast.walk below
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qual = prefix + child.name
                self.functions.setdefault(child.name, []).append((qual, child))
                self._walk(child, qual + ".", (qual, child))
            elif isinstance(child, ast.ClassDef):
                self._walk(child, prefix + child.name + ".", func)
            elif isinstance(child, ast.stmt):
                self._walk(child, prefix, func)

    def _index_calls(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and (name := _called_name(node)) is not None:
                self.calls_by_name.setdefault(name, []).append(node)
        # outer functions first, so a nested function's calls end up attributed to the nested one
        for qual, func in sorted((f for fs in self.functions.values() for f in fs), key=lambda f: f[0].count(".")):
            for node in ast.walk(func):
                if isinstance(node, ast.Call):
                    self.enclosing[id(node)] = (qual, func)

    def calls(self, name: str) -> list[ast.Call]:
        """The calls of a function or method called ``name`` in this module."""
        return self.calls_by_name.get(name, [])


#: the argument index of a keyword-only forwarded parameter (never positional)
_KEYWORD_ONLY = 10**6


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _positional_params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    names = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
    return names


def _is_method(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    params = _positional_params(func)
    return bool(params) and params[0] in ("self", "cls")


def _argument(call: ast.Call, index: int, name: str) -> ast.expr | None:
    """The argument bound to parameter ``name`` at positional ``index`` of ``call``."""
    if index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
        return call.args[index]
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


#: id(function node) -> (the node, local name -> values assigned to it); emptied after each extract()
_ASSIGNMENTS: dict[int, tuple[ast.AST, dict[str, list[ast.expr]]]] = {}


def _assigned(func: ast.AST, name: str) -> list[ast.expr]:
    """Every value assigned to local ``name`` in ``func`` (``=``, annotated ``=``, ``:=``)."""
    cached = _ASSIGNMENTS.get(id(func))
    if cached is None:
        table: dict[str, list[ast.expr]] = {}
        for node in ast.walk(func):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        table.setdefault(target.id, []).append(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                table.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, ast.NamedExpr):
                table.setdefault(node.target.id, []).append(node.value)
        cached = _ASSIGNMENTS[id(func)] = (func, table)
    return cached[1].get(name, [])


def _param_behind(func: ast.FunctionDef | ast.AsyncFunctionDef, node: ast.expr) -> ast.Name | None:
    """The parameter of ``func`` a message argument stands for, or None when it is not a parameter.

    That is the argument itself, or a local computed from it (``text = problem(pos) if callable(problem) else
    problem``).
    """
    params = {a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)}
    if not isinstance(node, ast.Name):
        return None
    if node.id in params:
        return node
    for value in _assigned(func, node.id):
        for sub in ast.walk(value):
            if isinstance(sub, ast.Name) and sub.id in params:
                return sub
    return None


def _caught_error_text(node: ast.expr, func: ast.AST, error_classes: frozenset[str]) -> bool:
    """Whether ``node`` reads an exception bound by ``except InputError as exc`` (or another of ours)."""
    caught: set[str] = set()
    for handler in ast.walk(func):
        if isinstance(handler, ast.ExceptHandler) and handler.name and handler.type is not None:
            types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            names = {t.id if isinstance(t, ast.Name) else getattr(t, "attr", None) for t in types}
            if names & error_classes:
                caught.add(handler.name)
    return any(isinstance(n, ast.Name) and n.id in caught for n in ast.walk(node))


def _returns(func: ast.AST) -> list[ast.expr]:
    return [n.value for n in ast.walk(func) if isinstance(n, ast.Return) and n.value is not None]


class Walker:
    """One walk over parsed modules: forwarders first, then every message argument."""

    def __init__(self, modules: list[Module], error_classes: frozenset[str], foreign_sources: ForeignSources) -> None:
        self.modules = modules
        self.error_classes = error_classes
        self.foreign_sources = foreign_sources
        self.out = Extraction()
        # forwarder name -> (argument index at the call site, parameter name)
        self.forwarders: dict[str, tuple[int, str]] = {name: (0, "problem") for name in error_classes}

    def run(self) -> Extraction:
        self.find_forwarders()
        for module in self.modules:
            for name, call in ((n, c) for n in self.forwarders for c in module.calls(n)):
                index, param = self.forwarders[name]
                arg = _argument(call, index, param)
                if arg is None:
                    continue
                func = module.enclosing.get(id(call))
                where = f"{module.path}:{call.lineno}"
                self._collect(arg, module, func, where, depth=0)
        self._foreign()
        self.out.forwarders = {k: v[0] for k, v in self.forwarders.items() if k not in self.error_classes}
        return self.out

    def find_forwarders(self) -> None:
        """Functions that pass one of their parameters as the message, to a fixed point."""
        pending = list(self.forwarders)
        while pending:
            name = pending.pop()
            for module in self.modules:
                for call in module.calls(name):
                    index, param = self.forwarders[name]
                    arg = _argument(call, index, param)
                    enclosing = module.enclosing.get(id(call))
                    if arg is None or enclosing is None:
                        continue
                    qual, func = enclosing
                    params = _positional_params(func)
                    arg = _param_behind(func, arg)
                    if arg is None:
                        continue
                    if arg.id in params:
                        at = params.index(arg.id) - (1 if _is_method(func) else 0)
                    elif any(a.arg == arg.id for a in func.args.kwonlyargs):
                        at = _KEYWORD_ONLY
                    else:
                        continue
                    # an __init__ forwards through its class name (ParamError -> InputError)
                    called_as = qual.split(".")[-2] if func.name == "__init__" and "." in qual else func.name
                    if called_as in self.forwarders:
                        continue
                    self.forwarders[called_as] = (at, arg.id)
                    pending.append(called_as)

    def _collect(self, node: ast.expr, module: Module, func: _Func | None, where: str,
                 depth: int) -> None:
        if depth > 6:
            self._unresolved(module, func, where)
            return
        text = template_of(node)
        if text is not None:
            self.out.add(self.out.templates, text, where)
            if isinstance(node, ast.JoinedStr) and func is not None:
                self._fragments(node, func[1], where)
            return
        if isinstance(node, ast.IfExp):
            self._collect(node.body, module, func, where, depth + 1)
            self._collect(node.orelse, module, func, where, depth + 1)
            return
        if isinstance(node, ast.Lambda):                   # a message built late: problem=lambda p: f"..."
            self._collect(node.body, module, func, where, depth + 1)
            return
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            texts = _concatenations(node)
            if texts is not None:
                for text in texts:
                    self.out.add(self.out.templates, text, where)
                return
        if isinstance(node, ast.Name) and func is not None:
            qual, target = func
            called_as = qual.split(".")[-2] if target.name == "__init__" and "." in qual else target.name
            if _param_behind(target, node) is not None and called_as in self.forwarders:
                return                                     # a forwarder's own parameter: its callers are walked
            values = _assigned(func[1], node.id)
            if values:
                for value in values:
                    # problem = re.sub(..., problem): a rewrite of texts collected from the other assignments
                    if any(isinstance(n, ast.Name) and n.id == node.id for n in ast.walk(value)):
                        continue
                    self._collect(value, module, func, where, depth + 1)
                return
        if func is not None and _caught_error_text(node, func[1], self.error_classes):
            return                                         # collected where the caught error was raised
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in module.functions:
            for qual, target in module.functions[node.func.id]:
                for value in _returns(target):
                    if isinstance(value, ast.Constant) and value.value is None:
                        continue
                    self._collect(value, module, (qual, target), where, depth + 1)
            return
        self._unresolved(module, func, where)

    def _fragments(self, node: ast.JoinedStr, func: ast.AST, where: str) -> None:
        """Strings assigned to a local that the message interpolates (a hint), when they have words."""
        for value in node.values:
            if isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name):
                for assigned in _assigned(func, value.value.id):
                    for piece in (assigned.body, assigned.orelse) if isinstance(assigned, ast.IfExp) else (assigned,):
                        text = template_of(piece)
                        if text and needs_translation(text) and " " in text:
                            self.out.add(self.out.fragments, text, where)

    def _unresolved(self, module: Module, func: _Func | None, where: str) -> None:
        qual = func[0] if func else "<module>"
        if (module.path, qual) not in self.foreign_sources:
            self.out.unresolved.append(f"{where} ({qual})")

    def _foreign(self) -> None:
        by_path = {m.path: m for m in self.modules}
        for (path, qual), sources in self.foreign_sources.items():
            if path not in by_path:
                continue
            for kind, exc_class, source_path in sources:
                if kind == "covered":
                    continue
                module = by_path.get(source_path)
                if module is None:
                    self.out.unresolved.append(f"{source_path} (named in FOREIGN_SOURCES for {path}:{qual})")
                    continue
                for call in module.calls(exc_class):
                    if call.args:
                        self._collect(call.args[0], module, module.enclosing.get(id(call)),
                                      f"{module.path}:{call.lineno}", depth=0)


def clear_cache() -> None:
    """Forget the assignment tables of the last walk (they hold its syntax trees)."""
    _ASSIGNMENTS.clear()
