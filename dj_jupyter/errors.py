"""The exception tree of dj_jupyter.

Every error a user can meet is a subclass of :class:`DataJointError`, and its
message says what went wrong *and* how to fix it::

    DataJointError
    ├── ConfigError                  bad configuration key or value
    │   └── ConfigFileNotFoundError  config.load() of a missing file (also a FileNotFoundError)
    ├── ConnectionError_             cannot reach / lost the database
    │   └── LostConnectionError      connection dropped (inside a transaction)
    ├── DefinitionError              a table definition cannot be parsed or declared
    │   ├── NotAlterableError        a change ALTER cannot make (drop and re-declare)
    │   └── CodecPluginError         an installed codec plugin failed to load
    ├── MissingTableError            a table is used but not declared
    ├── QueryError                   the database refused a query
    │   ├── DuplicateError           a primary key / unique value exists already
    │   ├── IntegrityError           a foreign key would be violated
    │   ├── UnknownAttributeError    a row names an attribute the table lacks
    │   ├── MissingAttributeError    a row lacks a required attribute
    │   ├── DataTypeError            a value cannot be stored in its attribute
    │   └── AccessError              the database user lacks a privilege
    ├── RestrictionError             a restriction cannot be applied
    ├── FetchError                   e.g. fetch1 on a result that is not one row
    ├── TransactionError             misuse of transactions (nesting, prompts inside)
    ├── PermissionDeniedError        e.g. direct insert into a Computed table
    └── ThreadSafetyError            global state used where DJ_THREAD_SAFE forbids it
"""

from __future__ import annotations

__all__ = [
    "DataJointError",
    "ConfigError",
    "ConfigFileNotFoundError",
    "ConnectionError_",
    "LostConnectionError",
    "DefinitionError",
    "NotAlterableError",
    "CodecPluginError",
    "MissingTableError",
    "QueryError",
    "DuplicateError",
    "IntegrityError",
    "UnknownAttributeError",
    "MissingAttributeError",
    "DataTypeError",
    "AccessError",
    "RestrictionError",
    "FetchError",
    "TransactionError",
    "PermissionDeniedError",
    "ThreadSafetyError",
]


class DataJointError(Exception):
    """Base class of every dj_jupyter error."""


class ConfigError(DataJointError):
    """A configuration key is unknown or its value is invalid."""


class ConfigFileNotFoundError(ConfigError, FileNotFoundError):
    """``config.load(path)`` of a missing file (a FileNotFoundError, as in DataJoint)."""

    def __str__(self) -> str:
        return Exception.__str__(self)


class ConnectionError_(DataJointError):
    """The database cannot be reached."""


class LostConnectionError(ConnectionError_):
    """The connection to the database was lost."""


class DefinitionError(DataJointError):
    """A table definition is invalid."""

    def __init__(self, message: str, *, line: int | None = None, text: str | None = None):
        self.line = line
        self.text = text
        if line is not None:
            where = f"line {line}" + (f": {text.strip()!r}" if text else "")
            message = f"{where}\n  {message}"
        super().__init__(message)


class NotAlterableError(DefinitionError):
    """The new definition changes what ALTER cannot change; drop and re-declare instead."""


class CodecPluginError(DefinitionError):
    """An installed codec plugin failed to load (the message names its package)."""


class MissingTableError(DataJointError):
    """A table is used but has not been declared."""


class QueryError(DataJointError):
    """The database refused a statement."""


class DuplicateError(QueryError):
    """A row with the same primary key (or unique value) already exists."""


class IntegrityError(QueryError):
    """A foreign-key constraint would be violated."""


class UnknownAttributeError(QueryError, KeyError):
    """A row or restriction names an attribute the table does not have.

    Also a ``KeyError``, as in DataJoint, so ``except KeyError`` written for it still works;
    the message reads as a sentence (not quoted as a KeyError's key would be).
    """

    def __str__(self) -> str:
        return Exception.__str__(self)


class MissingAttributeError(QueryError):
    """A row lacks a value for an attribute that has no default."""


class DataTypeError(QueryError):
    """A value cannot be stored in (or compared with) its attribute's type."""


class AccessError(QueryError):
    """The database refused a statement for lack of a privilege (e.g. CREATE on a schema)."""


class RestrictionError(DataJointError):
    """A restriction operand cannot be applied to the expression."""


class FetchError(DataJointError):
    """A fetch request cannot be satisfied (e.g. ``fetch1`` on several rows)."""


class TransactionError(DataJointError):
    """Transactions were misused (nested, or a prompt inside an open one)."""


class PermissionDeniedError(DataJointError):
    """The operation is not allowed for this table (e.g. direct inserts)."""


class ThreadSafetyError(DataJointError):
    """Global state (``dj.conn()``) used while ``DJ_THREAD_SAFE`` asks for ``dj.Instance``."""
