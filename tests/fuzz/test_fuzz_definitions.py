"""Fuzzed definitions on every backend: the table is declared as written (its attributes,
key and a row that round-trips), or a DataJointError leaves the schema's tables unchanged."""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from tests.fuzz.support import FUZZ, TEXT, WILD, judge

# type -> a value it stores exactly (None: no sample, the round trip is not checked)
SAMPLES: dict[str, Any] = {
    "int8": -5, "int16": 300, "int32": 70000, "int64": 2**40, "float32": 0.5,
    "float64": -2.25, "bool": True, "decimal(5,2)": decimal.Decimal("12.34"),
    "decimal(30,10)": decimal.Decimal("12345678901234567890.0123456789"),
    "char(3)": "abc", "varchar(255)": "x" * 255, "varchar(1)": "é",
    "enum('a','b''c')": "b'c", "date": dt.date(2020, 2, 29),
    "datetime": dt.datetime(2020, 1, 2, 3, 4, 5), "datetime(6)": dt.datetime(1, 1, 1, 0, 0, 0, 1),
    "uuid": None, "json": {"k": [1, "two"]}, "<blob>": None, "bytes": b"\x00\xff",
}
BAD_TYPES = ["int33", "varchar(0)", "varchar(70000)", "decimal(70,2)", "decimal(3,5)",
             "enum()", "char(256)", "<nosuch>", "datetime(7)", "float(3)", "", "int32 int32",
             "varchar(-1)", "decimal(0,0)", "longblob", "timestamp", "int unsigned"]
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True) | st.sampled_from([
    "a" * 63, "a" * 64, "select", "order", "key", "group", "desc", "table", "user", "Name",
    "_hidden", "9lives", "", "x-y", "ok"])
DEFAULTS = st.sampled_from([None, None, None, "null", "0", "1.5", "-1", "300", "1e400", "'x'",
                            '"it\'s"', "CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP(3)", "abc",
                            "'2020-01-01 00:00:00'", "true", "'b''c'", "''"])
COMMENTS = st.none() | TEXT | st.sampled_from(["c" * 1000, "c" * 1030, "a # b", ":x:", "\ud800"])

def mostly(good: st.SearchStrategy, odd: st.SearchStrategy) -> st.SearchStrategy:
    """``good`` about four times in five, ``odd`` otherwise."""
    return st.integers(0, 4).flatmap(lambda n: odd if n == 0 else good)


LINES = st.tuples(
    mostly(st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True), NAMES),
    mostly(st.sampled_from(list(SAMPLES)), st.sampled_from(BAD_TYPES)),
    mostly(st.none(), DEFAULTS),
    mostly(st.none() | st.from_regex(r"[a-z ]{0,20}", fullmatch=True), COMMENTS),
)
NUMBERS = itertools.count()
UNKEYABLE = {"json", "<blob>", "bytes", "longblob"}


@st.composite
def definitions(draw) -> tuple[Any, list[tuple]]:
    """(definition, its attribute lines as (name, type, default, comment, in_key))."""
    every = draw(st.lists(LINES, max_size=7, unique_by=lambda line: line[0]))
    count = draw(st.integers(0, min(3, len(every))))
    key = [(name, "int32" if type_text in UNKEYABLE else type_text, default, comment)
           for name, type_text, default, comment in every[:count]]
    rest = every[count:]
    lines = [(*line, True) for line in key] + [(*line, False) for line in rest]
    text = ["# " + (draw(COMMENTS) or "table comment")] if draw(st.booleans()) else []
    for position, (name, type_text, default, comment, _) in enumerate(lines):
        if position == len(key):
            text.append("---")
        middle = f" = {default}" if default is not None else ""
        note = f"  # {comment}" if comment is not None else ""
        text.append(f"{name}{middle} : {type_text}{note}")
    if not rest:
        text.append("---")
    if draw(st.integers(0, 14)) == 0:  # an arbitrary line somewhere
        text.insert(draw(st.integers(0, len(text))), draw(TEXT))
    if draw(st.integers(0, 24)) == 0:
        text.append("\n".join(f"many{i} = null : int8" for i in range(1001)))
    definition = "\n".join(text)
    if draw(st.integers(0, 19)) == 0:  # anything at all; what it declares is not predicted
        return draw(WILD), None
    return definition, lines


def sample_row(lines: list[tuple]) -> dict | None:
    row = {}
    for name, type_text, default, _comment, in_key in lines:
        if default is not None and not in_key:
            continue
        if SAMPLES.get(type_text) is None:
            return None
        row[name] = SAMPLES[type_text]
    return row


@settings(FUZZ, max_examples=max(10, FUZZ.max_examples // 2))  # each case declares a table
@given(case=definitions())
def test_definitions_declare_as_written_or_refuse(schema, backend, case):
    definition, lines = case
    name = f"Fz{next(NUMBERS)}"
    made: list[Any] = []

    def declare() -> Any:
        table = type(name, (dj.Manual,), {"definition": definition, "__module__": __name__})
        made.append(schema(table))
        return made[-1]

    def succeed(table: Any) -> None:
        assert table.table_name in schema.list_tables()
        if lines is None:
            return
        heading = table.heading
        assert heading.names == [line[0] for line in lines]
        assert heading.primary_key == [line[0] for line in lines if line[4]]
        row = sample_row(lines)
        if row is not None:
            table.insert1(row)
            stored = table.fetch1()
            assert {k: stored[k] for k in row} == row, (row, stored)

    try:
        judge(backend, "definitions", declare, on_success=succeed,
              counts=lambda: sorted(schema.list_tables()))
    finally:
        for table in made:
            table.drop()
