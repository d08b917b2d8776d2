"""The hidden per-row job metadata of Computed/Imported tables (``jobs.add_job_metadata``).

A table declared while ``jobs.add_job_metadata`` is set carries ``_job_start_time``,
``_job_duration`` and ``_job_version``, named and typed as DataJoint 2.x declares them, so a
table either of them wrote reads the same. ``populate`` fills them for every row a ``make``
inserted, in the make's own transaction (DataJoint does it after the commit), so a row and the
record of how it was made commit together. ``Table.stale()`` reads ``_job_version``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..algebra.compiler import value_binder
from ..algebra.heading import Attribute
from ..catalog.declare import JOB_METADATA, JOB_METADATA_COLUMNS
from ..objects.codecs import storage_spec

if TYPE_CHECKING:
    from ..tables.table import Table

__all__ = ["JobMetadata", "has_job_metadata", "keys_of_other_versions"]


def has_job_metadata(table: Table) -> bool:
    """Whether ``table`` was declared with the hidden job-metadata columns."""
    return set(JOB_METADATA_COLUMNS) <= set(table.info.hidden)


def _target(table: Table, names: list[str]) -> sa.TableClause:
    dialect = table.connection.dialect
    sa_schema, address = dialect.table_address(table.database, table.table_name)
    return sa.table(address, *[sa.column(n) for n in names], schema=sa_schema)


class JobMetadata:
    """Writes the metadata of the rows of one key (every row that has the key's values)."""

    def __init__(self, table: Table, key_binders: list[tuple[str, str, Any]]):
        connection = table.connection
        dialect = connection.dialect
        self._connection = connection
        self._key_binders = key_binders
        self._binders = {c.name: value_binder(dialect, Attribute(c.name, c.type, False, True))
                         for c in JOB_METADATA}
        target = _target(table, [*(n for n, _, _ in key_binders), *JOB_METADATA_COLUMNS])
        statement = sa.update(target).where(
            *[target.c[n] == sa.bindparam(p) for n, p, _ in key_binders]
        ).values({n: sa.bindparam(f"set{n}") for n in JOB_METADATA_COLUMNS})
        self._update = connection.prepare(statement)

    def write(self, key: dict, started: dt.datetime, duration: float, version: str) -> None:
        """Set the metadata of ``key``'s rows (inside the make's transaction)."""
        values = {p: bind(key[n]) for n, p, bind in self._key_binders}
        given = {"_job_start_time": started, "_job_duration": duration,
                 "_job_version": (version or "")[:64]}
        values.update({f"set{n}": self._binders[n](v) for n, v in given.items()})
        self._connection.run_prepared(self._update, values)


def keys_of_other_versions(table: Table, version: str) -> list[dict]:
    """Primary keys of the rows whose ``_job_version`` is not ``version``."""
    connection, heading = table.connection, table.heading
    names = heading.primary_key
    target = _target(table, [*names, "_job_version"])
    statement = sa.select(*[target.c[n] for n in names]).where(
        sa.or_(target.c._job_version.is_(None), target.c._job_version != version))
    decoders = [connection.dialect.decoder(storage_spec(heading[n].type)) for n in names]
    return [{n: (d(v) if d else v) for n, d, v in zip(names, decoders, row)}
            for row in connection.fetch_all(statement)]
