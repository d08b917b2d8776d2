"""Limits a declaration must keep on every backend, checked before any DDL is sent.

Each server enforces its own limits, differently: MySQL refuses identifiers over 64
characters, PostgreSQL silently truncates them at 63 (later statements then miss the
table), MySQL refuses long comments and InnoDB more than 1,017 columns. One rule, the
strictest, holds on every backend, so a definition that declares on one declares on all.
"""

from __future__ import annotations

from dj_jupyter.errors import DefinitionError

__all__ = ["MAX_IDENTIFIER", "MAX_COLUMN_COMMENT", "MAX_TABLE_COMMENT", "MAX_ATTRIBUTES",
           "check_text", "check_identifier", "check_column_comment", "check_table_comment",
           "check_attribute_count"]

MAX_IDENTIFIER = 63  # PostgreSQL; MySQL allows 64
MAX_COLUMN_COMMENT = 1024  # MySQL, counting the stored ":type:" marker of codec types
MAX_TABLE_COMMENT = 2048  # MySQL
MAX_ATTRIBUTES = 1000  # InnoDB allows 1,017 columns, PostgreSQL 1,600, SQLite 2,000


def check_text(text: object, what: str = "definition") -> str:
    """A definition is a str without NUL or lone surrogates (no server stores those)."""
    if not isinstance(text, str):
        raise DefinitionError(
            f"the {what} must be a str (e.g. a triple-quoted string), not a "
            f"{type(text).__name__}" + ("; decode it first: definition.decode()"
                                        if isinstance(text, (bytes, bytearray)) else ""))
    if "\x00" in text:
        raise DefinitionError(f"the {what} contains the NUL character; remove it")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise DefinitionError(
                f"the {what} holds a lone surrogate {text[error.start]!r} at position "
                f"{error.start}, which is not valid Unicode; remove it") from None
    return text


def check_identifier(name: str, what: str) -> None:
    if len(name) > MAX_IDENTIFIER:
        raise DefinitionError(
            f"{what} {name!r} has {len(name)} characters; the limit is {MAX_IDENTIFIER} on every "
            "backend (PostgreSQL's). Choose a shorter name.")


def check_column_comment(name: str, stored_length: int) -> None:
    if stored_length > MAX_COLUMN_COMMENT:
        raise DefinitionError(
            f"the comment of attribute {name!r} takes {stored_length} characters as stored; the "
            f"limit is {MAX_COLUMN_COMMENT} (MySQL's, kept on every backend). Shorten it.")


def check_table_comment(comment: str) -> None:
    if len(comment) > MAX_TABLE_COMMENT:
        raise DefinitionError(
            f"the table comment has {len(comment)} characters; the limit is {MAX_TABLE_COMMENT} "
            "(MySQL's, kept on every backend). Shorten it.")


def check_attribute_count(table: str, count: int) -> None:
    if count > MAX_ATTRIBUTES:
        raise DefinitionError(
            f"{table} would have {count} attributes; the limit is {MAX_ATTRIBUTES} on every "
            "backend (MySQL allows 1,017). Split the attributes over a master and part tables, "
            "or store related values together in a <blob> or json attribute.")
