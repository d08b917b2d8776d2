"""Resolve the type text of an attribute to a :class:`TypeSpec`.

Pure text work: no codec registry and no database is consulted, so the same
definition resolves the same way for every backend. Core types are portable;
native SQL types are accepted with a warning and carry the core type the
backends should store them as.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Callable
from typing import Any

from dj_jupyter.definition.model import TypeSpec
from dj_jupyter.errors import DefinitionError

__all__ = [
    "CORE_TYPES",
    "is_auto_increment",
    "core_of",
    "is_blob_like",
    "parse_type",
    "quote_string",
    "read_string_literal",
]

CORE_TYPES = (
    "int8", "int16", "int32", "int64", "float32", "float64", "bool", "decimal",
    "char", "varchar", "enum", "date", "datetime", "json", "uuid", "bytes",
)
_PLAIN_CORE = frozenset(
    ("int8", "int16", "int32", "int64", "float32", "float64", "bool", "date", "json", "uuid",
     "bytes")
)
_BLOB_LIKE = frozenset(("json", "bytes", "codec", "text"))
_SIGNED_INTS = ("int8", "int16", "int32", "int64")

# store names as DataJoint writes them: letters, digits, '_' and '-' (``<npy@repo-s3>``)
_CODEC = re.compile(
    r"<(?P<name>[a-z][a-z0-9_]*)(?P<at>@(?P<store>[A-Za-z][A-Za-z0-9_-]*)?)?>")
_TYPE = re.compile(
    r"(?P<name>[A-Za-z][A-Za-z0-9_]*)\s*(?:\((?P<args>.*)\))?\s*(?P<rest>.*)", re.DOTALL
)
_UNSIGNED_CORE = re.compile(r"u(int(8|16|32|64))")
_INTEGER = re.compile(r"\s*\d+\s*")

_NATIVE_INTS = {  # name: (core type when signed, core type when unsigned)
    "tinyint": ("int8", "int16"), "smallint": ("int16", "int32"),
    "mediumint": ("int32", "int32"), "int": ("int32", "int64"),
    "integer": ("int32", "int64"), "bigint": ("int64", "int64"),
}
_NATIVE_FIXED = {
    "real": ("float32", "float32"), "double": ("float64", "float64"),
    "boolean": ("bool", "bool"), "year": ("int16", "int16"),
    "time": ("time", "datetime or float64 seconds"),
    "tinytext": ("text", "varchar(n)"), "text": ("text", "varchar(n)"),
    "mediumtext": ("text", "varchar(n)"), "longtext": ("text", "varchar(n)"),
    "tinyblob": ("bytes", "bytes or <blob>"), "blob": ("bytes", "bytes or <blob>"),
    "mediumblob": ("bytes", "bytes or <blob>"), "longblob": ("bytes", "bytes or <blob>"),
}
_CODEC_SYNTAX = "<codec>, <codec@> or <codec@store>"


def _error(message: str, line: int, line_text: str | None) -> DefinitionError:
    return DefinitionError(message, line=line or None, text=line_text)


def parse_type(text: str, *, line: int = 0, line_text: str | None = None) -> TypeSpec:
    """Resolve type text such as ``decimal(5,2)`` or ``<blob@cold>``; raise if it is not a type."""
    source = text.strip()
    try:
        if source.startswith("<"):
            return _parse_codec(source)
        match = _TYPE.fullmatch(source)
        if not match:
            raise ValueError(_unknown_type_message(source))
        name, args, rest = match.group("name").lower(), match.group("args"), match.group("rest")
        rest = " ".join(rest.lower().split())
        if name in CORE_TYPES:
            return _parse_core(name, args, rest)
        return _parse_native(source, name, args, rest)
    except ValueError as exc:
        raise _error(str(exc), line, line_text) from None


def core_of(spec: TypeSpec) -> tuple[str, tuple[Any, ...]]:
    """The core family and arguments a type is stored as (a native type's core equivalent)."""
    if spec.name != "native":
        return spec.name, spec.args
    core = spec.args[0] if spec.args else "text"
    if core in ("text", "time"):
        return core, ()
    resolved = parse_type(core)
    return resolved.name, resolved.args


def is_blob_like(spec: TypeSpec) -> bool:
    """True for types that hold documents or large values: no key, only a null default."""
    if spec.is_native:
        return spec.args[0] in _BLOB_LIKE
    return spec.name in _BLOB_LIKE


# ---------------------------------------------------------------- codecs


def _parse_codec(source: str) -> TypeSpec:
    match = _CODEC.fullmatch(source)
    if not match:
        raise ValueError(
            f"invalid codec type {source!r}: write {_CODEC_SYNTAX}: a lower-case codec name "
            "and a store name of letters, digits, '_' or '-', e.g. <blob> or <npy@repo-s3>"
        )
    store = match.group("store") or ("" if match.group("at") else None)
    return TypeSpec("codec", (match.group("name"), store), source)


# ---------------------------------------------------------------- core types


def _parse_core(name: str, args: str | None, rest: str) -> TypeSpec:
    if rest == "unsigned" and name in _SIGNED_INTS:
        raise ValueError(_unsigned_message(name))
    if rest == "unsigned" and name == "decimal":  # MySQL's, as DataJoint passes it through
        core = _CORE_WITH_ARGS[name](args).text
        warnings.warn(f"native type {core} unsigned is not portable; use {core} (unsigned is "
                      "not enforced)", UserWarning, stacklevel=4)
        return TypeSpec("native", (core,), f"{core} unsigned")
    if rest:
        raise ValueError(f"unexpected {rest!r} after {name}")
    if name in _PLAIN_CORE:
        if args is not None:
            raise ValueError(f"{name} takes no parameters: write {name}")
        return TypeSpec(name, (), name)
    return _CORE_WITH_ARGS[name](args)


def _integers(args: str, count: int, usage: str) -> tuple[int, ...]:
    parts = args.split(",")
    if len(parts) != count or not all(_INTEGER.fullmatch(p) for p in parts):
        raise ValueError(f"write {usage}")
    return tuple(int(p) for p in parts)


def _decimal(args: str | None) -> TypeSpec:
    usage = "decimal(precision,scale), e.g. decimal(10,2)"
    if args is None:
        raise ValueError(f"decimal needs a precision and a scale: {usage}")
    precision, scale = _integers(args, 2, usage)
    if not 1 <= precision <= 65:
        raise ValueError(f"decimal precision must be between 1 and 65, not {precision}")
    if not 0 <= scale <= precision:
        raise ValueError(f"decimal scale must be between 0 and the precision ({precision})")
    return TypeSpec("decimal", (precision, scale), f"decimal({precision},{scale})")


def _string_type(name: str, limit: int, example: int) -> Callable[[str | None], TypeSpec]:
    def parse(args: str | None) -> TypeSpec:
        if args is None:
            raise ValueError(f"{name} needs a length: write {name}({example})")
        (length,) = _integers(args, 1, f"{name}(length), e.g. {name}({example})")
        if not 1 <= length <= limit:
            raise ValueError(f"{name} length must be between 1 and {limit}, not {length}")
        return TypeSpec(name, (length,), f"{name}({length})")

    return parse


def _datetime(args: str | None) -> TypeSpec:
    if args is None:
        return TypeSpec("datetime", (), "datetime")
    (fsp,) = _integers(args, 1, "datetime or datetime(n) with n from 0 to 6")
    if not 0 <= fsp <= 6:
        raise ValueError(f"datetime precision must be between 0 and 6, not {fsp}")
    return TypeSpec("datetime", (fsp,), f"datetime({fsp})")


def _enum(args: str | None) -> TypeSpec:
    usage = "write enum('value1', 'value2', ...)"
    if args is None or not args.strip():
        raise ValueError(f"enum needs at least one value: {usage}")
    values = _string_list(args, usage)
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"enum lists {duplicates[0]!r} more than once")
    text = "enum(" + ",".join(quote_string(v, "'") for v in values) + ")"
    return TypeSpec("enum", values, text)


_CORE_WITH_ARGS: dict[str, Callable[[str | None], TypeSpec]] = {
    "decimal": _decimal,
    "char": _string_type("char", 255, 1),
    "varchar": _string_type("varchar", 65535, 255),
    "datetime": _datetime,
    "enum": _enum,
}


# ---------------------------------------------------------------- string literals


def read_string_literal(text: str, start: int) -> tuple[str, int]:
    """Read the quoted literal at ``text[start]``; return its value and the index after it.

    Either quote may be used; inside, a backslash escapes the next character and a
    doubled quote stands for one quote.
    """
    quote = text[start]
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            chars.append(text[i + 1])
            i += 2
        elif char == quote and text[i + 1 : i + 2] == quote:
            chars.append(quote)
            i += 2
        elif char == quote:
            return "".join(chars), i + 1
        else:
            chars.append(char)
            i += 1
    raise ValueError(f"unterminated string {text[start:]!r}: close it with {quote}")


def quote_string(value: str, quote: str = '"') -> str:
    """The literal that :func:`read_string_literal` reads back as ``value``."""
    escaped = value.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return quote + escaped + quote


def _string_list(args: str, usage: str) -> tuple[str, ...]:
    values: list[str] = []
    i = 0
    while True:
        i = _skip_spaces(args, i)
        if i >= len(args) or args[i] not in "'\"":
            raise ValueError(f"enum values must be quoted strings: {usage}")
        value, i = read_string_literal(args, i)
        values.append(value)
        i = _skip_spaces(args, i)
        if i == len(args):
            return tuple(values)
        if args[i] != ",":
            raise ValueError(f"separate enum values with commas: {usage}")
        i += 1


def _skip_spaces(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


# ---------------------------------------------------------------- native SQL types


def _parse_native(source: str, name: str, args: str | None, rest: str) -> TypeSpec:
    """Accept a non-portable SQL type, warn, and record the core type it stands for."""
    if name in _NATIVE_INTS:
        core, text = _native_int(name, args, rest)
    else:
        unsigned_float = rest == "unsigned" and name in ("float", "double", "real")
        if rest and not (name == "double" and rest == "precision") and not unsigned_float:
            raise ValueError(f"unexpected {rest!r} after {name}")
        if name in _NATIVE_FIXED and args is None:
            core, text = _NATIVE_FIXED[name][0], f"{name} {rest}".strip()
        else:
            core, text = _native_with_args(source, name, args)
        if unsigned_float and not text.endswith("unsigned"):
            text += " unsigned"
    suggestion = _NATIVE_FIXED.get(name, (core, core))[1]
    warnings.warn(
        f"native type {text} is not portable; use {suggestion}", UserWarning, stacklevel=3
    )
    return TypeSpec("native", (core,), text)


AUTO_INCREMENT = "auto_increment"


def _native_int(name: str, args: str | None, rest: str) -> tuple[str, str]:
    if args is not None:  # a display width such as int(11) means nothing to us
        _integers(args, 1, f"{name} or {name}(width)")
    if rest not in ("", "unsigned", AUTO_INCREMENT, f"unsigned {AUTO_INCREMENT}"):
        raise ValueError(f"unexpected {rest!r} after {name}: only 'unsigned' and then "
                         f"'{AUTO_INCREMENT}' may follow it")
    signed, unsigned = _NATIVE_INTS[name]
    return (unsigned if rest.startswith("unsigned") else signed), f"{name} {rest}".strip()


def is_auto_increment(spec: TypeSpec) -> bool:
    """Whether the database numbers this integer itself (MySQL-style ``int auto_increment``,
    accepted as DataJoint 2.x accepts it: a native integer type only)."""
    return spec.is_native and spec.text.endswith(AUTO_INCREMENT)


def _native_with_args(source: str, name: str, args: str | None) -> tuple[str, str]:
    if name == "float":
        if args is None:
            return "float32", "float"
        (bits,) = _integers(args, 1, "float or float(p)")
        return ("float32" if bits <= 24 else "float64"), f"float({bits})"
    if name == "timestamp":
        core = _datetime(args).text
        return core, core.replace("datetime", "timestamp")
    if name == "numeric":
        core = _decimal(args).text
        return core, core.replace("decimal", "numeric")
    if name in _NATIVE_FIXED:
        raise ValueError(f"{name} takes no parameters: write {name}")
    raise ValueError(_unknown_type_message(source))


# ---------------------------------------------------------------- messages


def _unsigned_message(name: str) -> str:
    if name == "int64":
        wider = "int64 (no wider signed type exists) or decimal(20,0)"
    else:
        wider = f"{_SIGNED_INTS[_SIGNED_INTS.index(name) + 1]} (the next larger signed type)"
    return f"unsigned types do not exist in DataJoint 2.x: use {wider}"


def _unknown_type_message(source: str) -> str:
    unsigned = _UNSIGNED_CORE.fullmatch(source.strip().lower())
    if unsigned:
        return _unsigned_message(unsigned.group(1))
    word = source.partition("(")[0].strip().lower()
    close = difflib.get_close_matches(word, CORE_TYPES, n=1)
    hint = f" Did you mean {close[0]}?" if close else ""
    return (
        f"unknown type {source!r}.{hint} Use a core type ({', '.join(CORE_TYPES)}; "
        f"decimal, char, varchar, enum and datetime take parameters) or a codec "
        f"written {_CODEC_SYNTAX}"
    )
