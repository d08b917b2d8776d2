"""PostgreSQL: how portable fragments are written (its differences from MySQL's forms)."""

from __future__ import annotations

from typing import Any

from ..fragment_rules import (
    MICROSECOND_UNITS,
    MONTH_UNITS,
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

__all__ = ["PostgreSQLFragmentRules"]


class PostgreSQLFragmentRules(FragmentRules):
    name = "postgresql"
    sqlglot_dialect = "postgres"
    double = "DOUBLE PRECISION"

    def now(self) -> Any:
        return fn("DATE_TRUNC", string("second"), sqlglot_exp().Var(this="LOCALTIMESTAMP"))

    def curdate(self) -> Any:
        return sqlglot_exp().Var(this="CURRENT_DATE")

    def date_part(self, class_name: str, code: str, part: str, argument: Any) -> Any:
        exp = sqlglot_exp()
        extracted = exp.Extract(this=exp.Var(this=part), expression=cast(argument, "TIMESTAMP"))
        return cast(fn("FLOOR", extracted) if part == "SECOND" else extracted, "INTEGER")

    def divisor(self, node: Any) -> Any:
        return sqlglot_exp().Nullif(this=node, expression=number(0))

    def integer_division(self, node: Any) -> Any:
        return cast(fn("DIV", node.this, self.divisor(node.expression)), "BIGINT")

    def concat(self, node: Any) -> Any:
        return self.concat_parts(node.expressions, text_cast=True)

    def if_(self, node: Any) -> Any:
        return case(node.this, node.args.get("true"),
                    node.args.get("false") or sqlglot_exp().Null())

    def cast(self, node: Any) -> Any:
        exp = sqlglot_exp()
        to = node.args.get("to")
        if to is not None and to.is_type("char") and not to.expressions:
            return exp.Cast(this=node.this, to=exp.DataType.build("TEXT"))  # not char(1)
        return node

    def datediff(self, node: Any) -> Any:
        exp = sqlglot_exp()
        end, start = unwrap_date(node.this), unwrap_date(node.expression)
        return paren(exp.Sub(this=cast(end, "DATE"), expression=cast(start, "DATE")))

    def timestampdiff(self, unit: str, start: Any, end: Any) -> Any:
        exp = sqlglot_exp()
        a, b = cast(start, "TIMESTAMP"), cast(end, "TIMESTAMP")
        if unit in MICROSECOND_UNITS:
            seconds = exp.Extract(
                this=exp.Var(this="EPOCH"), expression=paren(exp.Sub(this=b, expression=a))
            )
            per = MICROSECOND_UNITS[unit]
            if per == 1:
                count = exp.Mul(this=seconds, expression=number(1_000_000))
            elif per == 1_000_000:
                count = seconds
            else:
                count = exp.Div(this=seconds, expression=number(per // 1_000_000),
                                typed=True, safe=False)
            return cast(fn("TRUNC", count), "BIGINT")

        def months(lo: Any, hi: Any) -> Any:
            def index(moment: Any) -> Any:  # year * 12 + month
                year = exp.Extract(this=exp.Var(this="YEAR"), expression=moment.copy())
                month = exp.Extract(this=exp.Var(this="MONTH"), expression=moment.copy())
                return paren(exp.Add(this=exp.Mul(this=year, expression=number(12)),
                                     expression=month))

            def into_month(moment: Any) -> Any:  # time since the start of its month
                start_of_month = fn("DATE_TRUNC", string("month"), moment.copy())
                return paren(exp.Sub(this=moment.copy(), expression=start_of_month))

            earlier = case(exp.LT(this=into_month(hi), expression=into_month(lo)),
                           number(1), number(0))
            total = exp.Sub(this=exp.Sub(this=index(hi), expression=index(lo)),
                            expression=earlier)
            whole = exp.Div(this=paren(total), expression=number(MONTH_UNITS[unit]),
                            typed=True, safe=False)
            return fn("TRUNC", whole)

        forward = months(a, b)
        backward = exp.Neg(this=months(b, a))
        result = case(exp.LTE(this=a.copy(), expression=b.copy()), forward, backward)
        return cast(result, "BIGINT")

    def group_concat(self, value: Any, keys: list, distinct: bool, separator: Any) -> Any:
        # ARRAY_AGG keeps each value's type for ordering and DISTINCT; ARRAY_TO_STRING drops
        # NULLs; a group with no value gives NULL as in MySQL.
        exp = sqlglot_exp()
        inner = exp.Distinct(expressions=[value.copy()]) if distinct else value.copy()
        aggregated = exp.ArrayAgg(this=exp.Order(this=inner, expressions=keys))
        joined = fn("ARRAY_TO_STRING", aggregated, separator)
        return case(exp.EQ(this=exp.Count(this=value.copy()), expression=number(0)),
                    exp.Null(), joined)
