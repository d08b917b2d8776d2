"""Row sources for insert: whatever users pass, as attribute names and columns of values.

Rows may be dicts, sequences of dicts, numpy structured arrays, pandas DataFrames, a CSV file
(a ``pathlib.Path``, one row per line after the header) or positional sequences (deprecated).
"""

from __future__ import annotations

import csv
import pathlib
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..algebra.values import MISSING
from ..errors import DataTypeError, MissingAttributeError

if TYPE_CHECKING:
    from .table import Table

__all__ = ["to_columns", "read_csv", "row_sequence", "check_row", "is_dataframe",
           "is_structured_array"]


def to_columns(rows: Any, table: Table) -> tuple[list[str], list[list]]:
    """(attribute names, one list of values per name) from any supported row source.

    Positional rows take the table's attribute order.
    """
    if type(rows) not in (list, tuple):  # lists and tuples of dicts come first: make's inserts
        if isinstance(rows, pathlib.PurePath):
            rows = read_csv(rows)
        elif is_dataframe(rows):
            frame = rows.reset_index() if any(n is not None for n in rows.index.names) else rows
            names = [str(n) for n in frame.columns]
            return names, [_column_values(frame[n]) for n in frame.columns]
        if is_structured_array(rows):
            names = list(rows.dtype.names)
            return names, [rows[n].tolist() for n in names]
        rows = row_sequence(rows)
    if not rows:
        return [], []
    first = rows[0]
    kind = _row_kind(first, 0)
    if len(rows) > 1 and not (kind == "dict" and all(type(row) is dict for row in rows)):
        for number, row in enumerate(rows):
            if _row_kind(row, number) != kind:
                raise DataTypeError(
                    f"row {number} is a {type(row).__name__} but row 0 is a "
                    f"{type(first).__name__}; give every row in the same form (dicts)")
    if kind == "dict":
        return _columns_from_dicts(rows)
    if kind == "record":
        names = list(first.dtype.names)
        return names, [[r[n] for r in rows] for n in names]
    warnings.warn("inserting positional rows is deprecated: insert dicts (attribute names "
                  "as keys) so that a change of attribute order cannot misplace values",
                  DeprecationWarning, stacklevel=4)
    names = table.heading.names
    for number, row in enumerate(rows):
        if len(row) != len(names):
            raise DataTypeError(f"row {number} has {len(row)} values but the table has "
                                f"{len(names)} attributes ({', '.join(names)}); insert dicts")
    return names, [list(values) for values in zip(*rows)]


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
    if not names and all(not row for row in rows):
        raise MissingAttributeError(
            "the rows are empty dicts; give each row at least its primary key, e.g. "
            "T.insert1({'id': 1})")
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


def is_dataframe(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "reset_index")


def is_structured_array(value: Any) -> bool:
    return type(value).__name__ == "ndarray" and value.dtype.names is not None


def _is_record(value: Any) -> bool:
    return type(value).__name__ == "void" and getattr(value, "dtype", None) is not None
