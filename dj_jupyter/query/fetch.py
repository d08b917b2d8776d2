"""Running compiled queries and shaping their rows (dicts, DataFrames, arrays).

The bulk path: one compiled SELECT on the raw driver cursor, ``fetchall``,
then column-wise decoding only of the columns whose driver values need it
(e.g. bool on MySQL, UUID bytes, JSON text on SQLite).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from ..algebra.compiler import compile_count, compile_exists, compile_select
from ..algebra.conditions import KeyAfter
from ..errors import FetchError, QueryError, RestrictionError
from ..objects.codecs import decoder_for
from ..settings import config
from .operands import checked_count, checked_order_by

if TYPE_CHECKING:
    from .expression import QueryExpression

__all__ = ["CODECS_ATTR", "rows", "to_dicts", "to_pandas", "to_polars", "to_arrow",
           "to_arrays", "fetch1", "legacy_fetch", "count", "exists", "iterate"]

CODECS_ATTR = "dj_jupyter.codecs"  # to_pandas(): frame.attrs key, {column: codec name}
TEXT_FAMILIES = frozenset({"char", "varchar", "text", "enum"})


def raw_rows(query: QueryExpression, names: list[str], *, order_by: Any = None,
             limit: int | None = None, offset: int | None = None) -> list[tuple]:
    """The rows exactly as the driver returns them (not decoded)."""
    order_by = checked_order_by(order_by)
    limit = checked_count(limit, "limit")
    offset = checked_count(offset, "offset")
    connection = query.connection
    cache = _sql_cache(query)
    key = (tuple(names), repr(order_by), limit, offset)
    if cache is None or key not in cache:
        statement = compile_select(query.node, connection.dialect, names=names,
                                   order_by=order_by, limit=limit, offset=offset)
        compiled = connection.compile(statement)
        if cache is None:
            return _fetched(connection, *compiled)
        cache[key] = compiled
    return _fetched(connection, *cache[key])


def _fetched(connection, sql: str, params: Any) -> list:
    """The rows of compiled SQL; a statement the server refuses is a QueryError.

    Restriction strings are SQL the server alone can judge (``WHERE 0`` is fine on SQLite,
    a type error on PostgreSQL), so its refusal is translated here, for every query.
    """
    try:
        return connection.run(sql, params, fetch=True)[0]
    except (sa.exc.DBAPIError, *connection._driver_errors()) as error:
        detail = str(getattr(error, "orig", error)).strip().splitlines()[0]
        raise QueryError(
            f"{connection.backend} refused the query ({detail}). If a restriction is a SQL "
            "string, check that it is a valid condition there (e.g. 'x > 0', not '0'), or "
            "restrict by a dict of attribute values.") from None


def _sql_cache(query: QueryExpression) -> dict | None:
    """Compiled SQL kept on a query object: its node is immutable, so its SQL is too.

    Tables are not cached: their node is rebuilt from the catalogue, which DDL can change.
    """
    if "_node" not in query.__dict__ or query.__dict__["_node"] is None:
        return None
    return query.__dict__.setdefault("_compiled_sql", {})


def rows(query: QueryExpression, names: list[str] | None = None, *, order_by: Any = None,
         limit: int | None = None, offset: int | None = None,
         squeeze: bool = False) -> tuple[list[str], list[list]]:
    """Column names and decoded columns (one list per attribute).

    ``names`` may leave out attributes that ``order_by`` names: the rows are ordered by the
    whole query, then only ``names`` are read (``keys(order_by="date")``). ``squeeze`` drops
    the length-1 dimensions of array values, as DataJoint's ``squeeze=True`` does.
    """
    heading = query.heading
    names = heading.names if names is None else names
    data = raw_rows(query, names, order_by=order_by, limit=limit, offset=offset)
    if not data:
        return names, [[] for _ in names]
    columns = [list(col) for col in zip(*data)]
    dialect = query.connection.dialect
    for position, name in enumerate(names):
        decode = decoder_for(dialect, heading[name].type)
        if decode is not None:
            columns[position] = list(map(decode, columns[position]))
        if squeeze:
            columns[position] = list(map(_squeezed, columns[position]))
    return names, columns


def _squeezed(value: Any) -> Any:
    """A numpy array (also a MATLAB cell or struct) without its length-1 dimensions, as
    DataJoint squeezes the fetched value itself (what it holds stays as it is); any other
    value as it is."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return value.squeeze()
    return value


def _run(connection, statement) -> list:
    return _fetched(connection, *connection.compile(statement))


def to_dicts(query, *, order_by=None, limit=None, offset=None, squeeze=False) -> list[dict]:
    names, columns = rows(query, order_by=order_by, limit=limit, offset=offset, squeeze=squeeze)
    return [dict(zip(names, values)) for values in zip(*columns)]


def _optional(module: str, extra: str, method: str):
    """An optional dependency, or a FetchError naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise FetchError(f"{method}() needs {module}, which is not installed: "
                         f"pip install 'dj-jupyter[{extra}]' (or pip install {module})") from None


def to_polars(query, *, order_by=None, limit=None, offset=None, squeeze=False):
    """A polars DataFrame of the rows (columns in heading order, even when there are none)."""
    polars = _optional("polars", "polars", "to_polars")
    names, columns = rows(query, order_by=order_by, limit=limit, offset=offset, squeeze=squeeze)
    return polars.DataFrame({n: _plain_column(c) for n, c in zip(names, columns)},
                            strict=False)


def to_arrow(query, *, order_by=None, limit=None, offset=None, squeeze=False):
    """A pyarrow Table of the rows (columns in heading order, even when there are none)."""
    pyarrow = _optional("pyarrow", "arrow", "to_arrow")
    names, columns = rows(query, order_by=order_by, limit=limit, offset=offset, squeeze=squeeze)
    return pyarrow.table({n: _plain_column(c) for n, c in zip(names, columns)})


def _plain_column(column: list) -> list:
    """Values arrow can hold: numpy arrays as nested lists, numpy scalars as Python ones."""
    if not any(type(v).__module__ == "numpy" for v in column):
        return column
    return [v.tolist() if type(v).__module__ == "numpy" else v for v in column]


def to_pandas(query, *, order_by=None, limit=None, offset=None, squeeze=False):
    """A DataFrame indexed by the primary key; ``frame.attrs[CODECS_ATTR]`` names the codec
    of each column that has one (the data are exactly what was fetched).

    Built from the driver's rows as they come; only the columns whose driver values need
    decoding are extracted and replaced (pandas would otherwise read e.g. a NULL bool as NaN).
    """
    import pandas as pd

    heading = query.heading
    names = heading.names
    data = raw_rows(query, names, order_by=order_by, limit=limit, offset=offset)
    frame = pd.DataFrame(data, columns=names) if data else pd.DataFrame(columns=names)
    dialect = query.connection.dialect
    for position, name in enumerate(names):
        attribute = heading[name]
        decode = decoder_for(dialect, attribute.type)
        if decode is not None and data:
            raw = [row[position] for row in data]
            if attribute.family == "datetime":  # ISO text: parse the whole column (None: NaT)
                frame[name] = pd.to_datetime(pd.Series(raw, dtype=object), format="ISO8601")
            else:
                values = list(map(decode, raw))
                frame[name] = pd.Series(list(map(_squeezed, values)) if squeeze else values,
                                        dtype=object if attribute.dtype == "O" else None)
        if attribute.dtype == "float64" and frame[name].dtype == object:
            frame[name] = frame[name].astype("float64")  # NULL floats are NaN, as in to_arrays
    key = heading.primary_key
    if key and len(frame):
        frame = frame.set_index(key)
    # which columns came through which codec: a notebook shows their cells as badges
    frame.attrs[CODECS_ATTR] = {n: heading[n].codec for n in names if heading[n].codec}
    return frame


def to_arrays(query, *attributes: str, include_key: bool = False, order_by=None, limit=None,
              offset=None, squeeze=False):
    import numpy as np

    heading = query.heading
    wanted = _wanted(heading, attributes)
    options = dict(order_by=order_by, limit=limit, offset=offset, squeeze=squeeze)
    if not attributes:
        names, columns = rows(query, **options)
        dtype = [(n, _dtype(heading[n], col)) for n, col in zip(names, columns)]
        return np.array(list(zip(*columns)) if columns and columns[0] else [], dtype=dtype)
    fetch_names = list(dict.fromkeys([*heading.primary_key, *wanted])) if (
        include_key or "KEY" in attributes) else wanted
    names, columns = rows(query, fetch_names, **options)
    by_name = dict(zip(names, columns))
    result: list[Any] = []
    for attribute in attributes:
        if attribute == "KEY":
            result.append(_keys(heading.primary_key, by_name))
        else:
            result.append(_array(heading[attribute], by_name[attribute]))
    if include_key:
        result.insert(0, _keys(heading.primary_key, by_name))
    return result[0] if len(result) == 1 else tuple(result)


def _keys(key: list[str], by_name: dict) -> list[dict]:
    return [dict(zip(key, values)) for values in zip(*(by_name[k] for k in key))]


def _dtype(attribute, column: list) -> str:
    dtype = attribute.dtype
    if dtype in ("int64", "bool") and any(v is None for v in column):
        return "O"
    return dtype


def _array(attribute, column: list):
    import numpy as np

    dtype = _dtype(attribute, column)
    if attribute.type.name in TEXT_FAMILIES and all(isinstance(v, str) for v in column):
        return np.array(column, dtype=str)  # a numpy str array, as DataJoint gives
    if dtype == "float64":
        return np.array([np.nan if v is None else v for v in column], dtype="float64")
    if dtype != "O":
        return np.array(column, dtype=dtype)
    array = np.empty(len(column), dtype=object)
    for position, value in enumerate(column):  # one by one: array-likes (NpyRef, xarray)
        array[position] = value                 # stay objects, unread, not converted
    return array


def _wanted(heading, attributes: tuple) -> list[str]:
    """The named attributes (``"KEY"`` stands for the primary key); unknown names refused."""
    wanted = [a for a in attributes if a != "KEY"]
    unknown = [a for a in wanted if a not in heading]
    if unknown:
        raise FetchError(f"unknown attribute(s) {', '.join(unknown)}; the query has "
                         f"{', '.join(heading.names)}")
    return wanted


def fetch1(query, *attributes: str, squeeze: bool = False):
    """The one row as a dict, or its named values (Python values: NULL is None)."""
    if not attributes:
        found = to_dicts(query, limit=2, squeeze=squeeze)
        _require_one(len(found))
        return found[0]
    heading = query.heading
    wanted = _wanted(heading, attributes)
    key = heading.primary_key
    names = list(dict.fromkeys([*key, *wanted])) if "KEY" in attributes else wanted
    names, columns = rows(query, names, limit=2, squeeze=squeeze)
    _require_one(len(columns[0]) if columns else 0)
    row = {name: column[0] for name, column in zip(names, columns)}
    values = tuple({k: row[k] for k in key} if a == "KEY" else row[a] for a in attributes)
    return values[0] if len(values) == 1 else values


def _require_one(size: int) -> None:
    if size != 1:
        raise FetchError(
            f"fetch1 expects exactly one row, but the query "
            f"{'has none' if size == 0 else 'has several'}"
            "; restrict it to one row first (e.g. Table & key)")


def legacy_fetch(query, *attributes: str, offset=None, limit=None, order_by=None, format=None,
                 as_dict=None, squeeze=False, download_path=None):
    """DataJoint 1.x's fetch, as a call of to_arrays/to_dicts/to_pandas/keys."""
    warnings.warn("fetch() is deprecated: use to_dicts(), to_pandas(), to_arrays() or keys()",
                  DeprecationWarning, stacklevel=3)
    if download_path is not None:  # attachments are written where dj.config says
        with config.override({"download_path": str(download_path)}):
            return _fetch_as(query, attributes, offset, limit, order_by, format, as_dict,
                             squeeze)
    return _fetch_as(query, attributes, offset, limit, order_by, format, as_dict, squeeze)


def _fetch_as(query, attributes: tuple[str, ...], offset, limit, order_by, format, as_dict,
              squeeze):
    if order_by is not None and limit is None and offset:
        raise RestrictionError("offset needs limit")
    options = dict(order_by=order_by, limit=limit, offset=offset, squeeze=squeeze)
    # Through the query's own methods: fetch is only a different spelling of them.
    if attributes:
        if format == "frame":
            raise FetchError("format='frame' cannot be combined with attribute names in "
                             "fetch(); use q.proj(*names).to_pandas()")
        if attributes == ("KEY",):
            return query.keys(order_by=order_by, limit=limit, offset=offset)
        if as_dict:
            return query.proj(*[a for a in attributes if a != "KEY"]).to_dicts(**options)
        return query.to_arrays(*attributes, **options)
    if format == "frame":
        return query.to_pandas(**options)
    if as_dict:
        return query.to_dicts(**options)
    return query.to_arrays(**options)


def count(query, at_most: int | None = None) -> int:
    """The number of rows of ``query``; with ``at_most``, ``min(rows, at_most)``, read
    without counting past it."""
    data = _run(query.connection,
                compile_count(query.node, query.connection.dialect, at_most))
    return int(data[0][0])


def exists(query) -> bool:
    data = _run(query.connection, compile_exists(query.node, query.connection.dialect))
    return bool(data[0][0])


def iterate(query, batch: int = 1000) -> Iterator[dict]:
    """Rows one at a time in key order, read in pages of ``batch`` rows.

    Pages continue after the last key seen (``WHERE key > last``), so each page costs
    the same however deep into the result it is; no cursor is held open between rows.
    """
    heading = query.heading
    key = heading.primary_key
    if not key or any(heading[k].nullable for k in key):
        yield from _iterate_by_offset(query, batch)
        return
    page_query = query
    while True:
        page = to_dicts(page_query, order_by="KEY", limit=batch)
        yield from page
        if len(page) < batch:
            return
        last = tuple(page[-1][k] for k in key)
        page_query = query.restrict(KeyAfter(tuple(key), last))


def _iterate_by_offset(query, batch: int) -> Iterator[dict]:
    offset = 0
    while True:
        page = to_dicts(query, order_by="KEY" if query.heading.primary_key else None,
                        limit=batch, offset=offset)
        yield from page
        if len(page) < batch:
            return
        offset += batch
