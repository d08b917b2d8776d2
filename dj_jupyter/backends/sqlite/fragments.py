"""SQLite: how portable fragments are written (its differences from MySQL's forms); the
functions this SQL calls are registered on each connection by :mod:`.functions`."""

from __future__ import annotations

from typing import Any

from ..fragment_rules import (
    FragmentRules,
    case,
    cast,
    fn,
    number,
    paren,
    sqlglot_exp,
    string,
    unwrap_date,
)
from .functions import SQLITE_CONCAT, SQLITE_GROUP_CONCAT, SQLITE_TIMESTAMPDIFF

__all__ = ["SQLiteFragmentRules"]


class SQLiteFragmentRules(FragmentRules):
    name = "sqlite"
    sqlglot_dialect = "sqlite"
    double = "REAL"

    def now(self) -> Any:
        return fn("DATETIME", string("now"))  # UTC, as the server sessions are

    def curdate(self) -> Any:
        return fn("DATE", string("now"))  # UTC, as the server sessions are

    def date_part(self, class_name: str, code: str, part: str, argument: Any) -> Any:
        return cast(fn("STRFTIME", string(code), argument), "INTEGER")

    def statistic(self, function: str, argument: Any) -> Any:
        return fn(function, argument)  # the registered functions return floats

    def average(self, node: Any) -> Any:
        return node

    def integer_division(self, node: Any) -> Any:
        exp = sqlglot_exp()
        quotient = exp.Div(this=cast(node.this, "REAL"), expression=node.expression,
                           typed=True, safe=False)
        return cast(quotient, "INTEGER")

    def concat(self, node: Any) -> Any:
        return fn(SQLITE_CONCAT, *node.expressions)  # `||` would write 2.0 as "2.0", MySQL "2"

    def if_(self, node: Any) -> Any:
        return case(node.this, node.args.get("true"),
                    node.args.get("false") or sqlglot_exp().Null())

    def left_right(self, node: Any) -> Any:
        # LEFT is a keyword in SQLite, so no LEFT() function can exist: use SUBSTR.
        length = node.expression
        start = number(1) if type(node).__name__ == "Left" else \
            sqlglot_exp().Neg(this=paren(length))
        return fn("SUBSTR", node.this, start, length.copy())

    def like(self, node: Any) -> Any:
        exp = sqlglot_exp()
        if not isinstance(node.parent, exp.Escape):  # SQLite has no default escape character
            return exp.Escape(this=node, expression=string("\\"))
        return node

    def datediff(self, node: Any) -> Any:
        exp = sqlglot_exp()
        end, start = unwrap_date(node.this), unwrap_date(node.expression)
        days = exp.Sub(this=fn("JULIANDAY", fn("DATE", end)),
                       expression=fn("JULIANDAY", fn("DATE", start)))
        return cast(days, "INTEGER")

    def timestampdiff(self, unit: str, start: Any, end: Any) -> Any:
        return fn(SQLITE_TIMESTAMPDIFF, string(unit), start, end)

    def group_concat(self, value: Any, keys: list, distinct: bool, separator: Any) -> Any:
        flags = ("d" if distinct else "-") + "".join(
            "d" if key.args.get("desc") else "a" for key in keys)
        return fn(SQLITE_GROUP_CONCAT, value, separator, string(flags),
                  *(key.this for key in keys))
