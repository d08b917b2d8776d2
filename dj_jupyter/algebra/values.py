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
import math
import uuid
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

from ..definition.model import TypeSpec
from ..definition.types import core_of
from ..errors import DataTypeError, MissingAttributeError
from ..objects.codecs import encoder_for

__all__ = ["column_validator", "MISSING"]

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


class _Bad(Exception):
    """A value that does not fit; the message says what is expected."""


def _is_nan(value: Any) -> bool:
    """NaN as a Python float or a numpy float scalar (arrays are values, never NaN)."""
    if isinstance(value, float):
        return value != value
    return (type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0
            and value.dtype.kind == "f" and bool(value != value))


def _integer(low: int, high: int) -> Check:
    def check(value: Any) -> int:
        if type(value) is not int:
            if isinstance(value, Integral):
                value = int(value)
            elif isinstance(value, Real) and float(value).is_integer():
                value = int(value)
            else:
                raise _Bad(f"expected an integer, got {value!r}")
        if not low <= value <= high:
            raise _Bad(f"{value} is outside the range {low}..{high}")
        return value

    return check


def _floating(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (Real, decimal.Decimal)):
        raise _Bad(f"expected a number, got {value!r}")
    number = float(value)
    if math.isinf(number):
        raise _Bad("infinity cannot be stored (MySQL refuses it); store NULL or a finite number")
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool) or (type(value).__module__ == "numpy"
                                   and type(value).__name__ in ("bool", "bool_")):
        return bool(value)
    if isinstance(value, Integral) and value in (0, 1):
        return bool(value)
    raise _Bad(f"expected True or False, got {value!r}")


def _decimal(precision: int, scale: int) -> Check:
    quantum = decimal.Decimal(1).scaleb(-scale)
    limit = decimal.Decimal(10) ** (precision - scale)

    def check(value: Any) -> decimal.Decimal:
        if isinstance(value, bool):
            raise _Bad(f"expected a decimal number, got {value!r}")
        try:
            number = decimal.Decimal(str(value) if isinstance(value, (float, str)) else value)
        except (decimal.InvalidOperation, TypeError, ValueError):
            raise _Bad(f"expected a decimal number, got {value!r}") from None
        if not number.is_finite():
            raise _Bad("NaN and infinity cannot be stored in a decimal")
        number = number.quantize(quantum, rounding=decimal.ROUND_HALF_UP)
        if abs(number) >= limit:
            raise _Bad(f"{value} does not fit decimal({precision},{scale})")
        return number

    return check


def _text(limit: int | None) -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise _Bad(f"expected a string, got {value!r}")
        if limit is not None and len(value) > limit:
            raise _Bad(f"{len(value)} characters do not fit in {limit}")
        if "\x00" in value:
            raise _Bad("strings cannot contain the NUL character (PostgreSQL refuses it)")
        return str(value)

    return check


def _enum(values: tuple[str, ...]) -> Check:
    allowed = frozenset(values)

    def check(value: Any) -> str:
        if value not in allowed:
            raise _Bad(f"{value!r} is not one of {', '.join(map(repr, values))}")
        return str(value)

    return check


def _to_datetime(value: Any) -> dt.datetime:
    if type(value) is dt.datetime and value.tzinfo is None:
        return value
    if isinstance(value, dt.datetime):
        if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
            value = value.to_pydatetime()
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            raise _Bad(f"{value!r} is not an ISO date-time (YYYY-MM-DD HH:MM:SS)") from None
    if type(value).__name__ == "datetime64":
        import numpy as np

        if np.isnat(value):
            raise _Bad("NaT is not a date-time; use None for NULL")
        micro = value.astype("datetime64[us]").astype("int64")
        return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(micro))
    raise _Bad(f"expected a datetime, got {value!r}")


def _datetime(fsp: int) -> Check:
    step = 10 ** (6 - fsp)

    def check(value: Any) -> dt.datetime:
        moment = _to_datetime(value)
        rounded = (moment.microsecond + step // 2) // step * step
        if rounded == moment.microsecond:
            return moment
        return moment.replace(microsecond=0) + dt.timedelta(microseconds=rounded)

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
            raise _Bad(f"{value!r} is not an ISO date (YYYY-MM-DD)") from None
    raise _Bad(f"expected a date, got {value!r}")


def _uuid(value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        if isinstance(value, (bytes, bytearray)) and len(value) == 16:
            return uuid.UUID(bytes=bytes(value))
        return uuid.UUID(str(value))
    except ValueError:
        raise _Bad(f"{value!r} is not a UUID") from None


def _json(value: Any) -> Any:
    import json

    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise _Bad(f"not JSON-serialisable ({error}); use a <blob> attribute for Python objects") \
            from None
    return value


def _bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise _Bad(f"expected bytes, got {type(value).__name__}; use <blob> to store Python objects")


def _time(value: Any) -> Any:
    if isinstance(value, (dt.time, dt.timedelta)):
        return value
    raise _Bad(f"expected a time, got {value!r}")


def value_check(spec: TypeSpec) -> Check:
    """The check that turns one non-null user value into the canonical Python value."""
    family, args = core_of(spec)
    if family in INT_RANGES:
        return _integer(*INT_RANGES[family])
    simple: dict[str, Check] = {
        "float32": _floating, "float64": _floating, "bool": _boolean, "date": _date,
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
        return encoder_for(spec)  # validate and encode through the codec chain
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
    if family in ("float32", "float64"):
        return lambda col: all(type(v) is float for v in col) and all(map(math.isfinite, col))
    if family in ("char", "varchar", "text"):
        limit = args[0] if args else None
        return lambda col: (all(type(v) is str for v in col)
                            and (limit is None or max(map(len, col)) <= limit)
                            and "\x00" not in "".join(col))
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
                     default: Any = MISSING) -> Callable[[list], list]:
    """A function checking a whole column of values for one attribute.

    None and NaN become the attribute's default (NULL when nullable); a value
    that does not fit raises :class:`DataTypeError` naming table and attribute.
    """
    check = value_check(spec)
    canonical = _canonical_column_test(spec)
    is_json = spec.name == "json"

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
            if value is None or value is MISSING or (not is_json and _is_nan(value)):
                append(null_value(position))
                continue
            try:
                append(check(value) if keys is None else check(value, keys[position]))
            except _Bad as problem:
                raise DataTypeError(
                    f"{table}: row {position}, attribute {name!r} ({spec.text}): {problem}"
                ) from None
        return out

    return validate
