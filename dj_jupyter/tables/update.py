"""``update1``: correct secondary attributes of one existing row, in place.

The new values are checked and encoded as an insert checks them (objects go to their store
under the object journal, so a failed update leaves no object behind), then written by one
compiled UPDATE restricted to the row's primary key.
"""

from __future__ import annotations

from typing import Any

from ..algebra.compiler import compile_update
from ..algebra.values import column_validator
from ..errors import RestrictionError
from ..objects.codecs import storage_spec, uses_store
from ..objects.stores import journal
from .insert import default_value, translate_error
from .rows import check_row

__all__ = ["update_row"]


def update_row(table: Any, row: Any) -> None:
    """Update the row of ``table`` whose primary key ``row`` holds to ``row``'s other values."""
    import sqlalchemy as sa

    row = dict(check_row(row, "update1"))
    key = table.primary_key
    missing = [k for k in key if k not in row]
    if missing:
        raise RestrictionError(f"update1 needs the full primary key; missing {missing}")
    changes = {k: v for k, v in row.items() if k not in key}
    unknown = [k for k in changes if k not in table.heading]
    if unknown:
        raise RestrictionError(
            f"update1: unknown attribute(s) {unknown} of {table.full_table_name}")
    if not changes:
        raise RestrictionError("update1 needs at least one secondary attribute to change")
    target = table & {k: row[k] for k in key}
    if len(target) != 1:
        raise RestrictionError(f"update1: no row of {table.full_table_name} has key "
                               f"{ {k: row[k] for k in key} }; insert it instead")
    values = {}
    with journal(table.connection):  # objects written for a failed update are removed
        for name, value in changes.items():
            attribute = table.heading[name]
            validate = column_validator(table.full_table_name, name, attribute.type,
                                        nullable=attribute.nullable,
                                        default=default_value(attribute))
            codec_key = None
            if uses_store(attribute.type):
                codec_key = [{"_schema": table.database, "_table": table.table_name,
                              "_field": name, **{k: row[k] for k in key}}]
            checked = validate([value], codec_key)[0]  # None means the default (or NULL)
            bind = table.connection.dialect.binder(storage_spec(attribute.type))
            values[name] = checked if checked is None or bind is None else bind(checked)
        try:
            table.connection.execute(
                compile_update(target.node, table.connection.dialect, values))
        except (sa.exc.DBAPIError, *table.connection._driver_errors()) as error:
            raise translate_error(table, error) from None
