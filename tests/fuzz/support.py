"""What the fuzz tests share: the hypothesis settings, the tally, wild values and a reference
model of how a value is stored (written independently of dj_jupyter.algebra.values)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from dj_jupyter.errors import DataJointError

FUZZ = settings(
    max_examples=int(os.environ.get("DJ_FUZZ_EXAMPLES", "150")),
    deadline=None,
    derandomize=True,  # the same cases on every run: CI failures reproduce
    database=None,
    suppress_health_check=list(HealthCheck),
)

TALLY: defaultdict[str, Counter] = defaultdict(Counter)
REFUSALS: defaultdict[str, list] = defaultdict(list)  # per backend: (test, error), in order


class Refused(Exception):
    """The reference model says the value cannot be stored."""


def judge(backend: str, test: str, action: Callable[[], Any], *,
          on_success: Callable[[Any], None], counts: Callable[[], Any]) -> None:
    """Run one generated case: success is checked by ``on_success``; a DataJointError must
    leave ``counts()`` unchanged; anything else is a case outside the contract."""
    tally = TALLY[backend]
    tally["cases"] += 1
    before = counts()
    try:
        result = action()
    except DataJointError as error:
        after = counts()
        if after != before:
            tally["outside"] += 1
            tally[f"{test}: refused but wrote"] += 1
            raise AssertionError(f"refused, but counts changed from {before} to {after}") \
                from error
        tally["refused"] += 1
        REFUSALS[backend].append((test, repr(error)[:300]))
        return
    except Exception as error:
        tally["outside"] += 1
        tally[f"{test}: {type(error).__name__}"] += 1
        raise AssertionError(f"raised {type(error).__name__} (not a DataJointError): "
                             f"{error}") from error
    try:
        on_success(result)
    except AssertionError:
        tally["outside"] += 1
        tally[f"{test}: wrong result"] += 1
        raise
    tally["succeeded"] += 1


# -- wild values ---------------------------------------------------------------------------

TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
JSON_LEAVES = st.none() | st.booleans() | st.integers(-(2**70), 2**70) \
    | st.floats(allow_nan=False, allow_infinity=False) | TEXT
JSON = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)


def deep(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


WILD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([10**30, 10**400, -(2**63), 2**63, 2**31, -(2**31) - 1, 127, 128]),
    st.floats(),  # NaN and infinities too
    st.floats(width=32),
    st.sampled_from([1e300, -1e300, 3.4e38, 3.5e38, 1e-45, 5e-324]),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1e400", "12.345", "-0", "NaN", "9999.995", "abc", ""]),
    TEXT,
    st.datetimes(timezones=st.none() | st.timezones()),
    st.sampled_from([dt.datetime(9999, 12, 31, 23, 59, 59, 999900), dt.datetime(1, 1, 1),
                     "2020-01-01T00:00:00+05:00", "2020-02-30 00:00:00"]),
    st.dates(),
    st.binary(max_size=8),
    JSON,
    st.sampled_from([deep(40), deep(31), {"a": "x\x00"}, "a\ud800", np.float32(1.5),
                     np.int64(7), np.bool_(True), np.float64("nan")]),
)


# -- the reference model of stored values ---------------------------------------------------

def is_null(value: Any) -> bool:
    return value is None or (isinstance(value, Real) and not isinstance(value, Integral)
                             and value != value)


def number_text(value: str) -> decimal.Decimal:
    """A number written as text ("12", " 1.5e3 "), which DataJoint lets the server parse."""
    try:
        number = decimal.Decimal(value.strip())
    except decimal.InvalidOperation:
        raise Refused from None
    if not number.is_finite():
        raise Refused
    return number


def is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def as_text(value: Any) -> str:
    """A number in a string column is its text (5 -> "5"), as DataJoint stores it; a bool or
    anything else that is not a string is refused."""
    if isinstance(value, str):
        return value
    if is_bool(value):
        raise Refused
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, decimal.Decimal) and value.is_finite() or \
            isinstance(value, Real) and math.isfinite(float(value)):
        return str(value)
    raise Refused


def plain_text(value: Any, limit: int | None) -> str:
    value = as_text(value)
    if (limit is not None and len(value) > limit) or "\x00" in value:
        raise Refused
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused from None
    return value


def integer(value: Any, bits: int) -> int:
    if isinstance(value, str):
        value = number_text(value)
    if is_bool(value) or isinstance(value, Integral):
        number = int(value)  # True is 1, as DataJoint stores it
    elif isinstance(value, decimal.Decimal) and value.is_finite() \
            and value == value.to_integral_value():
        number = int(value)
    elif isinstance(value, Real) and math.isfinite(value) and float(value).is_integer():
        number = int(value)
    else:
        raise Refused
    if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        raise Refused
    return number


def floating32(value: Any) -> float:
    number = floating(value, 3.4028234663852886e38)
    if 0 < abs(number) < 1.1754943508222875e-38:
        raise Refused
    return number


def floating(value: Any, limit: float) -> float:
    if isinstance(value, str):
        value = number_text(value)
    if isinstance(value, bool) or not isinstance(value, (Real, decimal.Decimal)):
        raise Refused
    try:
        number = float(value)
    except OverflowError:
        raise Refused from None
    if not math.isfinite(number) or abs(number) > limit:
        raise Refused
    return number


def fixed(value: Any, digits: int, scale: int) -> decimal.Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, decimal.Decimal)) \
            and not isinstance(value, Integral):
        raise Refused
    try:
        number = decimal.Decimal(str(value) if isinstance(value, (float, str)) else int(value)
                                 if isinstance(value, Integral) else value)
    except decimal.InvalidOperation:
        raise Refused from None
    if not number.is_finite() or abs(number) >= 10 ** (digits - scale) + 1:
        raise Refused
    with decimal.localcontext(decimal.Context(prec=100)):
        rounded = number.quantize(decimal.Decimal(1).scaleb(-scale), decimal.ROUND_HALF_UP)
    if abs(rounded) >= 10 ** (digits - scale):
        raise Refused
    return rounded


def moment(value: Any, fsp: int) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise Refused from None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            try:
                value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
            except OverflowError:
                raise Refused from None
    elif isinstance(value, dt.date):
        value = dt.datetime(value.year, value.month, value.day)
    else:
        raise Refused
    step = 10 ** (6 - fsp)
    micro = (value.microsecond + step // 2) // step * step
    try:
        return value.replace(microsecond=0) + dt.timedelta(microseconds=micro)
    except OverflowError:
        raise Refused from None


def document(value: Any) -> Any:
    def walk(item: Any, depth: int) -> None:
        if isinstance(item, str):
            plain_text(item, None)
        elif isinstance(item, float) and not math.isfinite(item):
            raise Refused
        elif isinstance(item, (list, tuple, dict)):
            if depth > 31:
                raise Refused
            for key in item if isinstance(item, dict) else ():
                if not isinstance(key, str):
                    raise Refused
                plain_text(key, None)
            for inner in item.values() if isinstance(item, dict) else item:
                walk(inner, depth + 1)
        elif not (item is None or isinstance(item, (bool, int, float))):
            raise Refused

    walk(value, 1)
    return json.loads(json.dumps(value))


def boolean(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, Integral) and value in (0, 1):
        return bool(value)
    raise Refused


NUMERIC = frozenset({"i8", "i64", "f64", "f32", "dec"})

# attribute -> (declared type, reference model of the stored value)
MODEL: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "i8": ("int8", lambda v: integer(v, 8)),
    "i64": ("int64", lambda v: integer(v, 64)),
    "f64": ("float64", lambda v: floating(v, math.inf)),
    "f32": ("float32", floating32),
    "dec": ("decimal(6,2)", lambda v: fixed(v, 6, 2)),
    "txt": ("varchar(16)", lambda v: plain_text(v, 16)),
    "at": ("datetime(3)", lambda v: moment(v, 3)),
    "doc": ("json", document),
    "yes": ("bool", boolean),
}


def expected(attribute: str, value: Any) -> Any:
    """The value the row must hold, or raise Refused (NULL for None and NaN)."""
    if attribute != "doc" and is_null(value) or value is None:
        return None
    if attribute in NUMERIC and isinstance(value, str) and not value.strip():
        return None  # a blank in a numeric column is NULL, as DataJoint reads a blank CSV field
    return MODEL[attribute][1](value)


def same(attribute: str, stored: Any, want: Any) -> bool:
    if want is None or stored is None:
        return want is None and stored is None
    if attribute == "f32":  # MariaDB's text protocol sends FLOAT with 6 significant digits
        return abs(stored - want) <= 6e-6 * abs(want) + 1.2e-38
    if attribute == "doc":
        return _same_json(stored, want)
    return stored == want and type(stored) is type(want)


def _same_json(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same_json, a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or math.isclose(a, b, rel_tol=1e-15)
    return a == b


# values of the right type (still with edge cases), to mix with WILD ones
GOOD = {
    "i8": st.integers(-128, 127),
    "i64": st.integers(-(2**63), 2**63 - 1),
    "f64": st.floats(allow_nan=False, allow_infinity=False),
    "f32": st.floats(width=32, allow_nan=False, allow_infinity=False),
    "dec": st.decimals(min_value=-9999.99, max_value=9999.99, places=2),
    "txt": st.text(max_size=16),
    "at": st.datetimes(),
    "doc": JSON,
    "yes": st.booleans(),
}


def values_for(attribute: str) -> st.SearchStrategy:
    """Mostly values of the attribute's type, often anything at all."""
    return GOOD[attribute] | GOOD[attribute] | WILD
