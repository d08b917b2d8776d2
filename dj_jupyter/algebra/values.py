"""Checking and normalising the Python values users put into rows.

Every backend gets the same, already-valid Python value, so a value that one
backend would store silently and another would refuse is refused everywhere,
before anything is written, with an error that names the table, the attribute
and the fix. Validators work on whole columns (lists): the bulk insert path
calls each once per attribute, not once per value.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

from ..definition.model import TypeSpec
from ..definition.types import core_of
from ..errors import DataTypeError, MissingAttributeError
from ..objects.codecs import encoder_for

__all__ = ["BadValue", "column_validator", "MISSING"]

INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}

Check = Callable[[Any], Any]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


class BadValue(Exception):
    """A value that does not fit; the message says what is expected."""


def _is_nan(value: Any) -> bool:
    """NaN as a Python float or a numpy float scalar (arrays are values, never NaN)."""
    if isinstance(value, float):
        return value != value
    return (type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0
            and value.dtype.kind == "f" and bool(value != value))


LOSSY_INTEGER = ("DataJoint hands it to the server, which rounds it or cuts it off; dj_jupyter "
                 "refuses because the fraction would be lost: round it first (round(x)) or "
                 "declare a float64 or decimal attribute")


def _number_text(value: str) -> decimal.Decimal:
    """A number written as text ("12", " 1.5e3 "), as DataJoint passes such text to the server."""
    try:
        number = decimal.Decimal(value.strip())
    except decimal.InvalidOperation:
        raise BadValue(f"expected a number, got the text {value!r}") from None
    if not number.is_finite():
        raise BadValue(f"{value!r} is not a finite number; store NULL (None) or a finite number")
    return number


def _whole(value: Any) -> int:
    """An integer from an int-like value with no fraction; a fraction is refused."""
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, str):
        value = _number_text(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise BadValue(f"{value} is not a finite number")
        if value != value.to_integral_value():
            raise BadValue(f"{value} is not a whole number; {LOSSY_INTEGER}")
        return int(value)
    if isinstance(value, Real):
        number = float(value)
        if not math.isfinite(number):
            raise BadValue(f"{value!r} is not a finite number")
        if not number.is_integer():
            raise BadValue(f"{value!r} is not a whole number; {LOSSY_INTEGER}")
        return int(number)
    raise BadValue(f"expected an integer, got {value!r}")


def _integer(low: int, high: int) -> Check:
    def check(value: Any) -> int:
        if type(value) is not int:
            if isinstance(value, bool) or (type(value).__module__ == "numpy"
                                           and type(value).__name__ in ("bool", "bool_")):
                value = int(value)  # True is 1, as DataJoint stores it
            else:
                value = _whole(value)
        if not low <= value <= high:
            raise BadValue(f"{value} is outside the range {low}..{high}")
        return value

    return check


FLOAT32_MAX = 3.4028234663852886e38


def _floating(value: Any) -> float:
    if isinstance(value, str):
        value = _number_text(value)  # "1.5", as DataJoint lets the server parse it
    if isinstance(value, bool) or not isinstance(value, (Real, decimal.Decimal)):
        raise BadValue(f"expected a number, got {value!r}")
    try:
        number = float(value)
    except (OverflowError, ValueError):
        raise BadValue(f"{value} is too large for a float64; store a finite number below 1.8e308 "
                   "or use decimal/a string") from None
    if math.isinf(number):
        raise BadValue("infinity cannot be stored (MySQL refuses it); store NULL or a finite "
                       "number")
    if number != number:  # e.g. Decimal("NaN"); float NaN means NULL before it gets here
        raise BadValue("NaN cannot be stored; give None (or float('nan')) for NULL")
    return number


FLOAT32_TINY = 1.1754943508222875e-38  # the smallest normal float32; PostgreSQL refuses less


def _float32(value: Any) -> float:
    number = _floating(value)
    if abs(number) > FLOAT32_MAX:
        raise BadValue(f"{number} is outside the float32 range (±3.4e38); declare the attribute "
                   "float64 or store a smaller number")
    if 0 < abs(number) < FLOAT32_TINY:
        raise BadValue(f"{number} is too close to zero for float32 (below ±1.2e-38); store 0 or "
                   "declare the attribute float64")
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool) or (type(value).__module__ == "numpy"
                                   and type(value).__name__ in ("bool", "bool_")):
        return bool(value)
    if isinstance(value, Integral) and value in (0, 1):
        return bool(value)
    raise BadValue(f"expected True or False, got {value!r}")


def _decimal(precision: int, scale: int) -> Check:
    quantum = decimal.Decimal(1).scaleb(-scale)
    limit = decimal.Decimal(10) ** (precision - scale)

    def check(value: Any) -> decimal.Decimal:
        if isinstance(value, bool):
            raise BadValue(f"expected a decimal number, got {value!r}")
        try:
            number = decimal.Decimal(str(value) if isinstance(value, (float, str)) else value)
        except (decimal.InvalidOperation, TypeError, ValueError):
            raise BadValue(f"expected a decimal number, got {value!r}") from None
        if not number.is_finite():
            raise BadValue("NaN and infinity cannot be stored in a decimal")
        too_big = BadValue(f"{value} does not fit decimal({precision},{scale}); its absolute value "
                       f"must stay below 10**{precision - scale}")
        if number.adjusted() >= precision - scale:
            raise too_big
        try:
            number = number.quantize(quantum, rounding=decimal.ROUND_HALF_UP,
                                     context=decimal.Context(prec=precision + 2))
        except decimal.InvalidOperation:
            raise too_big from None
        if abs(number) >= limit:
            raise too_big
        return number

    return check


def _check_characters(text: str) -> None:
    """Refuse what no backend can store in text: NUL and lone surrogates."""
    if "\x00" in text:
        raise BadValue("strings cannot contain the NUL character (PostgreSQL refuses it); remove "
                   "it, or store the data as bytes or <blob>")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise BadValue(f"the string holds a lone surrogate {text[error.start]!r} at position "
                       f"{error.start}, which is not valid Unicode; decode your data with "
                       "errors='replace' or store it as bytes") from None


def is_storable_text(joined: str) -> bool:
    """True when a string (e.g. a column joined) has no NUL and no lone surrogate."""
    if "\x00" in joined:
        return False
    if joined.isascii():
        return True
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_text(value: Any) -> str:
    """A number written as text (5 -> "5"), as DataJoint stores a number in a string column;
    anything else that is not a string is refused (its text form would be a guess)."""
    if isinstance(value, bool) or (type(value).__module__ == "numpy"
                                   and type(value).__name__ in ("bool", "bool_")):
        raise BadValue(f"expected a string, got {value!r}; write 'true'/'false' or declare "
                       "a bool attribute")
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, (Real, decimal.Decimal)):
        if not (value.is_finite() if isinstance(value, decimal.Decimal)
                else math.isfinite(float(value))):  # float() of a signalling NaN raises
            raise BadValue(f"expected a string, got {value!r}; NaN and infinity have no text "
                           "form that every backend reads back")
        return str(value)  # the shortest text that reads back as the same number
    raise BadValue(f"expected a string, got {value!r}")


def _text(limit: int | None) -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            value = _as_text(value)
        if limit is not None and len(value) > limit:
            raise BadValue(f"{len(value)} characters do not fit in {limit}")
        _check_characters(value)
        return str(value)

    return check


def _enum(values: tuple[str, ...]) -> Check:
    allowed = frozenset(values)

    def check(value: Any) -> str:
        if value not in allowed:
            raise BadValue(f"{value!r} is not one of {', '.join(map(repr, values))}")
        return str(value)

    return check


def _to_datetime(value: Any) -> dt.datetime:
    if type(value) is dt.datetime and value.tzinfo is None:
        return value
    if isinstance(value, dt.datetime):
        if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
            value = value.to_pydatetime()
        if value.tzinfo is not None:  # the one rule on every backend: aware means UTC
            try:
                value = value.astimezone(dt.timezone.utc)
            except OverflowError:
                raise BadValue(f"{value} is outside the years 1..9999 once converted to UTC") \
                    from None
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise BadValue(f"{value!r} is not an ISO date-time (YYYY-MM-DD HH:MM:SS)") from None
        return _to_datetime(parsed) if parsed.tzinfo is not None else parsed
    if type(value).__name__ == "datetime64":
        import numpy as np

        if np.isnat(value):
            raise BadValue("NaT is not a date-time; use None for NULL")
        micro = value.astype("datetime64[us]").astype("int64")
        return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(micro))
    raise BadValue(f"expected a datetime, got {value!r}")


def _datetime(fsp: int) -> Check:
    step = 10 ** (6 - fsp)

    def check(value: Any) -> dt.datetime:
        moment = _to_datetime(value)
        rounded = (moment.microsecond + step // 2) // step * step
        if rounded == moment.microsecond:
            return moment
        try:
            return moment.replace(microsecond=0) + dt.timedelta(microseconds=rounded)
        except OverflowError:
            raise BadValue(f"{moment} rounds past 9999-12-31 23:59:59 at datetime({fsp}); give "
                       "an earlier time or declare more fractional digits") from None

    return check


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime) or type(value).__name__ == "datetime64":
        return _to_datetime(value).date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise BadValue(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None
    raise BadValue(f"expected a date, got {value!r}")


def _uuid(value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        if isinstance(value, (bytes, bytearray)) and len(value) == 16:
            return uuid.UUID(bytes=bytes(value))
        return uuid.UUID(str(value))
    except ValueError:
        raise BadValue(f"{value!r} is not a UUID") from None


JSON_MAX_DEPTH = 31  # MariaDB refuses 32 levels (JSON_VALID), the lowest limit of the backends


def _json(value: Any) -> Any:
    _check_json_shape(value)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise BadValue(f"not JSON-serialisable ({error}); use a <blob> attribute for Python "
                       "objects") from None
    return value


def _check_json_shape(value: Any) -> None:
    """Depth and strings of a JSON document, walked without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_characters(item)
        elif isinstance(item, (dict, list, tuple)):
            if depth > JSON_MAX_DEPTH:
                raise BadValue(f"JSON nested deeper than {JSON_MAX_DEPTH} levels cannot be "
                               "stored on every backend; flatten it or use a <blob> attribute")
            if isinstance(item, dict):
                for key, inner in item.items():
                    if isinstance(key, str):
                        _check_characters(key)
                    stack.append((inner, depth + 1))
            else:
                stack.extend((inner, depth + 1) for inner in item)


def _bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise BadValue(f"expected bytes, got {type(value).__name__}; use <blob> to store Python "
                   "objects")


def _time(value: Any) -> Any:
    if isinstance(value, (dt.time, dt.timedelta)):
        return value
    raise BadValue(f"expected a time, got {value!r}")


def _refusing_masked(encode: Callable[..., Any]) -> Callable[..., Any]:
    """A codec's encoder that first refuses numpy masked arrays (their mask would be lost)."""
    def check(value: Any, *key: Any) -> Any:
        if type(value).__name__ == "MaskedArray":
            raise BadValue("a numpy masked array would lose its mask; store value.filled(fill) "
                       "or value.data and value.mask as two attributes")
        return encode(value, *key)

    return check


def value_check(spec: TypeSpec) -> Check:
    """The check that turns one non-null user value into the canonical Python value."""
    family, args = core_of(spec)
    if family in INT_RANGES:
        return _integer(*INT_RANGES[family])
    simple: dict[str, Check] = {
        "float32": _float32, "float64": _floating, "bool": _boolean, "date": _date,
        "uuid": _uuid, "json": _json, "bytes": _bytes, "time": _time,
    }
    if family in simple:
        return simple[family]
    if family == "decimal":
        return _decimal(*args)
    if family in ("char", "varchar"):
        return _text(args[0])
    if family == "text":
        return _text(None)
    if family == "enum":
        return _enum(args)
    if family == "datetime":
        return _datetime(args[0] if args else 0)
    if family == "codec":
        return _refusing_masked(encoder_for(spec))  # validate and encode through the codecs
    return lambda value: value


def _canonical_column_test(spec: TypeSpec) -> Callable[[list], bool] | None:
    """A whole-column test: True when every value is already canonical (the bulk fast path).

    It looks at types and ranges only; when it says False, the per-value checks run
    and produce the precise error or conversion.
    """
    family, args = core_of(spec)
    if family in INT_RANGES:
        low, high = INT_RANGES[family]
        return lambda col: all(type(v) is int for v in col) and low <= min(col) and max(col) <= high
    if family == "float64":
        return lambda col: all(type(v) is float for v in col) and all(map(math.isfinite, col))
    if family in ("char", "varchar", "text"):
        limit = args[0] if args else None
        return lambda col: (all(type(v) is str for v in col)
                            and (limit is None or max(map(len, col)) <= limit)
                            and is_storable_text("".join(col)))
    if family == "float32":
        return lambda col: all(type(v) is float for v in col) and all(
            math.isfinite(v) and abs(v) <= FLOAT32_MAX and (v == 0 or abs(v) >= FLOAT32_TINY)
            for v in col)
    if family == "enum":
        allowed = frozenset(args)
        return lambda col: all(type(v) is str for v in col) and set(col) <= allowed
    if family == "bool":
        return lambda col: all(type(v) is bool for v in col)
    if family == "date":
        return lambda col: all(type(v) is dt.date for v in col)
    if family == "datetime":
        step = 10 ** (6 - (args[0] if args else 0))
        return lambda col: all(type(v) is dt.datetime and v.tzinfo is None
                               and v.microsecond % step == 0 for v in col)
    if family == "uuid":
        return lambda col: all(type(v) is uuid.UUID for v in col)
    return None


def column_validator(table: str, name: str, spec: TypeSpec, *, nullable: bool,
                     default: Any = MISSING) -> Callable[..., list]:
    """A function checking a whole column of values for one attribute.

    None and NaN (but a NaN given to json or a codec, where it is a value) and, in a numeric
    attribute, an empty string (as DataJoint reads a blank CSV field) become the attribute's
    default (NULL when nullable); a value
    that does not fit raises :class:`DataTypeError` naming table and attribute.
    """
    check = value_check(spec)
    canonical = _canonical_column_test(spec)
    is_json = spec.name == "json" or spec.is_codec  # NaN is a value there (as in DataJoint)
    family = core_of(spec)[0]
    blank_is_null = family in INT_RANGES or family in ("float32", "float64", "decimal")

    def null_value(position: int) -> Any:
        if nullable:
            return None
        if default is not MISSING:
            return default
        raise MissingAttributeError(
            f"{table}: attribute {name!r} is not nullable and has no default, but row {position} "
            f"gives None/NaN. Give a value, or declare it `{name} = null : {spec.text}`."
        )

    def validate(values: list, keys: list[dict] | None = None) -> list:
        """``keys``: per row, the key a codec is given (``_schema``, ``_table``, PK values)."""
        if values and canonical is not None and canonical(values):
            return values
        out = []
        append = out.append
        for position, value in enumerate(values):
            if value is None or value is MISSING or (not is_json and _is_nan(value)) or (
                    blank_is_null and type(value) is str and not value.strip()):
                append(null_value(position))
                continue
            try:
                append(check(value) if keys is None else check(value, keys[position]))
            except (BadValue, DataTypeError) as problem:  # DataTypeError: from a codec
                raise DataTypeError(
                    f"{table}: row {position}, attribute {name!r} ({spec.text}): {problem}"
                ) from None
        return out

    return validate
