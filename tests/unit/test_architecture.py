"""The import contract: one layer per folder, imports only point down, no circles.

Every ``import`` in the package is read from the AST — top-level, inside functions and under
``TYPE_CHECKING`` — so a knot cannot hide behind a lazy import. The layer order is the one in
``docs/architecture.md``; ``jupyter`` (and IPython, ipywidgets, anywidget) is imported by
nothing below it; no module imports a private name of another module.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import dj_jupyter

PACKAGE = Path(dj_jupyter.__file__).parent

# lowest first; a module may import its own layer and the layers before it
LAYERS = ("errors", "settings", "version", "utils", "definition", "backends", "objects", "algebra",
          "catalog", "query", "tables", "populate", "pipeline", "display", "jupyter", "cli",
          "compat", "")
# the foundation: one rank, below all layers
BASE = {"errors": 0, "settings": 0, "version": 0, "utils": 0}
NOTEBOOK_LIBRARIES = ("IPython", "ipywidgets", "anywidget", "traitlets", "ipykernel")


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported dj_jupyter module, or a third-party top-level name
    names: tuple[str, ...]  # names taken from the target by `from target import ...`
    where: str  # "top", "function" or "type_checking"
    line: int


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _owning_module(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def scan() -> list[Import]:
    """Every import statement of the package, resolved to the module it loads."""
    found: list[Import] = []
    for module, path in MODULES.items():
        is_package = path.name == "__init__.py"

        def visit(node: ast.AST, where: str, module: str = module,
                  is_package: bool = is_package) -> None:
            for child in ast.iter_child_nodes(node):
                inner = where
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    inner = "function"
                elif (isinstance(child, ast.If) and where == "top"
                      and "TYPE_CHECKING" in ast.unparse(child.test)):
                    inner = "type_checking"
                if isinstance(child, ast.Import):
                    for alias in child.names:
                        target = alias.name
                        if target.startswith("dj_jupyter"):
                            target = _owning_module(target) or target
                        found.append(Import(module, target, (), inner, child.lineno))
                elif isinstance(child, ast.ImportFrom):
                    base = _resolve(module, child, is_package)
                    for alias in child.names:
                        full = f"{base}.{alias.name}"
                        if full in MODULES:  # `from package import module`
                            found.append(Import(module, full, (), inner, child.lineno))
                        else:
                            target = _owning_module(base) if base.startswith("dj_jupyter") \
                                else base
                            found.append(Import(module, target or base, (alias.name,), inner,
                                                child.lineno))
                visit(child, inner)

        visit(ast.parse(path.read_text()), "top")
    return found


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def rank(module: str) -> int:
    layer = layer_of(module)
    return BASE.get(layer, LAYERS.index(layer) if layer in LAYERS else len(LAYERS))


IMPORTS = scan()
INTERNAL = [i for i in IMPORTS if i.target.startswith("dj_jupyter") and i.target != i.source]


def upward_imports() -> list[str]:
    return sorted({f"{i.source} -> {i.target}" for i in INTERNAL
                   if rank(i.target) > rank(i.source)})


def cycles() -> list[list[str]]:
    """Strongly connected components (size > 1) of the import graph, lazy imports included."""
    graph: dict[str, set[str]] = defaultdict(set)
    for i in INTERNAL:
        if i.where != "type_checking":  # annotations only: no runtime edge
            graph[i.source].add(i.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(MODULES):
        if node not in index:
            connect(node)
    return sorted(components)


def test_the_scan_sees_lazy_and_type_checking_imports() -> None:
    kinds = {i.where for i in INTERNAL}
    assert {"top", "function", "type_checking"} <= kinds


def test_every_module_sits_in_a_layer() -> None:
    stray = [m for m in MODULES if layer_of(m) not in LAYERS]
    assert stray == [], f"modules outside the layer folders: {stray}"


def test_imports_only_point_down() -> None:
    assert upward_imports() == KNOWN_UPWARD


def test_no_import_circles() -> None:
    assert cycles() == KNOWN_CYCLES


def test_nothing_below_the_notebook_layer_imports_it() -> None:
    notebook = rank("dj_jupyter.jupyter")
    offenders = sorted({f"{i.source} -> {i.target}" for i in IMPORTS
                        if rank(i.source) < notebook
                        and (i.target.split(".")[0] in NOTEBOOK_LIBRARIES
                             or layer_of(i.target) == "jupyter"
                             and i.target.startswith("dj_jupyter"))})
    assert offenders == KNOWN_NOTEBOOK


def test_long_modules_say_why() -> None:
    """Modules over 500 lines state the reason in their docstring ("Long module: ...")."""
    unexplained = sorted(m for m, path in MODULES.items()
                         if path.read_text().count("\n") > 500
                         and "Long module:" not in (ast.get_docstring(ast.parse(
                             path.read_text())) or ""))
    assert unexplained == []


def test_no_backend_branches_outside_the_backends() -> None:
    """``if dialect == "mysql"``-style branches live in the dialects, nowhere else."""
    pattern = re.compile(r"""(dialect|backend)(\.name)?\s*(==|!=|in)\s*[("']""")
    found = sorted(f"{m}:{n}" for m, path in MODULES.items() if layer_of(m) != "backends"
                   for n, line in enumerate(path.read_text().splitlines(), 1)
                   if pattern.search(line))
    assert [f.split(":")[0] for f in found] == KNOWN_BACKEND_BRANCHES


def test_every_module_says_what_it_exports() -> None:
    missing = sorted(m for m, path in MODULES.items()
                     if not any(isinstance(node, (ast.Assign, ast.AnnAssign))
                                and "__all__" in ast.unparse(node).split("=")[0]
                                for node in ast.parse(path.read_text()).body))
    assert missing == []


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = sorted({f"{i.source} -> {i.target}.{name}" for i in INTERNAL for name in i.names
                        if name.startswith("_") and not name.startswith("__")})
    assert offenders == KNOWN_PRIVATE


# What is left to cut. Each list only shrinks: removing a knot fails this test until its entry
# goes too; a new knot fails it at once.
KNOWN_BACKEND_BRANCHES: list[str] = []
KNOWN_UPWARD: list[str] = []
KNOWN_CYCLES: list[list[str]] = []
KNOWN_NOTEBOOK: list[str] = []
KNOWN_PRIVATE: list[str] = []
