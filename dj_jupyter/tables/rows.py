"""Row sources for insert: whatever users pass, as attribute names and columns of values.

Rows may be dicts, sequences of dicts, numpy structured arrays, pandas or polars DataFrames,
pyarrow Tables, a CSV file (a ``pathlib.Path``, one row per line after the header) or
positional sequences (deprecated).
"""

from __future__ import annotations

import csv
import pathlib
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from ..algebra.values import MISSING
from ..errors import DataTypeError

if TYPE_CHECKING:
    from .table import Table

__all__ = ["RowColumns", "to_columns", "frame_for_insert", "read_csv", "row_sequence",
           "check_row", "is_frame", "is_dataframe", "is_structured_array"]


class RowColumns(NamedTuple):
    """Rows as columns: attribute names, one list of values per name, and the row count
    (a row given as an empty dict has no values, and is still a row: all its defaults)."""

    names: list[str]
    columns: list[list]
    row_count: int


def to_columns(rows: Any, table: Table) -> RowColumns:
    """The attribute names and columns of values of any supported row source.

    Positional rows take the table's attribute order.
    """
    if type(rows) not in (list, tuple):  # lists and tuples of dicts come first: make's inserts
        if isinstance(rows, pathlib.PurePath):
            rows = read_csv(rows)
        elif _is_columnar_frame(rows):  # polars DataFrame, pyarrow Table or RecordBatch
            data = rows.to_pydict() if hasattr(rows, "to_pydict") \
                else rows.to_dict(as_series=False)
            return RowColumns(list(data), list(data.values()), len(rows))
        elif is_dataframe(rows):
            frame = rows.reset_index() if any(n is not None for n in rows.index.names) else rows
            names = [str(n) for n in frame.columns]
            return RowColumns(names, [_column_values(frame[n]) for n in frame.columns],
                              len(frame))
        if is_structured_array(rows):
            names = list(rows.dtype.names)
            return RowColumns(names, [rows[n].tolist() for n in names], len(rows))
        rows = row_sequence(rows)
    if not rows:
        return RowColumns([], [], 0)
    first = rows[0]
    kind = _row_kind(first, 0)
    if len(rows) > 1 and not (kind == "dict" and all(type(row) is dict for row in rows)):
        for number, row in enumerate(rows):
            if _row_kind(row, number) != kind:
                raise DataTypeError(
                    f"row {number} is a {type(row).__name__} but row 0 is a "
                    f"{type(first).__name__}; give every row in the same form (dicts)")
    if kind == "dict":
        return RowColumns(*_columns_from_dicts(rows), len(rows))
    if kind == "record":
        names = list(first.dtype.names)
        return RowColumns(names, [[r[n] for r in rows] for n in names], len(rows))
    warnings.warn("Positional inserts are deprecated: insert dicts (attribute names as "
                  "keys) so that a change of attribute order cannot misplace positional values",
                  DeprecationWarning, stacklevel=4)
    names = table.heading.names
    for number, row in enumerate(rows):
        if len(row) != len(names):
            raise DataTypeError(f"Incorrect number of attributes in row {number}: "
                                f"{len(row)} values for the table's {len(names)} attributes "
                                f"({', '.join(names)}); insert dicts")
    return RowColumns(names, [list(values) for values in zip(*rows)], len(rows))


def read_csv(path: pathlib.PurePath) -> list[dict]:
    """The rows of a CSV file with a header line, as dicts of text (as DataJoint reads them);
    the values are then checked like any others ("12" into an int32 is 12, "" is NULL)."""
    try:
        with open(path, newline="", encoding="utf-8") as data:
            return list(csv.DictReader(data))
    except OSError as error:
        raise DataTypeError(f"insert could not read the CSV file {str(path)!r} "
                            f"({error.strerror}); give the path of an existing file") from None


def row_sequence(rows: Any) -> list:
    """``rows`` as a list, refusing what is not a collection of rows."""
    if isinstance(rows, Mapping):
        raise DataTypeError("insert takes a sequence of rows; use insert1(row) for a single dict")
    if rows is None or isinstance(rows, (str, bytes, bytearray)) or not hasattr(rows, "__iter__") \
            or (type(rows).__name__ == "ndarray" and rows.dtype.names is None):
        raise DataTypeError(
            f"insert takes rows (a list of dicts, a structured numpy array, a DataFrame or a "
            f"query), not a {type(rows).__name__}; e.g. T.insert([{{'id': 1}}, {{'id': 2}}])")
    return list(rows)


def _row_kind(row: Any, number: int) -> str:
    """"dict", "record" or "sequence" (positional); anything else is refused."""
    if type(row) is dict or isinstance(row, Mapping):
        return "dict"
    if _is_record(row):
        return "record"
    if isinstance(row, (list, tuple)):
        return "sequence"
    raise DataTypeError(
        f"row {number} is a {type(row).__name__} ({row!r:.40}), not a row; give a dict of "
        "attribute values, e.g. T.insert1({'id': 1, 'name': 'a'})")


def check_row(row: Any, action: str) -> Mapping:
    """A single row given as a dict (``update1``, ``insert1`` of a dict), or a clear error."""
    if not isinstance(row, Mapping):
        raise DataTypeError(f"{action} takes one row as a dict of attribute values, not a "
                            f"{type(row).__name__}; e.g. {action}({{'id': 1, 'name': 'a'}})")
    return row


def _columns_from_dicts(rows: list[Mapping]) -> tuple[list[str], list[list]]:
    """Columns over the union of the rows' attributes; a row lacking one gets its default."""
    names = list(rows[0])
    if len(rows) == 1:
        return names, [[value] for value in rows[0].values()]
    if any(len(row) != len(names) or row.keys() != rows[0].keys() for row in rows):
        names = list(dict.fromkeys(name for row in rows for name in row))
        return names, [[row.get(n, MISSING) for row in rows] for n in names]
    return names, [[row[n] for row in rows] for n in names]


def _column_values(series) -> list:
    """A DataFrame column as Python values (datetime64 as datetime, NaT/NaN as None)."""
    if series.dtype.kind == "M":
        values = list(series.dt.to_pydatetime())
        if series.hasnans:
            values = [None if missing else v for v, missing in zip(values, series.isna())]
        return values
    return series.tolist()


def frame_for_insert(frame: Any, primary_key: list[str], index_as_pk: bool | None) -> Any:
    """``insert_dataframe``: the frame with its index as columns (when it is the primary
    key) or without it. ``index_as_pk=None`` uses the index when its names are the primary
    key's (as ``to_pandas()`` makes it) and drops any other index, as DataJoint does."""
    if not is_dataframe(frame):
        raise DataTypeError(
            f"insert_dataframe requires a pandas DataFrame, not a {type(frame).__name__}; "
            "insert other row sources with insert(rows)")
    names = [n for n in frame.index.names if n is not None]
    if index_as_pk is None:
        index_as_pk = bool(names) and set(names) == set(primary_key)
    if index_as_pk and set(names) != set(primary_key):
        raise DataTypeError(
            f"the DataFrame's index names {names} do not match the primary key {primary_key}; "
            "name the index after the key (df.index.names = [...]), or pass index_as_pk=False "
            "to drop the index")
    return frame.reset_index(drop=not index_as_pk)


def is_frame(value: Any) -> bool:
    """A pandas or polars DataFrame, or a pyarrow Table or RecordBatch."""
    return is_dataframe(value) or _is_columnar_frame(value)


def is_dataframe(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "reset_index")


def is_structured_array(value: Any) -> bool:
    return type(value).__name__ == "ndarray" and value.dtype.names is not None


def _is_columnar_frame(value: Any) -> bool:
    """A polars DataFrame or a pyarrow Table/RecordBatch (read without importing either)."""
    module = type(value).__module__.split(".")[0]
    return (module == "polars" and type(value).__name__ == "DataFrame") or \
        (module == "pyarrow" and type(value).__name__ in ("Table", "RecordBatch"))


def _is_record(value: Any) -> bool:
    return type(value).__name__ == "void" and getattr(value, "dtype", None) is not None
