"""DDL statements SQLAlchemy lacks (add, drop, modify and rename columns; COPY), with their
portable compile rules; each dialect's own rules live in its folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

__all__ = ["CopyFrom", "AddColumn", "DropColumn", "ModifyColumn", "AlterColumns", "RenameTable",
           "RenameColumn"]


class CopyFrom(sa.sql.expression.Executable, sa.sql.expression.ClauseElement):
    """PostgreSQL ``COPY table (columns) FROM STDIN``: the bulk load path for new rows."""

    inherit_cache = False

    def __init__(self, table: sa.Table, names: Sequence[str]):
        self.table = table
        self.names = list(names)


class AddColumn(sa.schema.ExecutableDDLElement):
    """``ALTER TABLE t ADD COLUMN <specification>`` for a column of the target table."""

    inherit_cache = False

    def __init__(self, column: sa.Column):
        self.column = column


class DropColumn(sa.schema.ExecutableDDLElement):
    inherit_cache = False

    def __init__(self, table: sa.Table, name: str):
        self.table = table
        self.name = name


class ModifyColumn(sa.schema.ExecutableDDLElement):
    """Give an existing column the type, nullability and default of ``column``."""

    inherit_cache = False

    def __init__(self, column: sa.Column):
        self.column = column


class AlterColumns(sa.schema.ExecutableDDLElement):
    """Several column changes (and the table comment) in one ALTER TABLE statement;
    ``renamed`` maps a column's new name to its current one."""

    inherit_cache = False

    def __init__(self, table: sa.Table, dropped: Sequence[str], added: Sequence[str],
                 modified: Sequence[str], table_comment: bool,
                 renamed: Mapping[str, str] | None = None):
        self.table = table
        self.dropped, self.added, self.modified = list(dropped), list(added), list(modified)
        self.table_comment = table_comment
        self.renamed = dict(renamed or {})


class RenameTable(sa.schema.ExecutableDDLElement):
    inherit_cache = False

    def __init__(self, table: sa.Table, new_name: str):
        self.table = table
        self.new_name = new_name


class RenameColumn(sa.schema.ExecutableDDLElement):
    """``ALTER TABLE t RENAME COLUMN old TO new``: the same words on SQLite (3.25+),
    PostgreSQL and MySQL (8.0+; MariaDB 10.5+); the column keeps its values."""

    inherit_cache = False

    def __init__(self, table: sa.Table, old: str, new: str):
        self.table = table
        self.old, self.new = old, new


@compiles(RenameColumn)
def _compile_rename_column(element: RenameColumn, compiler: Any, **kw: Any) -> str:
    table, quote = compiler.preparer.format_table(element.table), compiler.preparer.quote
    return f"ALTER TABLE {table} RENAME COLUMN {quote(element.old)} TO {quote(element.new)}"


@compiles(AddColumn)
def _compile_add_column(element: AddColumn, compiler: Any, **kw: Any) -> str:
    table = compiler.preparer.format_table(element.column.table)
    return f"ALTER TABLE {table} ADD COLUMN {compiler.get_column_specification(element.column)}"


@compiles(DropColumn)
def _compile_drop_column(element: DropColumn, compiler: Any, **kw: Any) -> str:
    table = compiler.preparer.format_table(element.table)
    return f"ALTER TABLE {table} DROP COLUMN {compiler.preparer.quote(element.name)}"


@compiles(RenameTable)
def _compile_rename_table(element: RenameTable, compiler: Any, **kw: Any) -> str:
    table = compiler.preparer.format_table(element.table)
    return f"ALTER TABLE {table} RENAME TO {compiler.preparer.quote(element.new_name)}"


@compiles(ModifyColumn)
def _compile_modify_column(element: ModifyColumn, compiler: Any, **kw: Any) -> str:
    raise NotImplementedError("SQLite changes columns by rebuilding the table (rebuild_table)")
