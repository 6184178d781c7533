"""The import graph of ``siting`` has no cycles.

Every module under ``siting/`` is parsed with :mod:`ast` (nothing is imported). An edge ``a -> b`` is an import
of the ``siting`` module ``b`` by ``a``: relative imports are resolved, ``from pkg import name`` points at the
submodule ``pkg.name`` when there is one (else at ``pkg``), and the implicit import of a parent package is not
an edge (a package facade importing its own submodules is how packages are built).

* Module level (what runs at import time; imports inside functions and under ``if TYPE_CHECKING:`` are left
  out): no cycle at all.
* Counting the imports inside functions too: none in the workflow layer (``siting.workflow``,
  ``siting.commands``, ``siting.cli``, ``siting.demo``), which imports downward only, and none elsewhere either.
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "siting"

WORKFLOW_LAYER = ("siting.workflow", "siting.commands", "siting.cli", "siting.demo")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_nodes(tree: ast.AST, *, in_functions: bool) -> list[ast.Import | ast.ImportFrom]:
    """Import statements of a module: those run at import time, plus those in functions if asked."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and not in_functions:
                continue
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]))
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append(child)
            visit(child)

    visit(tree)
    return found


def imported_modules(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The ``siting`` modules one import statement names (relative imports resolved)."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[:len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module or ""
        targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix for a in node.names]
    # a name that is no module under siting/ (a third-party import, or a broken one that fails on its own)
    return {t for t in targets if t in MODULES and t != module}


@functools.cache
def _graphs() -> dict[bool, dict[str, set[str]]]:
    """Both graphs (module level only / inside functions too) from one parse of every module.

    Parsing is most of the three graph tests' time; the trees are dropped afterwards (kept alive, their
    hundreds of thousands of nodes would slow every later garbage collection of the test process).
    """
    graphs: dict[bool, dict[str, set[str]]] = {False: {}, True: {}}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for in_functions, graph in graphs.items():
            graph[name] = set()
            for node in import_nodes(tree, in_functions=in_functions):
                graph[name] |= imported_modules(name, path.name == "__init__.py", node)
    return graphs


def import_graph(*, in_functions: bool) -> dict[str, set[str]]:
    return _graphs()[in_functions]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a -> b -> ... -> a) per strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan; the graph has ~100 nodes, recursion depth is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_one_cycle(graph, comp) for comp in components]


def _one_cycle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module (breadth-first inside the component)."""
    start, members = component[0], set(component)
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [start, *reversed(path[:-1]), start] if v != start else [start, start]
                if w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    return component  # pragma: no cover - a component always has a cycle


def _show(found: list[list[str]]) -> str:
    return "\n".join(" -> ".join(c) for c in found)


def test_the_checker_finds_a_cycle_and_resolves_relative_imports():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    tree = ast.parse("from . import budgets\nfrom ..errors import ScenarioError\nimport siting.io\n"
                     "def f():\n    from .tasks import solve_task\n"
                     "if TYPE_CHECKING:\n    from ..scenario import Scenario\n")
    found = set()
    for node in import_nodes(tree, in_functions=False):
        found |= imported_modules("siting.workflow.prepare", False, node)
    assert found == {"siting.workflow.budgets", "siting.errors", "siting.io"}
    inner = set()
    for node in import_nodes(tree, in_functions=True):
        inner |= imported_modules("siting.workflow.prepare", False, node)
    assert "siting.workflow.tasks" in inner and "siting.scenario" not in inner


def test_no_import_cycle_at_module_level():
    found = cycles(import_graph(in_functions=False))
    assert not found, "import cycles:\n" + _show(found)


def test_workflow_layer_imports_downward_even_inside_functions():
    found = [c for c in cycles(import_graph(in_functions=True)) if any(m.startswith(WORKFLOW_LAYER) for m in c)]
    assert not found, "import cycles through the workflow layer:\n" + _show(found)


def test_no_import_cycle_even_inside_functions():
    found = cycles(import_graph(in_functions=True))
    assert not found, "import cycles (counting imports inside functions):\n" + _show(found)
