"""Portable SQL fragments: MySQL-flavoured snippets written by users, rendered for every backend.

DataJoint users write small pieces of SQL in MySQL flavour inside queries: computed attributes
(``q.proj(age="TIMESTAMPDIFF(YEAR, dob, NOW())")``, ``aggr(..., n="count(*)")``) and string
restrictions (``Subject & "YEAR(dob) > 2020 AND name LIKE 'A%'"``). This module makes them
portable with real mechanisms, never by rewriting SQL text:

* :func:`parse_fragment` parses the text with sqlglot's MySQL reader into an AST and records
  the columns it references and whether it aggregates;
* :func:`render_fragment` copies the AST, replaces every column reference by the caller's
  already-rendered SQL, rewrites the nodes whose meaning differs between backends (bottom-up
  AST transforms, see ``_rewrite``) and generates SQL for the target dialect;
* :mod:`dj_jupyter.backends.sqlite.functions` adds to every SQLite connection the functions the
  generated SQL calls and SQLite lacks (population/sample deviation and variance, an ordered
  ``GROUP_CONCAT``, MySQL's ``TIMESTAMPDIFF``, ``REGEXP``, ``IF`` ...).

What differs by backend is written beside each dialect, as its ``FragmentRules``
(``backends/<name>/fragments.py``; the base rules are MySQL's forms); this module decides
what is common and never branches on a backend name.

Portable semantics (MySQL is the reference):

* ``/`` is float division everywhere (the dividend is cast to a double; division by zero gives
  NULL); ``DIV`` is integer division truncated toward zero.
* ``AVG``, ``STD``/``STDDEV``/``STDDEV_POP``, ``VARIANCE``/``VAR_POP``, ``STDDEV_SAMP`` and
  ``VAR_SAMP`` return doubles (``STD``/``STDDEV``/``VARIANCE`` are population statistics, as in
  MySQL). ``SUM`` keeps each backend's type: MySQL returns a ``Decimal`` for integer input.
* ``GROUP_CONCAT`` skips NULLs, gives NULL for a group without values, uses ``','`` as the
  default separator, and is always ordered: by its ``ORDER BY`` if given, else by the value
  itself (MySQL leaves that order undefined; here it is deterministic). NULL order keys sort
  first ascending and last descending, as in MySQL; the value itself is the last key, so ties
  come out in the same order everywhere. ``DISTINCT`` with an ``ORDER BY`` on
  anything but the value is refused (PostgreSQL cannot do it). Text is ordered by each
  backend's collation (MySQL's default is case-insensitive, SQLite's binary).
* ``NOW()``/``CURRENT_TIMESTAMP``/``SYSDATE()`` give the local wall-clock time to the second and
  ``CURDATE()``/``CURRENT_DATE`` the local date: the session time zone on a server, the local
  time zone of the Python process on SQLite (where they are ISO text, as SQLite has no date
  type).
* ``YEAR``/``MONTH``/``DAY``/``DAYOFMONTH``/``HOUR``/``MINUTE``/``SECOND`` return integers.
* ``TIMESTAMPDIFF(unit, a, b)`` counts whole units from ``a`` to ``b`` truncated toward zero,
  exactly as MySQL does (``YEAR``/``QUARTER``/``MONTH`` count calendar months, less one when
  ``b``'s day and time of the month come before ``a``'s).
* ``CONCAT`` is NULL if any argument is NULL and writes integral doubles without ".0" (2.0 ->
  "2") as MySQL does; ``IF`` becomes ``CASE``; ``IFNULL`` becomes ``COALESCE``;
  double-quoted strings are string literals; ``LEFT``/``RIGHT`` become ``SUBSTR`` on SQLite.
* Everything else (``LOWER``, ``ROUND``, ``CAST``, ...) is left to sqlglot's own translation,
  which is usually right but not checked here; ``CAST(x AS CHAR)`` becomes ``TEXT`` on
  PostgreSQL (not ``char(1)``).
* On MySQL, ``GROUP_CONCAT`` output is cut at the session's ``group_concat_max_len`` (1024
  bytes by default); ``AVG`` casts need MySQL >= 8.0.17 or MariaDB >= 10.4.
* ``LIKE``: ``%``/``_`` wildcards and ``\\`` as escape character on every backend, but case
  sensitivity follows the backend: MySQL's default collations and SQLite (for ASCII letters)
  ignore case, PostgreSQL does not. The same holds for ``=`` and ``<`` on text in MySQL.

String literals come out with their exact value, quoted for the target dialect (``'it''s'``;
backslashes doubled for MySQL only). A ``%`` is emitted as a single ``%``: escaping it for a
driver with the ``format``/``pyformat`` paramstyle is the caller's job.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..backends.fragment_rules import (
    MICROSECOND_UNITS,
    MONTH_UNITS,
    FragmentRules,
    node_classes,
    paren,
    sqlglot_exp,
    string,
    unwrap_date,
)
from ..backends.mysql.fragments import MySQLFragmentRules
from ..backends.postgresql.fragments import PostgreSQLFragmentRules
from ..backends.sqlite.fragments import SQLiteFragmentRules
from ..errors import RestrictionError

__all__ = ["Fragment", "parse_fragment", "render_fragment", "typed_like"]

# Each backend's way of writing what differs (beside its dialect, in backends/<name>/).
RULES: dict[str, FragmentRules] = {rules.name: rules for rules in (
    SQLiteFragmentRules(), PostgreSQLFragmentRules(), MySQLFragmentRules())}
DIALECTS = tuple(RULES)

# Aggregate functions sqlglot keeps as anonymous calls (it maps the common ones to classes).
_ANONYMOUS_AGGREGATES = frozenset(
    {"BIT_AND", "BIT_OR", "BIT_XOR", "JSON_ARRAYAGG", "JSON_OBJECTAGG", "STD", "STDDEV",
     "VARIANCE", "STDDEV_POP", "STDDEV_SAMP", "VAR_POP", "VAR_SAMP", "GROUP_CONCAT"}
)
# Functions for the current moment, as sqlglot leaves them anonymous.
_NOW_NAMES = frozenset({"NOW", "SYSDATE", "LOCALTIME", "LOCALTIMESTAMP", "CURRENT_TIMESTAMP"})
_CURDATE_NAMES = frozenset({"CURDATE", "CURRENT_DATE"})

# Parts of a date/time: (sqlglot class name, strftime code for SQLite, EXTRACT field).
_DATE_PARTS = (
    ("Year", "%Y", "YEAR"),
    ("Month", "%m", "MONTH"),
    ("Day", "%d", "DAY"),
    ("DayOfMonth", "%d", "DAY"),
    ("Hour", "%H", "HOUR"),
    ("Minute", "%M", "MINUTE"),
    ("Second", "%S", "SECOND"),
)
_DATE_PART_NAMES = {"YEAR": "Year", "MONTH": "Month", "DAY": "Day", "DAYOFMONTH": "DayOfMonth",
                    "HOUR": "Hour", "MINUTE": "Minute", "SECOND": "Second"}
# An already-rendered column that needs no parentheses: a possibly qualified identifier.
_SIMPLE_NAME = re.compile(r'(?:"[^"]*"|`[^`]*`|\[[^\]]*\]|[A-Za-z_][A-Za-z0-9_$]*)'
                          r'(?:\.(?:"[^"]*"|`[^`]*`|\[[^\]]*\]|[A-Za-z_][A-Za-z0-9_$]*))*')

@dataclass(frozen=True)
class Fragment:
    """A parsed SQL fragment (MySQL flavour).

    ``columns`` holds the referenced column names: unquoted names lower-cased, back-quoted
    names as written. ``is_aggregate`` tells whether the fragment aggregates (outside window
    functions), so it belongs in the select list of a GROUP BY query or in HAVING.
    """

    text: str
    ast: Any = field(compare=False, repr=False)
    columns: frozenset[str]
    is_aggregate: bool


# --- parsing -------------------------------------------------------------------------------


def _restriction_error(text: str, problem: str) -> RestrictionError:
    return RestrictionError(
        f"SQL fragment {text!r}: {problem}\n"
        "Check the SQL: a fragment is one MySQL-style expression over the attributes, "
        "e.g. \"YEAR(dob) > 2020 AND name LIKE 'A%'\" or \"count(*)\"."
    )


def _column_name(column: Any) -> str:
    identifier = column.args["this"]
    name = identifier.name
    return name if identifier.args.get("quoted") else name.lower()


@functools.lru_cache(maxsize=1024)
def parse_fragment(text: str) -> Fragment:
    """Parse a MySQL-flavoured SQL expression; raise RestrictionError if it is not one."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    if not isinstance(text, str) or not text.strip():
        raise _restriction_error(str(text), "it is empty")
    # Parse the text as the projection of a SELECT so that it is read as an expression (on
    # its own, e.g. `REPLACE(a, 'x', 'y')` would be read as MySQL's REPLACE statement).
    try:
        statements = sqlglot.parse(_SELECT + text, read="mysql")
    except ParseError as error:
        details = "; ".join(
            f"{e.get('description')} at line {e.get('line')}, column "
            f"{_column_in_text(e.get('line'), e.get('col'))}"
            for e in error.errors
        ) or str(error)
        raise _restriction_error(text, f"cannot parse it: {details}") from None
    except TokenError:
        raise _restriction_error(
            text, "cannot parse it: an unterminated string, quoted name or comment"
        ) from None
    statements = [statement for statement in statements if statement is not None]
    if len(statements) != 1:
        raise _restriction_error(text, "expected exactly one expression (no ';')")
    select = statements[0]
    extra = [key for key, value in select.args.items()
             if key != "expressions" and value not in (None, False, [])]
    if not isinstance(select, exp.Select) or extra:
        raise _restriction_error(text, "expected an expression, not a query")
    if len(select.expressions) != 1:
        raise _restriction_error(text, "expected exactly one expression (no commas)")
    tree = select.expressions[0].pop()
    if isinstance(tree, exp.Alias):
        raise _restriction_error(
            text, "an alias (`expr AS name` or two words in a row) is not allowed here"
        )
    if not isinstance(tree, exp.Condition):
        raise _restriction_error(text, f"expected an expression, got {tree.sql('mysql')!r}")
    for node in tree.walk():
        if isinstance(node, (exp.Query, exp.Subquery)):
            raise _restriction_error(
                text, "subqueries are not supported; restrict by a query expression instead"
            )
        if isinstance(node, exp.Column) and node.args.get("table") is not None:
            raise _restriction_error(
                text, f"qualified column {node.sql('mysql')} is not supported; "
                "name the attribute alone"
            )
        if isinstance(node, exp.Parameter | exp.Placeholder):
            raise _restriction_error(text, "parameters/placeholders are not supported")
        node.comments = None  # comments could hide `%` or `*/`: drop them
    columns = frozenset(_column_name(node) for node in tree.find_all(exp.Column))
    return Fragment(text=text, ast=tree, columns=columns, is_aggregate=_aggregates(tree))


_SELECT = "SELECT "


def _column_in_text(line: Any, col: Any) -> Any:
    """A parser's column position in the fragment (the parser saw it after ``SELECT ``)."""
    return col - len(_SELECT) if line == 1 and isinstance(col, int) else col


def _aggregates(tree: Any) -> bool:
    from sqlglot import exp

    def visit(node: Any) -> bool:
        if isinstance(node, exp.Window):
            return False
        if isinstance(node, exp.AggFunc):
            return True
        if isinstance(node, exp.Anonymous) and node.name.upper() in _ANONYMOUS_AGGREGATES:
            return True
        return any(visit(child) for child in node.iter_expressions())

    return visit(tree)


# --- rendering -----------------------------------------------------------------------------


def render_fragment(fragment: Fragment, dialect: str, columns: Mapping[str, str]) -> str:
    """SQL text of ``fragment`` for ``dialect`` ("sqlite", "postgresql" or "mysql").

    Each column reference ``x`` becomes ``columns[x]``, an already-rendered SQL expression
    (parenthesised unless it is a plain, possibly qualified, identifier). String literals keep
    their exact value; ``%`` is not doubled.
    """
    from sqlglot.errors import ErrorLevel, UnsupportedError

    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    rules = RULES[dialect]
    lookup = _column_lookup(fragment, columns)
    tree = fragment.ast.copy()
    tree = _bottom_up(tree, lambda node: _rewrite(node, rules, lookup, fragment.text))
    try:
        return tree.sql(
            dialect=rules.sqlglot_dialect, unsupported_level=ErrorLevel.RAISE
        )
    except UnsupportedError as error:
        raise _restriction_error(
            fragment.text, f"cannot be expressed for {dialect}: {error}"
        ) from None


def _column_lookup(fragment: Fragment, columns: Mapping[str, str]) -> dict[str, str]:
    folded: dict[str, list[str]] = {}
    for key in columns:
        folded.setdefault(key.lower(), []).append(key)
    lookup = {}
    for name in fragment.columns:
        if name in columns:
            lookup[name] = columns[name]
        elif len(folded.get(name.lower(), ())) == 1:
            lookup[name] = columns[folded[name.lower()][0]]
        else:
            available = ", ".join(sorted(columns)) or "(none)"
            raise _restriction_error(
                fragment.text, f"unknown attribute {name!r}; available: {available}"
            )
    return lookup


def _bottom_up(node: Any, fn: Callable[[Any], Any]) -> Any:
    """Apply ``fn`` to every node, children first; ``fn`` returns the replacement node."""
    from sqlglot import exp

    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expression):
            node.set(key, _bottom_up(value, fn))
        elif isinstance(value, list):
            node.set(
                key, [_bottom_up(v, fn) if isinstance(v, exp.Expression) else v for v in value]
            )
    return fn(node)


def _raw(sql: str) -> Any:
    """A node that renders as ``sql`` verbatim (parenthesised unless a plain identifier)."""
    node = sqlglot_exp().Var(this=sql)
    return node if _SIMPLE_NAME.fullmatch(sql.strip()) else paren(node)


def _rewrite(node: Any, rules: FragmentRules, lookup: Mapping[str, str], text: str) -> Any:
    """Replace one node (whose children are already rewritten) by its portable form: what is
    common is decided here, what differs by backend is asked of ``rules``."""
    exp = sqlglot_exp()
    if isinstance(node, exp.Column):
        return _raw(lookup[_column_name(node)])
    if isinstance(node, exp.Anonymous):
        name = node.name.upper()
        if name in _NOW_NAMES and not node.expressions:
            return rules.now()
        if name in _CURDATE_NAMES and not node.expressions:
            return rules.curdate()
        if name in _DATE_PART_NAMES and len(node.expressions) == 1:
            return _date_part(_DATE_PART_NAMES[name], node.expressions[0], rules)
        if name in ("STD", "STDDEV", "STDDEV_POP") and len(node.expressions) == 1:
            return rules.statistic("STDDEV_POP", node.expressions[0])
        if name in ("VARIANCE", "VAR_POP") and len(node.expressions) == 1:
            return rules.statistic("VAR_POP", node.expressions[0])
        return node
    if isinstance(node, node_classes("CurrentTimestamp", "Localtimestamp", "CurrentDatetime")):
        return rules.now()
    if isinstance(node, exp.CurrentDate):
        return rules.curdate()
    for class_name, _code, _field in _DATE_PARTS:
        cls = getattr(exp, class_name, None)
        if cls is not None and type(node) is cls:
            return _date_part(class_name, node.this, rules)
    if isinstance(node, exp.TimestampDiff):
        return rules.timestampdiff(_timestampdiff_unit(node, text), node.expression, node.this)
    if isinstance(node, node_classes("DateDiff")):
        return rules.datediff(node)
    if isinstance(node, exp.Avg):
        return rules.average(node)
    for cls, function in (
        (exp.StddevPop, "STDDEV_POP"),
        (exp.StddevSamp, "STDDEV_SAMP"),
        (exp.VariancePop, "VAR_POP"),
        (exp.Variance, "VAR_SAMP"),
    ):
        if type(node) is cls:
            return rules.statistic(function, node.this)
    if type(node) in node_classes("Stddev"):
        return rules.statistic("STDDEV_POP", node.this)  # MySQL's STDDEV is population
    if isinstance(node, exp.GroupConcat):
        return _group_concat(node, rules, text)
    if isinstance(node, exp.Div):
        return rules.division(node)
    if isinstance(node, exp.IntDiv):
        return rules.integer_division(node)
    if isinstance(node, exp.Concat):
        return rules.concat(node)
    if isinstance(node, exp.If) and not isinstance(node.parent, exp.Case):
        return rules.if_(node)
    if isinstance(node, exp.Cast):
        return rules.cast(node)
    if isinstance(node, node_classes("Left", "Right")):
        return rules.left_right(node)
    if isinstance(node, exp.Like):
        return rules.like(node)
    return node


def _date_part(class_name: str, argument: Any, rules: FragmentRules) -> Any:
    code, part = next((c, f) for n, c, f in _DATE_PARTS if n == class_name)
    return rules.date_part(class_name, code, part, unwrap_date(argument))


def _timestampdiff_unit(node: Any, text: str) -> str:
    unit_node = node.args.get("unit")
    unit = (unit_node.name if unit_node is not None else "").upper()
    unit = unit.removeprefix("SQL_TSI_")
    if unit not in MONTH_UNITS and unit not in MICROSECOND_UNITS:
        raise _restriction_error(
            text, f"TIMESTAMPDIFF unit {unit or '(none)'!r} is not one of "
            f"{', '.join([*MICROSECOND_UNITS, *MONTH_UNITS])}"
        )
    return unit


def _group_concat(node: Any, rules: FragmentRules, text: str) -> Any:
    exp = sqlglot_exp()
    value = node.this
    keys: list[Any] = []
    if isinstance(value, exp.Order):
        keys = list(value.expressions)
        value = value.this
    distinct = isinstance(value, exp.Distinct)
    if distinct:
        if len(value.expressions) != 1:
            raise _restriction_error(text, "GROUP_CONCAT(DISTINCT ...) takes one value")
        value = value.expressions[0]
    if isinstance(value, exp.Concat):  # GROUP_CONCAT(a, b) concatenates a and b
        value = rules.concat(value)
    separator = node.args.get("separator")
    if separator is None:
        separator = string(",")
    elif not (isinstance(separator, exp.Literal) and separator.is_string):
        raise _restriction_error(text, "the SEPARATOR of GROUP_CONCAT must be a string literal")
    if distinct and not all(key.this == value for key in keys):
        raise _restriction_error(
            text, "GROUP_CONCAT(DISTINCT x ORDER BY y) is not portable: order by x itself"
        )
    if not any(key.this == value for key in keys):  # the value breaks ties: deterministic
        keys = [*keys, exp.Ordered(this=value.copy(), desc=False)]
    keys = [
        exp.Ordered(this=key.this, desc=bool(key.args.get("desc")),
                    nulls_first=not key.args.get("desc"))
        for key in keys
    ]
    return rules.group_concat(value, keys, distinct, separator)


def typed_like(fragment: Fragment) -> str | None:
    """The column whose type the fragment's value has: ``min(x)``/``max(x)`` give ``x``'s.

    Lets a computed attribute decode like its column (a date stays a date on SQLite).
    """
    from sqlglot import exp

    node = fragment.ast
    if isinstance(node, (exp.Max, exp.Min)) and isinstance(node.this, exp.Column) \
            and not node.expressions:
        return node.this.name
    return None
