"""Which of the keys direct populate listed have been made since (by another worker).

Keys are compared on ``key_source``'s attributes: a table that adds key attributes of its own
(several rows per ``make``) has a key done when any row has its values.

Direct populate lists its keys once and then makes them one after another; meanwhile other
workers may make some of them. Before each batch it asks the table which keys of the batch
have rows. A key this check misses is still caught later: its insert fails as a duplicate,
and populate then finds it made and skips it. So the check only has to be cheap and never
claim a key that is not made.

For a key of one attribute the batch is one range of the listing's order, and the table is
asked for its rows between the batch's first and last key: two parameters, one index range
scan. When that range holds too many rows (keys made long ago lie between the listed ones),
and for keys of several attributes, the keys are asked for by value, ``key IN (...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..algebra.compiler import table_clause
from ..objects.codecs import storage_spec

if TYPE_CHECKING:
    from ..tables.table import Table

__all__ = ["DoneCheck"]


class DoneCheck:
    """``check(keys)``: the keys among ``keys`` that have rows in ``table``, as tuples."""

    def __init__(self, table: Table, key_binders: list[tuple[str, str, Any]], batch: int,
                 *, distinct: bool = False):
        connection = table.connection
        self._connection = connection
        self._binders = key_binders  # (attribute, parameter name, binder) of each key attribute
        names = [n for n, _, _ in key_binders]
        heading, dialect = table.heading, connection.dialect
        self._decoders = [dialect.decoder(storage_spec(heading[n].type)) for n in names]
        target = table_clause(dialect, table.node)
        columns = [target.c[n] for n in names]
        limit = dialect.prepared_parameters_max
        self._in_batch = max(1, min(batch, limit // len(names) if limit else batch))
        by_value = _by_value(columns, self._in_batch)
        self._by_value = connection.prepare(by_value.distinct() if distinct else by_value)
        self._range_rows = 2 * batch
        self._by_range = connection.prepare(_by_range(columns[0], self._range_rows, distinct)) \
            if len(names) == 1 else None
        #: Keys per check: a range takes any number, values as many as the driver prepares.
        self.batch = batch if self._by_range is not None else self._in_batch

    def __call__(self, keys: list[dict]) -> set[tuple]:
        """Of ``keys`` (in the listing's order), those with rows in the table."""
        if self._by_range is not None and len(keys) > 1:
            (name, _, bind), = self._binders
            rows, _ = self._connection.run_prepared(
                self._by_range, {"low": bind(keys[0][name]), "high": bind(keys[-1][name])},
                fetch=True)
            if len(rows) < self._range_rows:
                return self._decoded(rows)
        made: set[tuple] = set()
        for start in range(0, len(keys), self._in_batch):
            made |= self._made_by_value(keys[start:start + self._in_batch])
        return made

    def _made_by_value(self, keys: list[dict]) -> set[tuple]:
        binders = self._binders
        bound = [[bind(key[n]) for n, _, bind in binders] for key in keys]
        bound += [bound[-1]] * (self._in_batch - len(bound))  # fill the slots: repeat the last
        values = {f"k{slot}_{n}": value for slot, row in enumerate(bound)
                  for (n, _, _), value in zip(binders, row)}
        rows, _ = self._connection.run_prepared(self._by_value, values, fetch=True)
        return self._decoded(rows)

    def _decoded(self, rows: list) -> set[tuple]:
        decoders = self._decoders
        return {tuple(d(v) if d else v for d, v in zip(decoders, row)) for row in rows}


def _by_value(columns: list[sa.Column], slots: int) -> sa.Select:
    """``key IN (k1, ..., kN)``; a key of several attributes as row values."""
    params = [[sa.bindparam(f"k{i}_{c.name}") for c in columns] for i in range(slots)]
    if len(columns) == 1:
        condition = columns[0].in_([slot[0] for slot in params])
    else:
        condition = sa.tuple_(*columns).in_([sa.tuple_(*slot) for slot in params])
    return sa.select(*columns).where(condition)


def _by_range(column: sa.Column, rows: int, distinct: bool) -> sa.Select:
    """The rows between two keys, at most ``rows`` of them (distinct keys when the table's
    key has more attributes than the keys checked)."""
    select = sa.select(column).where(column >= sa.bindparam("low"),
                                     column <= sa.bindparam("high"))
    return (select.distinct() if distinct else select).limit(rows)
