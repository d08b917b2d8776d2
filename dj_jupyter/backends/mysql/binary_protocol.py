"""MySQL/MariaDB: statements carrying large bytes values go over the binary protocol.

PyMySQL writes every value into the SQL text (bytes as ``X'hex'``), and the server's
parser reads such a literal at about 40 MiB/s of value: in-table blobs could not be
written faster than that. A server-side prepared statement instead takes large bytes
values as they are (``COM_STMT_SEND_LONG_DATA``), so only the storage engine's time is left.

:class:`BinaryParamsCursor` is the driver cursor of every dj_jupyter MySQL connection
(set up by the MySQL dialect). It sends a statement this way only when a row holds a
bytes value of at least :data:`LONG_DATA_MIN` bytes, the statement returns no rows and
every value has an exact binary form; anything else runs through PyMySQL unchanged, and
so do statements the server refuses to prepare (the text path then reports the error).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import struct
from collections.abc import Sequence
from typing import Any

from pymysql.constants import COMMAND
from pymysql.cursors import Cursor

__all__ = ["BinaryParamsCursor", "COMMIT_SUFFIX", "LONG_DATA_MIN"]

# What the MySQL dialect's run_last appends to a transaction's last statement: one round trip
# carries both, and the cursor below sends the two as one text command.
COMMIT_SUFFIX = "; COMMIT"

# Bytes; rows with smaller values stay in SQL text, where PyMySQL batches many rows into one
# statement. Measured (MariaDB 10.11, 1 row per round trip): 4 KiB values insert at 20 MiB/s
# binary vs 33 text; 16 KiB at 48 vs 29; 64 KiB at 133 vs 30.
LONG_DATA_MIN = 16 * 1024
LONG_DATA_CHUNK = 8 * 1024 * 1024  # one SEND_LONG_DATA packet stays under the 16 MiB frame

_TYPE_DOUBLE, _TYPE_LONGLONG, _TYPE_NULL = 5, 8, 6
_TYPE_BLOB, _TYPE_VAR_STRING = 252, 253
_UNSIGNED = 0x80
_INT64 = struct.Struct("<q")
_UINT64 = struct.Struct("<Q")
_DOUBLE = struct.Struct("<d")
_PLACEHOLDER = re.compile(r"%[%s]")
_BYTES = (bytes, bytearray)
_BYTES_TYPES = frozenset(_BYTES)


class _NoBinaryForm(Exception):
    """A value or statement the binary path does not take: the text path runs instead."""


class BinaryParamsCursor(Cursor):
    """PyMySQL's cursor, with large bytes parameters sent unescaped (see the module)."""

    def execute(self, query: str, args: Any = None) -> int:
        if args is not None and _worth_binary(query, (args,)):
            done = self._run_prepared(query, [args])
            if done is not None:
                return done
        return super().execute(query, args)

    def executemany(self, query: str, args: Any) -> int | None:
        if args and _worth_binary(query, args):
            done = self._run_prepared(query, list(args))
            if done is not None:
                return done
        return super().executemany(query, args)

    def _run_prepared(self, query: str, rows: list[Sequence[Any]]) -> int | None:
        """Run ``query`` once per row as a prepared statement; None: use the text path."""
        commit = query.endswith(COMMIT_SUFFIX)
        text = query[:-len(COMMIT_SUFFIX)] if commit else query
        try:
            payloads = [_row_payload(row) for row in rows]
        except _NoBinaryForm:
            return None
        connection = self._get_db()
        statement = _prepare(connection, _question_marks(text), len(rows[0]))
        if statement is None:
            return None
        self._clear_result()
        self._executed = query
        total = 0
        try:
            for head, long_values in payloads:
                for index, value in long_values:
                    _send_long_data(connection, statement, index, value)
                connection._execute_command(COMMAND.COM_STMT_EXECUTE,
                                            struct.pack("<IBI", statement, 0, 1) + head)
                total += connection._read_query_result()
                self._do_get_result()
        finally:
            _close(connection, statement)
        if commit:
            connection.query("COMMIT")
        self.rowcount = total
        return total


def _worth_binary(query: str, rows: Sequence[Any]) -> bool:
    """Whether a row holds a bytes value large enough to pay for a prepared statement.

    Only the columns holding bytes (or None) in the first row are scanned: a bulk insert of
    many rows without bytes costs one look at one row.
    """
    first = rows[0]
    if not isinstance(first, (tuple, list)):
        return False
    if len(rows) == 1 and _BYTES_TYPES.isdisjoint(map(type, first)):  # most statements
        return False
    if not isinstance(query, str) or "?" in query:  # "?" would become a parameter marker
        return False
    columns = [i for i, value in enumerate(first) if value is None or type(value) in _BYTES]
    for row in rows if columns else ():
        if len(row) != len(first):
            return False
        for i in columns:
            value = row[i]
            if type(value) in _BYTES and len(value) >= LONG_DATA_MIN:
                return True
    return False


def _question_marks(query: str) -> str:
    """The ``format`` paramstyle (``%s``, ``%%``) as the server's ``?`` markers."""
    return _PLACEHOLDER.sub(lambda m: "%" if m.group() == "%%" else "?", query)


def _row_payload(row: Sequence[Any]) -> tuple[bytes, list[tuple[int, bytes]]]:
    """(the EXECUTE packet after its fixed header, the (index, value) sent as long data)."""
    if not isinstance(row, (tuple, list)):
        raise _NoBinaryForm
    nulls = bytearray((len(row) + 7) // 8)
    types, values, long_values = [], [], []
    for index, value in enumerate(row):
        kind = type(value)
        if value is None:
            nulls[index // 8] |= 1 << (index % 8)
            types.append((_TYPE_NULL, 0))
        elif kind in _BYTES:
            types.append((_TYPE_BLOB, 0))
            if len(value) >= LONG_DATA_MIN:
                long_values.append((index, value))
            else:
                values.append(_length_coded(bytes(value)))
        elif kind is bool or kind is int:
            types.append(_int_type(value))
            values.append(_int_bytes(int(value)))
        elif kind is float:
            if not math.isfinite(value):
                raise _NoBinaryForm  # the text path reports it as the server does
            types.append((_TYPE_DOUBLE, 0))
            values.append(_DOUBLE.pack(value))
        else:
            types.append((_TYPE_VAR_STRING, 0))
            values.append(_length_coded(_text_of(value)))
    head = bytes(nulls) + b"\x01" + b"".join(bytes(t) for t in types) + b"".join(values)
    return head, long_values


def _int_type(value: int) -> tuple[int, int]:
    if -(1 << 63) <= value < (1 << 63):
        return _TYPE_LONGLONG, 0
    if 0 <= value < (1 << 64):
        return _TYPE_LONGLONG, _UNSIGNED
    raise _NoBinaryForm


def _int_bytes(value: int) -> bytes:
    return _INT64.pack(value) if value < (1 << 63) else _UINT64.pack(value)


def _text_of(value: Any) -> bytes:
    """Values the server converts from text exactly as from the SQL the text path writes."""
    kind = type(value)
    if kind is str:
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            raise _NoBinaryForm from None
    if kind is decimal.Decimal and value.is_finite():
        return str(value).encode("ascii")
    if kind is dt.datetime and value.tzinfo is None:
        return value.isoformat(" ").encode("ascii")
    if kind is dt.date:
        return value.isoformat().encode("ascii")
    raise _NoBinaryForm


def _length_coded(data: bytes) -> bytes:
    size = len(data)
    if size < 251:
        prefix = bytes((size,))
    elif size < (1 << 16):
        prefix = b"\xfc" + size.to_bytes(2, "little")
    elif size < (1 << 24):
        prefix = b"\xfd" + size.to_bytes(3, "little")
    else:
        prefix = b"\xfe" + size.to_bytes(8, "little")
    return prefix + data


def _prepare(connection: Any, query: str, parameters: int) -> int | None:
    """The server's statement id, or None if it cannot prepare this as a row-less statement."""
    from pymysql.err import MySQLError

    try:
        connection._execute_command(COMMAND.COM_STMT_PREPARE, query)
        answer = connection._read_packet()
    except MySQLError:
        return None  # not preparable (several statements, ...): the text path runs it
    answer.read_uint8()
    statement = answer.read_uint32()
    columns, markers = answer.read_uint16(), answer.read_uint16()
    for count in (markers, columns):  # definitions, then an EOF packet
        for _ in range(count + 1 if count else 0):
            connection._read_packet()
    if columns or markers != parameters:
        _close(connection, statement)
        return None
    return statement


def _send_long_data(connection: Any, statement: int, index: int, value: bytes) -> None:
    """Stream one value to the server in packets of at most LONG_DATA_CHUNK bytes (no copy)."""
    view = memoryview(value)
    for start in range(0, max(len(view), 1), LONG_DATA_CHUNK):
        chunk = view[start:start + LONG_DATA_CHUNK]
        # Packet header: 3-byte length, then sequence number 0 (the top byte of "<I").
        connection._write_bytes(struct.pack("<IBIH", 7 + len(chunk),
                                            COMMAND.COM_STMT_SEND_LONG_DATA, statement, index))
        connection._write_bytes(chunk)


def _close(connection: Any, statement: int) -> None:
    """Free the statement on the server (no answer is sent); skipped if the link is gone."""
    if connection._sock is not None:
        connection._execute_command(COMMAND.COM_STMT_CLOSE, struct.pack("<I", statement))
