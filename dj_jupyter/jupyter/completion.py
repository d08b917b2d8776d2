"""Tab completion inside ``%%dj_table`` cells (IPython's matcher API, version 2).

After ``->`` (also ``-> [nullable]``) it offers the tables a foreign key can name: table
classes bound in the user namespace (and their parts) and the tables of the active
schema. After ``name :`` on an attribute line it offers the core types and the codecs
(``<blob>``, ``<blob@>``, ``<blob@store>`` for each configured store). On the magic line,
after the class name, it offers the tiers. Anywhere else, and in every other cell, it stays
silent and IPython completes as usual.

A codec completes *after* its ``<``: typing ``<b`` offers ``blob>`` and ``blob@>`` for the
text after the ``<``. JupyterLab matches the typed fragment against the HTML-escaped label
(``&lt;blob&gt;``), so a fragment that starts with ``<`` never matches anything there and
Lab showed no codec at all although the kernel sent them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from IPython.core.completer import (
    CompletionContext,
    SimpleCompletion,
    SimpleMatcherResult,
    context_matcher,
)

from ..catalog import naming
from ..definition.types import CORE_TYPES
from .cells import PYTHON_MARKER

__all__ = ["TIER_WORDS", "codec_names", "dj_table_matcher", "register", "store_names",
           "table_names", "type_names"]

_CELL = re.compile(r"^\s*%%dj_table\b")
_REFERENCE = re.compile(r"^\s*->\s*(?:\[[^\]]*\]\s*)?(?P<prefix>[A-Za-z_][\w.]*|)$")
_TYPE = re.compile(r"^\s*[a-z_]\w*\s*(?:=[^:#]*)?:\s*(?P<prefix>[\w@]*)$")
_CODEC = re.compile(r"^\s*[a-z_]\w*\s*(?:=[^:#]*)?:\s*<(?P<prefix>[\w@]*)$")
_TIER = re.compile(r"^\s*%%dj_table\s+[A-Za-z_]\w*\s+(?P<prefix>[a-z]*)$")
TIER_WORDS = ("manual", "lookup", "imported", "computed")


def register(ipython: Any, magics: Any) -> None:
    """Add the matcher to the shell's completer (once), bound to the magics' state."""
    completer = ipython.Completer
    completer.custom_matchers[:] = [m for m in completer.custom_matchers
                                    if getattr(m, "matcher_identifier", "") != _IDENTIFIER]
    completer.custom_matchers.append(_bound(ipython, magics))


_IDENTIFIER = "dj_jupyter.dj_table"


def _bound(ipython: Any, magics: Any) -> Any:
    @context_matcher(identifier=_IDENTIFIER, priority=10)
    def matcher(context: CompletionContext) -> SimpleMatcherResult:
        return dj_table_matcher(context, ipython.user_ns, getattr(magics, "schema", None))

    return matcher


def dj_table_matcher(context: CompletionContext, namespace: dict,
                     schema: Any) -> SimpleMatcherResult:
    """Completions for the cursor's line of a ``%%dj_table`` cell (or none)."""
    lines = context.full_text.split("\n")
    if not lines or not _CELL.match(lines[0]) or _in_python_part(lines[:context.cursor_line]):
        return _none()
    before = context.text_until_cursor
    if context.cursor_line == 0:
        tier = _TIER.match(before)
        return _result(tier["prefix"], TIER_WORDS, "tier") if tier else _none()
    if "#" in before:  # a comment
        return _none()
    reference = _REFERENCE.match(before)
    if reference:
        return _result(reference["prefix"], table_names(namespace, schema), "table")
    codec = _CODEC.match(before)
    if codec:
        return _result(codec["prefix"], codec_names(), "codec")
    attribute = _TYPE.match(before)
    if attribute:
        return _result(attribute["prefix"], type_names(), "type")
    return _none()


def _in_python_part(lines: list[str]) -> bool:
    return any(line.strip() == PYTHON_MARKER for line in lines)


def table_names(namespace: dict, schema: Any) -> list[str]:
    """Names a foreign key can use: bound table classes (and parts), then schema tables."""
    from ..tables.table import Table

    names: list[str] = []
    for name, value in list(namespace.items()):
        if name.startswith("_") or not (isinstance(value, type) and issubclass(value, Table)):
            continue
        if not value._is_bound():
            continue
        names.append(name)
        names += [f"{name}.{part}" for part in vars(value)
                  if part[:1].isupper() and isinstance(vars(value)[part], type)
                  and issubclass(vars(value)[part], Table)]
    if schema is not None and getattr(schema, "database", None):
        try:
            stored = schema.list_tables()
        except Exception:  # noqa: BLE001 - completion never raises (e.g. a lost connection)
            stored = []
        for table in stored:
            names.append(_class_path(table))
    return _unique(names)


def _class_path(table: str) -> str:
    master = naming.master_of(table)
    name = naming.class_name_of(table)
    return f"{naming.class_name_of(master)}.{name}" if master else name


def type_names() -> list[str]:
    """Core types, then every registered codec with each store spelling."""
    return [*CORE_TYPES, *(f"<{codec}" for codec in codec_names())]


def store_names() -> list[str]:
    """The configured stores a codec can name after ``@``."""
    from ..settings import config

    return [name for name in (config["stores"] or {})
            if name not in ("default", "filepath_default")]


def codec_names() -> list[str]:
    """Every registered codec as written after ``<``: ``blob>``, ``blob@>``, ``blob@s>``."""
    from ..objects.codecs import list_codecs

    stores = store_names()
    codecs: list[str] = []
    for codec in list_codecs():
        codecs += [f"{codec}>", f"{codec}@>", *(f"{codec}@{store}>" for store in stores)]
    return codecs


def _result(prefix: str, candidates: Iterable[str], kind: str) -> SimpleMatcherResult:
    matches = [c for c in candidates if c.startswith(prefix)]
    return {"completions": [SimpleCompletion(text=c, type=kind) for c in matches],
            "matched_fragment": prefix, "suppress": True, "ordered": True}


def _none() -> SimpleMatcherResult:
    return {"completions": [], "suppress": False}


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))
