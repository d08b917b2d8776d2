"""Job status of many auto-populated tables at once, in a bounded number of queries.

What a live diagram shows on its Computed and Imported nodes: keys done of the key source,
keys reserved by a worker (here or on another machine), failed and ignored keys. Read-only;
the job queues themselves (:mod:`.jobs`) are never changed here.

Cost is bounded by the number of schemas, not tables: one statement carries, per table, the
size of its key source, the keys of it the table holds (``done``, counted from the table,
never from success job records, which DataJoint deletes) and its job counts by status, each
a scalar subquery (``STATEMENT_TABLES`` tables per statement); the job tables that exist are
listed once per schema that still misses one. The statement is compiled once and run again
on every refresh (until a table or job table comes or goes), so a refresh costs the database
time of one statement. The key source is the join of the table's
primary-key parents, as ``populate`` takes it unless a class overrides ``key_source``; pass
``key_sources`` to count such tables by their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from ..algebra.compiler import compile_count
from ..catalog import metadata
from ..catalog.catalog import catalog_of
from ..catalog.naming import tier_of
from ..errors import DataJointError
from ..query.expression import QueryExpression
from ..tables.table import FreeTable
from .jobs import JobQueue, job_table_name
from .key_source import natural_key_source

__all__ = ["STATEMENT_TABLES", "StatusReader", "TableStatus", "auto_tables", "natural_key_source"]

#: Tables per statement: 5 columns each stays far below PostgreSQL's 1664 select columns.
STATEMENT_TABLES = 250
_JOB_STATUSES = ("reserved", "error", "ignore")  # the queue's parts read, in this order


@dataclass(frozen=True)
class TableStatus:
    """Keys of one auto-populated table: of ``total`` in its key source, ``done`` have rows;
    ``reserved`` are being made, ``error`` failed, ``ignore`` are set aside."""

    total: int
    done: int
    reserved: int = 0
    error: int = 0
    ignore: int = 0

    @property
    def in_flight(self) -> bool:
        return self.reserved > 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def auto_tables(names: Iterable[str]) -> list[str]:
    """The Computed and Imported tables (not parts) among full ``schema.table`` names."""
    return [n for n in names if tier_of(n.partition(".")[2]) in ("Computed", "Imported")]


class StatusReader:
    """Reads :class:`TableStatus` of tables of one connection; remembers which job tables
    exist (a job table, once made, stays), so schemas are listed only while one is missing."""

    def __init__(self, connection: Any):
        self.connection = connection
        self._job_tables: set[str] = set()
        self._queues: dict[str, JobQueue] = {}  # of tables whose job table exists
        # the compiled statement of each chunk: built once, run on every refresh
        self._statements: dict[tuple, tuple[str, Any]] = {}

    def read(self, names: Iterable[str],
             key_sources: Mapping[str, QueryExpression] | None = None) -> dict[str, TableStatus]:
        """Status of each Computed/Imported table among ``names`` (others are left out)."""
        tables = auto_tables(names)
        if not tables:
            return {}
        try:
            return self._read(tables, key_sources or {})
        except DataJointError:
            raise
        except Exception:  # noqa: BLE001 - e.g. a job table dropped elsewhere: look again
            self._job_tables.clear()
            self._queues.clear()
            self._statements.clear()
            return self._read(tables, key_sources or {})

    def _read(self, tables: list[str],
              key_sources: Mapping[str, QueryExpression]) -> dict[str, TableStatus]:
        self._find_job_tables(tables)
        result: dict[str, TableStatus] = {}
        for start in range(0, len(tables), STATEMENT_TABLES):
            chunk = tables[start:start + STATEMENT_TABLES]
            result.update(self._read_chunk(chunk, key_sources))
        return result

    def _find_job_tables(self, tables: list[str]) -> None:
        missing = {n for n in tables if n not in self._job_tables}
        for schema in sorted({n.partition(".")[0] for n in missing}):
            present = set(metadata.table_names(self.connection, schema))
            self._job_tables |= {n for n in missing if n.partition(".")[0] == schema
                                 and job_table_name(n.partition(".")[2]) in present}

    def _read_chunk(self, tables: list[str],
                    key_sources: Mapping[str, QueryExpression]) -> dict[str, TableStatus]:
        key = (catalog_of(self.connection).generation, tuple(tables),
               frozenset(self._job_tables & set(tables)),
               tuple(repr(key_sources[n].node) if n in key_sources else None for n in tables))
        compiled = self._statements.get(key)
        if compiled is None:
            columns: list[sa.ColumnElement] = []
            for name in tables:
                columns += self._columns(name, key_sources.get(name))
            statement = sa.select(*[c.label(f"c{i}") for i, c in enumerate(columns)])
            compiled = self._statements[key] = self.connection.compile(statement)
            if len(self._statements) > 16:  # tables come and go: forget the oldest
                self._statements.pop(next(iter(self._statements)))
        row = self.connection.run(*compiled, fetch=True)[0][0]
        width = 2 + len(_JOB_STATUSES)
        return {name: TableStatus(*(int(v or 0) for v in row[i * width:(i + 1) * width]))
                for i, name in enumerate(tables)}

    def _columns(self, name: str, key_source: QueryExpression | None) -> list[sa.ColumnElement]:
        dialect = self.connection.dialect
        target = FreeTable(self.connection, name)
        source = (key_source if key_source is not None else natural_key_source(target)).proj()
        done = source & target.proj()
        columns: list[sa.ColumnElement] = [
                   compile_count(source.node, dialect).scalar_subquery(),
                   compile_count(done.node, dialect).scalar_subquery()]
        if name in self._job_tables:
            queue = self._queues.get(name)
            if queue is None:  # reads the queue's heading once; it never changes
                queue = self._queues[name] = JobQueue(target)
            columns += [compile_count(part.node, dialect).scalar_subquery()
                        for part in (queue.reserved, queue.errors, queue.ignored)]
        else:
            columns += [sa.literal(0, sa.Integer)] * len(_JOB_STATUSES)
        return columns
