"""Parse definition text into a :class:`TableDefinition`.

The grammar is line based: an optional ``# table comment`` first, then primary-key
lines, a ``---`` separator, and secondary lines. Each line is an attribute, a
foreign key (``-> Ref``) or an index. Foreign-key references are read with
:mod:`ast`, never evaluated, so parsing has no side effects; resolving the
referenced table is the declare layer's job. Every error names the line and
says what to write instead.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dj_jupyter.definition import limits
from dj_jupyter.definition.model import (
    AttributeSpec,
    Default,
    ForeignKeySpec,
    IndexSpec,
    TableDefinition,
)
from dj_jupyter.definition.types import core_of, is_blob_like, parse_type, read_string_literal
from dj_jupyter.errors import DefinitionError

__all__ = ["FOREIGN_KEY_OPTIONS", "parse_definition"]

FOREIGN_KEY_OPTIONS = ("nullable", "unique")

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_INDEX_START = re.compile(r"(?:unique\s+)?index\s*\(", re.IGNORECASE)
_INDEX = re.compile(
    r"(?P<unique>unique\s+)?index\s*\((?P<args>[^)]*)\)\s*(?:#.*)?", re.IGNORECASE
)
_TIMESTAMP = re.compile(r"current_timestamp(?:\(\s*(?P<fsp>\d+)\s*\))?", re.IGNORECASE)
_BARE_DEFAULT = re.compile(r"[A-Za-z0-9_.+\-]+")
_Renames = tuple[tuple[str, str], ...]

_ATTRIBUTE_USAGE = "an attribute is written `name : type  # comment` or `name = default : type`"
_FK_USAGE = (
    "a foreign key must name a table, as in `-> Subject` or `-> lab.Subject`, or rename its "
    "attributes with `-> Subject.proj(new_name='old_name')`"
)
_INDEX_USAGE = "an index is written `index(a, b)` or `unique index(a, b)`"


@dataclass(frozen=True)
class _Line:
    """One stripped source line and its 1-based number, for error messages."""

    number: int
    text: str

    def error(self, message: str) -> DefinitionError:
        return DefinitionError(message, line=self.number, text=self.text)


def parse_definition(text: str) -> TableDefinition:
    """Parse a table definition; raise :class:`DefinitionError` pointing at the bad line."""
    text = limits.check_text(text)
    comment = ""
    items: list[AttributeSpec | ForeignKeySpec] = []
    indexes: list[IndexSpec] = []
    separator: _Line | None = None
    lines = [_Line(n, raw.strip()) for n, raw in enumerate(text.splitlines(), 1) if raw.strip()]
    for position, line in enumerate(lines):
        in_key = separator is None
        if line.text.startswith("---"):
            if separator is not None:
                raise line.error(f"only one --- line is allowed (the first is on line "
                                 f"{separator.number}); remove this one")
            separator = line
        elif line.text.startswith("#"):
            if position == 0:
                comment = _table_comment(line)
        elif line.text.startswith("->"):
            items.append(_parse_foreign_key(line, in_key))
        elif _INDEX_START.match(line.text):
            indexes.append(_parse_index(line))
        else:
            attribute = _parse_attribute(line, in_key)
            _check_new_name(attribute, items, line)
            items.append(attribute)
    limits.check_attribute_count("the definition", len(items))
    return TableDefinition(comment=comment, items=tuple(items), indexes=tuple(indexes))


def _table_comment(line: _Line) -> str:
    comment = line.text[1:].strip()
    if comment.startswith(":"):
        raise line.error("a table comment must not start with ':'; remove the colon")
    _within_limits(line, limits.check_table_comment, comment)
    return comment


def _within_limits(line: _Line, check: Callable[..., Any], *args: Any) -> None:
    """Run a check of :mod:`.limits`, pointing its error at ``line``."""
    try:
        check(*args)
    except DefinitionError as error:
        raise line.error(str(error)) from None


def _check_new_name(
    attribute: AttributeSpec, earlier: list[AttributeSpec | ForeignKeySpec], line: _Line
) -> None:
    """Raise if ``attribute`` repeats the name of an attribute declared before it."""
    for item in earlier:
        if isinstance(item, AttributeSpec) and item.name == attribute.name:
            raise line.error(f"attribute {item.name!r} is declared twice, on line {item.line} "
                             f"and line {line.number}: rename or remove one of them")


# ---------------------------------------------------------------- quote-aware splitting


def _find_outside_quotes(line: _Line, text: str, char: str) -> int:
    """Index of the first ``char`` in ``text`` that is not inside a quoted string, or -1."""
    i = 0
    while i < len(text):
        if text[i] == char:
            return i
        if text[i] in "'\"":
            i = _skip_literal(line, text, i)
        else:
            i += 1
    return -1


def _skip_literal(line: _Line, text: str, start: int) -> int:
    try:
        return read_string_literal(text, start)[1]
    except ValueError as exc:
        raise line.error(str(exc)) from None


def _split_comment(line: _Line, text: str) -> tuple[str, str]:
    """Split ``text`` at its first unquoted ``#`` into (body, stripped comment)."""
    hash_at = _find_outside_quotes(line, text, "#")
    if hash_at < 0:
        return text.strip(), ""
    return text[:hash_at].strip(), text[hash_at + 1 :].strip()


# ---------------------------------------------------------------- attributes


def _parse_attribute(line: _Line, in_key: bool) -> AttributeSpec:
    body, comment = _split_comment(line, line.text)
    colon = _find_outside_quotes(line, body, ":")
    if colon < 0:
        raise line.error(f"missing ':' before the type: {_ATTRIBUTE_USAGE}")
    if comment.startswith(":"):
        raise line.error("a comment must not start with ':'; remove the colon after #")
    head, type_text = body[:colon], body[colon + 1 :]
    name, equals, default_text = (part.strip() for part in head.partition("="))
    _check_attribute_name(line, name)
    spec = parse_type(type_text, line=line.number, line_text=line.text)
    nullable, default = _parse_default(line, default_text) if equals else (False, None)
    if default is not None and default.is_expression and core_of(spec)[0] != "datetime":
        raise line.error(f"{default.value} is a default only for datetime attributes; give "
                         f"{name!r} a literal default or declare it datetime")
    stored = len(comment) + (0 if spec.is_native else len(spec.text) + 2)
    _within_limits(line, limits.check_column_comment, name, stored)
    if in_key and nullable:
        raise line.error(f"primary-key attribute {name!r} cannot default to null: "
                         "remove '= null' or move the attribute below ---")
    if in_key and is_blob_like(spec):
        raise line.error(f"a {spec.text} attribute cannot be in the primary key: "
                         f"move {name!r} below ---")
    if default is not None and is_blob_like(spec):
        raise line.error(f"a {spec.text} attribute accepts only a null default: "
                         "write '= null' or remove the default")
    return AttributeSpec(name=name, type=spec, in_key=in_key, nullable=nullable,
                         default=default, comment=comment, line=line.number)


def _check_attribute_name(line: _Line, name: str) -> None:
    if not name:
        raise line.error(f"missing attribute name: {_ATTRIBUTE_USAGE}")
    _within_limits(line, limits.check_identifier, name, "attribute name")
    if name.startswith("_"):
        raise line.error(f"attribute {name!r}: names starting with _ are reserved; "
                         f"write {name.lstrip('_') or 'a name starting with a letter'}")
    if _NAME.fullmatch(name):
        return
    if _NAME.fullmatch(name.lower()):
        raise line.error(f"attribute names are lower case: write {name.lower()}")
    raise line.error(f"invalid attribute name {name!r}: use lower-case letters, digits and "
                     f"underscores, starting with a letter. {_ATTRIBUTE_USAGE}")


def _parse_default(line: _Line, text: str) -> tuple[bool, Default | None]:
    """(nullable, default) for the text after ``=``."""
    if not text:
        raise line.error("empty default: write a value after '=' (e.g. '= 0' or '= null') "
                         "or remove the '='")
    if text.lower() == "null":
        return True, None
    timestamp = _TIMESTAMP.fullmatch(text)
    if timestamp:
        fsp = timestamp.group("fsp")
        value = f"CURRENT_TIMESTAMP({int(fsp)})" if fsp else "CURRENT_TIMESTAMP"
        return False, Default(value, is_expression=True)
    if text[0] in "'\"":
        try:
            value, end = read_string_literal(text, 0)
        except ValueError:
            value, end = "", -1
        if end != len(text):
            raise line.error(f"invalid default {text}: a default is one value; quote text "
                             "whole, as in = \"some text\"")
        return False, Default(value)
    if _BARE_DEFAULT.fullmatch(text):
        return False, Default(text)
    raise line.error(f"invalid default {text}: quote text defaults, as in = \"some text\"")


# ---------------------------------------------------------------- foreign keys


def _parse_foreign_key(line: _Line, in_key: bool) -> ForeignKeySpec:
    body, _comment = _split_comment(line, line.text[2:])
    options: set[str] = set()
    if body.startswith("["):
        close = body.find("]")
        if close < 0:
            raise line.error("close the option list with ']', as in `-> [nullable] Subject`")
        options = _parse_fk_options(line, body[1:close])
        body = body[close + 1 :].strip()
    if in_key and "nullable" in options:
        raise line.error("a foreign key in the primary key cannot be nullable: "
                         "move it below --- or remove 'nullable'")
    ref, renames = _parse_reference(line, body)
    return ForeignKeySpec(ref=ref, in_key=in_key, nullable="nullable" in options,
                          unique="unique" in options, renames=renames, line=line.number)


def _parse_fk_options(line: _Line, text: str) -> set[str]:
    options = {word.strip().lower() for word in text.split(",")} - {""}
    unknown = sorted(options - set(FOREIGN_KEY_OPTIONS))
    if unknown:
        raise line.error(f"unknown foreign-key option {unknown[0]!r}: valid options are "
                         f"{', '.join(FOREIGN_KEY_OPTIONS)}, as in `-> [nullable, unique] Subject`")
    return options


def _parse_reference(line: _Line, text: str) -> tuple[str, _Renames]:
    """``Subject`` or ``Subject.proj(new='old')`` -> (dotted name, renames)."""
    if not text:
        raise line.error(f"missing table after '->': {_FK_USAGE}")
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise line.error(f"cannot read {text!r}: {_FK_USAGE}") from None
    if isinstance(node, ast.Call):
        return _parse_projection(line, text, node)
    ref = _dotted_name(node)
    if ref is None:
        raise line.error(f"{text!r} is not a table: {_FK_USAGE}")
    return ref, ()


def _parse_projection(line: _Line, text: str, call: ast.Call) -> tuple[str, _Renames]:
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "proj") or call.args:
        raise line.error(f"{text!r} is not a table or a renaming projection: {_FK_USAGE}")
    ref = _dotted_name(func.value)
    if ref is None:
        raise line.error(f"{text!r} is not a table or a renaming projection: {_FK_USAGE}")
    renames: list[tuple[str, str]] = []
    for keyword in call.keywords:
        new, old = _rename(line, keyword)
        if new in dict(renames):
            raise line.error(f"proj() renames {new!r} twice: give each new name once")
        renames.append((new, old))
    return ref, tuple(renames)


def _rename(line: _Line, keyword: ast.keyword) -> tuple[str, str]:
    """``new='old'`` -> (new, old), both checked to be attribute names."""
    old = keyword.value
    if keyword.arg is None or not (isinstance(old, ast.Constant) and isinstance(old.value, str)):
        raise line.error(f"proj() in a foreign key takes only new_name='old_name' "
                         f"arguments: {_FK_USAGE}")
    for name in (keyword.arg, old.value):
        if not _NAME.fullmatch(name):
            raise line.error(f"{name!r} is not an attribute name: {_FK_USAGE}")
    return keyword.arg, old.value


def _dotted_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted_name(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


# ---------------------------------------------------------------- indexes


def _parse_index(line: _Line) -> IndexSpec:
    match = _INDEX.fullmatch(line.text)
    if not match:
        raise line.error(f"cannot read this index: {_INDEX_USAGE}")
    names = tuple(name.strip() for name in match.group("args").split(","))
    if names == ("",):
        raise line.error(f"an index needs at least one attribute: {_INDEX_USAGE}")
    for name in names:
        if not _NAME.fullmatch(name):
            raise line.error(f"{name!r} is not an attribute name: {_INDEX_USAGE}")
    return IndexSpec(attributes=names, unique=bool(match.group("unique")), line=line.number)
