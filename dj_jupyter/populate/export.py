"""A pipeline declared in a notebook, as the source of an importable module.

Worker processes, Dask workers and ``dj-jupyter populate`` on other machines import a
table class by module path. A class declared in a notebook lives in ``__main__``, which
they cannot import; :func:`module_source` writes the schema's classes — their source as the
notebook ran it — and what their code uses from the notebook (imports, helper functions,
constants) as a module. :func:`export_module` saves it as a ``.py`` file for the CLI;
``populate(processes=N)`` / ``executor=`` ship the text to the workers by value (see
:mod:`.workers`), so the notebook stays the only source.

Where a class's source comes from, first that applies:

1. ``cls._dj_source``, set by whoever built the class from text (``%%dj_table`` does);
2. the notebook cell (or script) that defined it: the lines of the ``class`` statement
   around its methods' code, from :mod:`linecache` (IPython registers every cell there);
3. a class with no code of its own (a Manual table): its ``definition`` and parts.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import inspect
import linecache
import re
import symtable
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DataJointError

__all__ = ["ExportError", "export_module", "module_source", "notebook_module_name",
           "install_module", "defined_in_notebook", "namespace_of", "class_statement"]

_TIERS = ("Manual", "Lookup", "Imported", "Computed")
_PARENT_LINE = re.compile(r"^\s*->\s*(?:\[[^\]]*\]\s*)?([A-Za-z_]\w*)", re.MULTILINE)
_SIMPLE = (int, float, complex, str, bytes, bool, type(None))


class ExportError(DataJointError):
    """A notebook pipeline cannot be written as a module (the message says what to change)."""


def defined_in_notebook(cls: type) -> bool:
    """Whether ``cls`` lives in ``__main__`` (a notebook or a script): workers cannot import it."""
    return cls.__module__ == "__main__"


def module_source(schema: Any, namespace: dict | None = None) -> str:
    """The source of a module that declares ``schema``'s tables as the notebook did.

    ``namespace`` is where the notebook's names live (default: ``__main__``); the schema's
    classes are the table classes found there bound to ``schema``.
    """
    namespace = _namespace(namespace)
    classes = _schema_classes(schema, namespace)
    exported = {cls.__name__ for cls in classes}
    sources = [_class_source(cls) for cls in classes]
    header: dict[str, str] = {}
    helpers: dict[str, str] = {}
    wanted = [(name, cls.__name__) for cls, source in zip(classes, sources)
              for name in sorted(_free_names(source) | _parent_names(cls))]
    seen = set(exported) | {"dj", "schema"}
    while wanted:
        name, user = wanted.pop(0)
        if name in seen:
            continue
        seen.add(name)
        line, helper = _resolve(name, user, namespace, schema)
        if line:
            header[name] = line
        if helper:
            helpers[name] = helper
            wanted.extend((n, name) for n in sorted(_free_names(helper)))
    parts = [f'"""The pipeline of schema {schema.database!r}, exported from a notebook by '
             'dj_jupyter.\n\nGenerated: edit the notebook and export again."""\n',
             "import dj_jupyter as dj",
             *sorted(v for v in header.values() if v.startswith(("import ", "from "))),
             "",
             f"schema = dj.Schema({schema.database!r})",
             *sorted(v for v in header.values() if not v.startswith(("import ", "from "))),
             "",
             *(f"\n{text}" for text in helpers.values()),
             *(f"\n@schema\n{source}" for source in sources)]
    return "\n".join(parts).rstrip() + "\n"


def export_module(schema: Any, path: str | Path, namespace: dict | None = None) -> Path:
    """Write :func:`module_source` to ``path`` (a ``.py`` file); returns the path.

    Workers elsewhere then run ``dj-jupyter populate path.py:ClassName --reserve-jobs``
    (or import the module from their ``sys.path``)."""
    path = Path(path)
    if path.suffix != ".py":
        raise ExportError(f"{path}: export to a .py file (e.g. {path.with_suffix('.py')})")
    text = module_source(schema, _namespace(namespace))
    path.write_text(text)
    return path


def notebook_module_name(schema: Any, source: str) -> str:
    """A module name for shipped source: the schema's name and the source's hash."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    safe = re.sub(r"\W", "_", schema.database)
    return f"dj_notebook_{safe}_{digest}"


def install_module(name: str, source: str) -> types.ModuleType:
    """Run ``source`` as module ``name`` (once per process) — how a worker imports a
    pipeline shipped from a notebook. Its lines are registered for tracebacks."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    filename = f"<dj_jupyter notebook export {name}>"
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    module = types.ModuleType(name)
    module.__dict__["__file__"] = filename
    sys.modules[name] = module
    try:
        exec(compile(source, filename, "exec"), module.__dict__)  # noqa: S102 - our export
    except BaseException:
        del sys.modules[name]
        raise
    return module


# -- the classes ----------------------------------------------------------------------------------
def namespace_of(cls: type) -> dict:
    """The namespace ``cls``'s code runs in (a notebook's user namespace), else ``__main__``'s."""
    for value in cls.__dict__.values():
        function = getattr(value, "__func__", value)
        if isinstance(function, types.FunctionType):
            return function.__globals__
    return _namespace(None)


def _namespace(namespace: dict | None) -> dict:
    if namespace is not None:
        return namespace
    main = sys.modules.get("__main__")
    return vars(main) if main is not None else {}


def _schema_classes(schema: Any, namespace: dict) -> list[type]:
    """The table classes of ``schema`` in ``namespace``, parents before children."""
    if getattr(schema, "database", None) is None:
        raise ExportError("the schema is not activated: give it a name (dj.Schema('name'))")
    found = {}
    for value in list(namespace.values()):
        if isinstance(value, type) and getattr(value, "_tier", None) in _TIERS \
                and value.__dict__.get("_schema") is schema:
            found[value().table_name] = value
    if not found:
        raise ExportError(f"no table class of schema {schema.database!r} is defined here; "
                          "declare the tables (in cells) before exporting")
    order = {name: position for position, name in enumerate(schema.list_tables())}
    return [found[name] for name in sorted(found, key=lambda n: order.get(n, len(order)))]


def _class_source(cls: type) -> str:
    given = cls.__dict__.get("_dj_source")
    if given:
        return textwrap.dedent(given)
    code = next(_codes(cls), None)
    if code is None:
        return _synthesized(cls)
    lines = linecache.getlines(code.co_filename)
    try:
        tree = ast.parse("".join(lines))
    except SyntaxError:
        tree = None
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.ClassDef) and node.name == cls.__name__ \
                and node.lineno <= code.co_firstlineno <= (node.end_lineno or 0):
            return textwrap.dedent("".join(lines[node.lineno - 1:node.end_lineno]))
    raise ExportError(f"the source of {cls.__name__} is not available (it was not defined in "
                      "a notebook cell or a file); define it in a cell or a module")


def _codes(cls: type) -> Iterator[types.CodeType]:
    """Code objects of the functions defined in ``cls`` and its nested classes."""
    for value in cls.__dict__.values():
        for item in (value, getattr(value, "__func__", None), getattr(value, "fget", None)):
            if isinstance(item, types.FunctionType) and item.__qualname__.startswith(
                    cls.__qualname__ + "."):
                yield item.__code__
        if isinstance(value, type) and value.__qualname__.startswith(cls.__qualname__ + "."):
            yield from _codes(value)


def class_statement(name: str, tier: str, definition: str, body: str = "") -> str:
    """``class name(dj.tier): definition = ...`` and ``body`` (class-level lines, indented
    by four spaces) — how a class built from text (a ``%%dj_table`` cell) reads as source."""
    head = f"class {name}(dj.{tier}):\n    definition = {_text_literal(definition)}\n"
    return head + (f"{body.rstrip()}\n" if body.strip() else "")


def _text_literal(text: str) -> str:
    """A definition as a triple-quoted literal where it can be one, else its repr."""
    if '"""' in text or text.endswith('"') or "\\" in text:
        return repr(text)
    return f'"""{text}"""'


def _synthesized(cls: Any, indent: str = "") -> str:
    """A code-less class (and its parts) from its definition (and a Lookup's contents)."""
    inner = indent + "    "
    lines = [f"{indent}class {cls.__name__}(dj.{cls._tier}):",
             f"{inner}definition = {_text_literal(cls.definition or '')}"]
    contents = cls.__dict__.get("contents")
    if contents is not None and _is_literal(list(contents)):
        lines.append(f"{inner}contents = {list(contents)!r}")
    for value in cls.__dict__.values():
        if isinstance(value, type) and getattr(value, "_tier", None) == "Part":
            lines.append(_synthesized(value, inner))
    return "\n".join(lines) + "\n"


# -- what the classes use from the notebook --------------------------------------------------
def _free_names(source: str) -> set[str]:
    """Names ``source`` reads but does not define (its globals)."""
    table = symtable.symtable(source, "<export>", "exec")
    defined = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    used: set[str] = set()

    def visit(scope: symtable.SymbolTable) -> None:
        for symbol in scope.get_symbols():
            if symbol.is_referenced() and symbol.is_global():
                used.add(symbol.get_name())
        for child in scope.get_children():
            visit(child)

    visit(table)
    return used - defined - set(dir(builtins))


def _parent_names(cls: Any) -> set[str]:
    """Names the definitions' ``->`` lines refer to (``-> Subject``, ``-> other.Session``)."""
    texts = [cls.definition or ""] + [value.definition or "" for value in cls.__dict__.values()
                                      if isinstance(value, type) and hasattr(value, "definition")]
    return {m for text in texts for m in _PARENT_LINE.findall(text)} - {"master", "self"}


def _resolve(name: str, user: str, namespace: dict, schema: Any) -> tuple[str, str]:
    """(an import or assignment line, or helper source) giving ``name`` in the module."""
    if name not in namespace:
        if hasattr(builtins, name):
            return "", ""
        raise ExportError(f"{user} uses {name!r}, which is not defined in the notebook; define "
                          "it (or import it) in a cell, then export again")
    value = namespace[name]
    if value is schema:
        return f"{name} = schema", ""
    if isinstance(value, types.ModuleType):
        module = value.__name__
        return (f"import {module}" if module == name else f"import {module} as {name}"), ""
    if getattr(value, "_tier", None) in (*_TIERS, "Part") and defined_in_notebook(value):
        raise ExportError(f"{user} uses table {name}, declared in the notebook in another "
                          "schema; export that schema as a module, import it in a cell "
                          f"(e.g. `from other_pipeline import {name}`), then export again")
    if isinstance(value, (type, types.FunctionType)):
        return _code_object(name, user, value)
    if _is_literal(value):
        return f"{name} = {value!r}", ""
    raise ExportError(f"{user} uses {name!r}, a value of type {type(value).__name__} made in "
                      "the notebook that cannot be written as source; compute it inside the "
                      "class (or a function), or define it in a module and import it")


def _code_object(name: str, user: str, value: Any) -> tuple[str, str]:
    """A function or class: imported from its module, or its source if the notebook made it."""
    qualname = value.__qualname__
    if not defined_in_notebook(value):
        if "<locals>" in qualname or "." in qualname:
            raise ExportError(f"{user} uses {name!r}, defined inside another function or class "
                              f"({value.__module__}.{qualname}); define it at module level")
        alias = "" if qualname == name else f" as {name}"
        return f"from {value.__module__} import {qualname}{alias}", ""
    try:
        source = textwrap.dedent(inspect.getsource(value))
    except (OSError, TypeError):
        raise ExportError(f"{user} uses {name!r}, whose source is not available; define it in "
                          "a cell (not with exec) or in a module") from None
    if value.__name__ != name:
        source += f"\n{name} = {value.__name__}\n"
    return "", source


def _is_literal(value: Any) -> bool:
    """Whether ``repr(value)`` is Python source that gives ``value`` back."""
    if isinstance(value, (float, complex)):
        return value == value and abs(value) != float("inf")  # nan and inf have no literal
    if isinstance(value, _SIMPLE):
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_is_literal(v) for v in value)
    if isinstance(value, dict):
        return all(_is_literal(k) and _is_literal(v) for k, v in value.items())
    return False
