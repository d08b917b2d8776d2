"""How a portable SQL fragment is written for one backend: the base rules (MySQL's own forms,
the reference) and the sqlglot helpers every dialect's rules use.

:mod:`dj_jupyter.algebra.fragments` parses a fragment, checks it, and asks the target
dialect's :class:`FragmentRules` for every construct whose SQL differs between backends; each
backend folder holds its subclass (``sqlite/fragments.py``, ``postgresql/fragments.py``,
``mysql/fragments.py``), written as its differences only. sqlglot is imported on first use.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["FragmentRules", "sqlglot_exp", "fn", "cast", "paren", "string", "number", "case",
           "node_classes", "unwrap_date", "MONTH_UNITS", "MICROSECOND_UNITS"]

# TIMESTAMPDIFF units: the calendar ones count months, the others microseconds.
MONTH_UNITS = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}
MICROSECOND_UNITS = {
    "MICROSECOND": 1,
    "SECOND": 1_000_000,
    "MINUTE": 60_000_000,
    "HOUR": 3_600_000_000,
    "DAY": 86_400_000_000,
    "WEEK": 604_800_000_000,
}


@functools.cache
def sqlglot_exp() -> Any:
    """``sqlglot.exp``, imported when a fragment is first rendered (sqlglot loads slowly)."""
    from sqlglot import exp

    return exp


def fn(name: str, *args: Any) -> Any:
    return sqlglot_exp().Anonymous(this=name, expressions=list(args))


def cast(node: Any, type_: str) -> Any:
    exp = sqlglot_exp()
    return exp.Cast(this=node, to=exp.DataType.build(type_))


def paren(node: Any) -> Any:
    return sqlglot_exp().Paren(this=node)


def string(value: str) -> Any:
    return sqlglot_exp().Literal.string(value)


def number(value: int) -> Any:
    return sqlglot_exp().Literal.number(value)


def case(condition: Any, then: Any, otherwise: Any) -> Any:
    exp = sqlglot_exp()
    return exp.Case(ifs=[exp.If(this=condition, true=then)], default=otherwise)


def node_classes(*names: str) -> tuple[type, ...]:
    """The sqlglot expression classes of these names that this sqlglot version has."""
    exp = sqlglot_exp()
    return tuple(cls for name in names if isinstance(cls := getattr(exp, name, None), type))


def unwrap_date(node: Any) -> Any:
    """The argument of MySQL's YEAR(d) etc., without sqlglot's added DATE() conversion."""
    wrappers = node_classes("TsOrDsToDate", "TsOrDsToTimestamp", "TsOrDsToDatetime")
    while isinstance(node, wrappers):
        node = getattr(node, "this")  # noqa: B009 - a sqlglot node (mypy sees `object`)
    return node


class FragmentRules:
    """The constructs whose SQL differs between backends, written as MySQL writes them.

    Each method returns the sqlglot node to generate; ``node`` arguments have their children
    rewritten already.
    """

    name = "mysql"
    sqlglot_dialect = "mysql"
    double = "DOUBLE"  # the type a float result is cast to

    def now(self) -> Any:
        return fn("NOW")

    def curdate(self) -> Any:
        return fn("CURDATE")

    def date_part(self, class_name: str, code: str, part: str, argument: Any) -> Any:
        """YEAR(x), MONTH(x), ...: an integer. ``code`` is strftime's, ``part`` EXTRACT's."""
        return fn("DAYOFMONTH" if class_name == "DayOfMonth" else part, argument)

    def statistic(self, function: str, argument: Any) -> Any:
        """STDDEV_POP, VAR_SAMP, ...: a float on every backend (MariaDB rounds otherwise)."""
        return cast(fn(function, argument), self.double)

    def average(self, node: Any) -> Any:
        return cast(node, self.double)

    def division(self, node: Any) -> Any:
        """``a / b``: float division; division by zero gives NULL."""
        return paren(sqlglot_exp().Div(this=cast(node.this, self.double),
                                       expression=self.divisor(node.expression),
                                       typed=True, safe=False))

    def divisor(self, node: Any) -> Any:
        return node

    def integer_division(self, node: Any) -> Any:
        return node

    def concat(self, node: Any) -> Any:
        """CONCAT(...): NULL if any argument is NULL (also inside GROUP_CONCAT)."""
        return node

    def if_(self, node: Any) -> Any:
        return node

    def cast(self, node: Any) -> Any:
        return node

    def left_right(self, node: Any) -> Any:
        return node

    def like(self, node: Any) -> Any:
        return node

    def datediff(self, node: Any) -> Any:
        return node

    def timestampdiff(self, unit: str, start: Any, end: Any) -> Any:
        exp = sqlglot_exp()
        return exp.TimestampDiff(this=end, expression=start, unit=exp.Var(this=unit))

    def group_concat(self, value: Any, keys: list, distinct: bool, separator: Any) -> Any:
        """GROUP_CONCAT, ordered by ``keys`` (the value itself last) and skipping NULLs."""
        exp = sqlglot_exp()
        inner = exp.Distinct(expressions=[value]) if distinct else value
        return exp.GroupConcat(this=exp.Order(this=inner, expressions=keys), separator=separator)

    def concat_parts(self, arguments: list, text_cast: bool) -> Any:
        """``a || b || ...`` (PostgreSQL and SQLite), each part cast to text if asked."""
        exp = sqlglot_exp()
        parts = [cast(a, "TEXT") if text_cast and not (isinstance(a, exp.Literal)
                                                        and a.is_string) else a
                 for a in arguments]
        if not parts:
            return exp.Null()
        result = parts[0]
        for part in parts[1:]:
            result = exp.DPipe(this=result, expression=part, safe=False)
        return paren(result) if len(parts) > 1 else result
