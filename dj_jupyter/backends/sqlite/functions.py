"""The SQL functions portable fragments call on SQLite, which SQLite lacks: registered on every
connection (see the SQLite dialect's ``configure_engine``).

Population/sample deviation and variance, an ordered ``GROUP_CONCAT``, MySQL's
``TIMESTAMPDIFF``, ``CONCAT`` and ``IF``, ``REGEXP``, and the math functions a SQLite build may
lack. Their names are the ones :mod:`dj_jupyter.algebra.fragments` renders for SQLite.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import sqlite3
from collections.abc import Callable
from typing import Any

from ..fragment_rules import MICROSECOND_UNITS, MONTH_UNITS

__all__ = ["register_sqlite_functions", "SQLITE_GROUP_CONCAT", "SQLITE_TIMESTAMPDIFF",
           "SQLITE_CONCAT"]

# Names of the SQLite functions the generated SQL uses.
SQLITE_GROUP_CONCAT = "DJ_GROUP_CONCAT"
SQLITE_TIMESTAMPDIFF = "DJ_TIMESTAMPDIFF"
SQLITE_CONCAT = "DJ_CONCAT"


def _number_value(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0  # MySQL reads a non-numeric string as 0


class _Statistic:
    """Variance or standard deviation (population or sample), computed in two passes."""

    sample = False
    root = False

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: Any) -> None:
        number = _number_value(value)
        if number is not None:
            self.values.append(number)

    def finalize(self) -> float | None:
        n = len(self.values)
        if n == 0 or (self.sample and n == 1):
            return None
        mean = math.fsum(self.values) / n
        squares = math.fsum((v - mean) ** 2 for v in self.values)
        variance = squares / (n - 1 if self.sample else n)
        return math.sqrt(variance) if self.root else variance


class _StddevPop(_Statistic):
    root = True


class _StddevSamp(_Statistic):
    root = True
    sample = True


class _VarPop(_Statistic):
    pass


class _VarSamp(_Statistic):
    sample = True


def _concat_text(value: Any) -> str:
    """How MySQL writes a value inside GROUP_CONCAT."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _sort_key(value: Any) -> tuple:
    """NULL first, then numbers, then text, then blobs (SQLite's order of storage classes)."""
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, bytes(value))


class _GroupConcat:
    """DJ_GROUP_CONCAT(value, separator, flags, key...): MySQL's ordered GROUP_CONCAT.

    ``flags`` is "d" (DISTINCT) or "-" followed by "a"/"d" (ascending/descending) per key.
    """

    def __init__(self) -> None:
        self.rows: list[tuple[Any, tuple]] = []
        self.separator = ","
        self.flags = "-"

    def step(self, value: Any, separator: Any, flags: Any, *keys: Any) -> None:
        self.separator, self.flags = str(separator), str(flags)
        if value is not None:
            self.rows.append((value, keys))

    def finalize(self) -> str | None:
        if not self.rows:
            return None
        rows = self.rows
        if self.flags.startswith("d"):
            seen: dict[Any, tuple[Any, tuple]] = {}
            for value, keys in rows:
                seen.setdefault(_sort_key(value), (value, keys))
            rows = list(seen.values())
        directions = self.flags[1:]
        for position in reversed(range(len(directions))):  # stable sort, last key first
            rows.sort(key=lambda row, p=position: _sort_key(row[1][p]),
                      reverse=directions[position] == "d")
        return self.separator.join(_concat_text(value) for value, _keys in rows)


def _moment(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, (str, bytes)):
        text = value.decode() if isinstance(value, bytes) else value
        try:
            moment = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=None)


def _timestampdiff_value(unit: Any, start: Any, end: Any) -> int | None:
    """MySQL's TIMESTAMPDIFF(unit, start, end) on ISO strings (as SQLite stores dates)."""
    a, b = _moment(start), _moment(end)
    if a is None or b is None or not isinstance(unit, str):
        return None
    unit = unit.upper().removeprefix("SQL_TSI_")
    if unit in MONTH_UNITS:
        sign, lo, hi = (1, a, b) if a <= b else (-1, b, a)
        months = (hi.year * 12 + hi.month) - (lo.year * 12 + lo.month)
        if (hi.day, hi.time()) < (lo.day, lo.time()):
            months -= 1
        return sign * (months // MONTH_UNITS[unit])
    if unit in MICROSECOND_UNITS:
        micro = (b - a) // dt.timedelta(microseconds=1)
        whole = abs(micro) // MICROSECOND_UNITS[unit]
        return whole if micro >= 0 else -whole
    return None


def _concat_value(*arguments: Any) -> str | None:
    """MySQL's CONCAT: NULL if any argument is NULL, numbers written as MySQL writes them."""
    if any(argument is None for argument in arguments):
        return None
    return "".join(_concat_text(argument) for argument in arguments)


def _if(condition: Any, then: Any, otherwise: Any) -> Any:
    """MySQL's IF(c, a, b): ``a`` when ``c`` is true (non-zero), else ``b`` (also for NULL)."""
    return then if condition is not None and _number_value(condition) else otherwise


def _regexp(pattern: Any, value: Any) -> int | None:
    if pattern is None or value is None:
        return None
    return int(re.search(str(pattern), str(value)) is not None)


# Functions sqlglot's SQLite output may call that an SQLite build can lack (registered then).
_IF_MISSING: dict[str, tuple[int, Callable[..., Any]]] = {
    "SQRT": (1, lambda x: None if x is None or x < 0 else math.sqrt(x)),
    "POWER": (2, lambda x, y: None if x is None or y is None else float(x) ** float(y)),
    "POW": (2, lambda x, y: None if x is None or y is None else float(x) ** float(y)),
    "EXP": (1, lambda x: None if x is None else math.exp(x)),
    "LN": (1, lambda x: None if x is None or x <= 0 else math.log(x)),
    "LOG10": (1, lambda x: None if x is None or x <= 0 else math.log10(x)),
    "FLOOR": (1, lambda x: None if x is None else math.floor(x)),
    "CEIL": (1, lambda x: None if x is None else math.ceil(x)),
    "CEILING": (1, lambda x: None if x is None else math.ceil(x)),
}


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """Add to a ``sqlite3.Connection`` every function rendered fragments need on SQLite.

    Use it on connect, e.g. with ``sqlalchemy.event.listens_for(engine, "connect")``.
    """
    aggregates = {
        "STDDEV_POP": _StddevPop, "STD": _StddevPop, "STDDEV": _StddevPop,
        "STDDEV_SAMP": _StddevSamp,
        "VAR_POP": _VarPop, "VARIANCE": _VarPop,
        "VAR_SAMP": _VarSamp,
    }
    for name, cls in aggregates.items():
        dbapi_connection.create_aggregate(name, 1, cls)
    dbapi_connection.create_aggregate(SQLITE_GROUP_CONCAT, -1, _GroupConcat)
    functions: dict[str, tuple[int, Callable[..., Any]]] = {
        SQLITE_TIMESTAMPDIFF: (3, _timestampdiff_value),
        SQLITE_CONCAT: (-1, _concat_value),
        "IF": (3, _if),
        "REGEXP": (2, _regexp),
    }
    for name, (arity, function) in functions.items():
        dbapi_connection.create_function(name, arity, function, deterministic=True)
    for name in _sqlite_lacks():
        arity, function = _IF_MISSING[name]
        dbapi_connection.create_function(name, arity, function, deterministic=True)


@functools.lru_cache(maxsize=1)
def _sqlite_lacks() -> tuple[str, ...]:
    """Names in ``_IF_MISSING`` this SQLite library lacks (math functions are optional)."""
    missing = []
    probe = sqlite3.connect(":memory:")
    try:
        for name, (arity, _function) in _IF_MISSING.items():
            try:
                probe.execute(f"SELECT {name}({', '.join(['1'] * arity)})").fetchall()
            except sqlite3.OperationalError:  # no such function
                missing.append(name)
    finally:
        probe.close()
    return tuple(missing)
