"""Fuzzed restrictions on every backend: the rows SQL's three-valued logic selects, or a
DataJointError (and nothing written either way)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dj_jupyter as dj
from tests.fuzz.support import FUZZ, TEXT, WILD, Refused, expected, is_null, judge, values_for

ATTRIBUTES = ["i8", "f64", "dec", "txt", "at", "yes"]
DATA = [
    {"id": 1, "i8": 5, "f64": 0.5, "dec": decimal.Decimal("1.50"), "txt": "a",
     "at": dt.datetime(2020, 1, 1), "yes": True},
    {"id": 2, "i8": -128, "f64": -1e300, "dec": decimal.Decimal("-9999.99"), "txt": "A",
     "at": dt.datetime(2019, 12, 31, 19), "yes": False},
    {"id": 3, "i8": 127, "f64": 0.0, "dec": decimal.Decimal("0.00"), "txt": "",
     "at": dt.datetime(9999, 12, 31, 23, 59, 59, 999000), "yes": True},
    {"id": 4, "i8": None, "f64": None, "dec": None, "txt": None, "at": None, "yes": None},
    {"id": 5, "i8": 0, "f64": 2.5, "dec": decimal.Decimal("2.50"), "txt": "a ",
     "at": dt.datetime(1970, 1, 1, 0, 0, 0, 1000), "yes": False},
]
SQL_TEMPLATES = [("i8", ">"), ("i8", "="), ("f64", "<"), ("id", ">=")]


@pytest.fixture
def Thing(schema):
    @schema
    class Thing(dj.Manual):
        definition = """
        id: int32
        ---
        i8 = null: int8
        f64 = null: float64
        dec = null: decimal(6,2)
        txt = null: varchar(16)
        at = null: datetime(3)
        yes = null: bool
        """

    Thing.insert(DATA)
    return Thing


class Unknown(Exception):
    """The model cannot say which rows the operand selects (free SQL text)."""


def dicts() -> st.SearchStrategy:
    known = {name: values_for(name) for name in ATTRIBUTES}
    return st.fixed_dictionaries({}, optional={**known, "id": st.integers(0, 6),
                                               "unknown_name": WILD})


def sql_text() -> st.SearchStrategy:
    templated = st.builds(lambda pair, n: f"{pair[0]} {pair[1]} {n}",
                          st.sampled_from(SQL_TEMPLATES), st.integers(-200, 200))
    return templated | TEXT | st.sampled_from(["i8 = 'a\ud800'", "txt = '\x00'", "1 = 1"])


LEAVES = dicts() | dicts() | st.booleans() | sql_text() | WILD
OPERANDS = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.lists(inner, max_size=3).map(dj.AndList)
    | inner.map(dj.Not) | st.lists(inner, max_size=3).map(tuple),
    max_leaves=6,
) | st.sampled_from([
    [{"id": i} for i in range(2500)],
    [{"id": i, "i8": None} for i in range(1500)],
    dj.AndList([dj.Not({"id": i}) for i in range(1200)]),
])


def truth(operand: Any, row: dict) -> bool | None:
    """SQL's three-valued truth of ``operand`` on ``row`` (None: unknown)."""
    if isinstance(operand, bool):
        return operand
    if isinstance(operand, dj.Not):
        value = truth(operand.restriction, row)
        return None if value is None else not value
    if isinstance(operand, dj.AndList):
        return kleene(all, [truth(o, row) for o in operand])
    if isinstance(operand, (list, tuple)):
        return kleene(any, [truth(o, row) for o in operand])
    if isinstance(operand, dict):
        return kleene(all, [equals(k, v, row) for k, v in operand.items()
                            if k in row])
    if isinstance(operand, str):
        for name, op in SQL_TEMPLATES:
            prefix = f"{name} {op} "
            if operand.startswith(prefix) and operand[len(prefix):].lstrip("-").isdigit():
                if row[name] is None:
                    return None
                number = int(operand[len(prefix):])
                return {">": row[name] > number, "=": row[name] == number,
                        "<": row[name] < number, ">=": row[name] >= number}[op]
        if operand == "1 = 1":
            return True
        raise Unknown
    raise Refused


def equals(name: str, value: Any, row: dict) -> bool | None:
    if is_null(value):
        return row[name] is None
    want = expected(name, value) if name != "id" else expected("i64", value)
    return None if row[name] is None else row[name] == want


def kleene(combine, values: list) -> bool | None:
    if combine is all:
        return False if False in values else (None if None in values else True)
    return True if True in values else (None if None in values else False)


def selected(operand: Any) -> set[int] | None:
    """The ids the model selects; None when it cannot tell."""
    try:
        return {row["id"] for row in DATA if truth(operand, row) is True}
    except Unknown:
        return None


@FUZZ
@given(operand=OPERANDS, negate=st.booleans())
def test_restrictions_select_right_or_refuse(Thing, backend, operand, negate):
    everything = {row["id"] for row in DATA}

    def run() -> set[int]:
        query = Thing - operand if negate else Thing & operand
        return {row["id"] for row in query.to_dicts()}

    def succeed(ids: set[int]) -> None:
        try:
            chosen = selected(operand)
        except Refused:
            raise AssertionError(f"restricted by {operand!r:.200}, which the model refuses") \
                from None
        if chosen is None:
            assert ids <= everything
            return
        if negate:  # T - x keeps the rows where x is not true: false or unknown? SQL: false
            chosen = {row["id"] for row in DATA if _negated(operand, row)}
        assert ids == chosen, (operand, ids, chosen)

    judge(backend, "restrictions", run, on_success=succeed, counts=lambda: len(Thing))


def _negated(operand: Any, row: dict) -> bool:
    value = truth(operand, row)
    return value is False
