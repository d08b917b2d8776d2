"""Our errors that are also the database driver's: what DataJoint code catches still matches.

DataJoint lets the driver's exception through where dj_jupyter raises its own with a message
that names the fix (a failed connect: ``pymysql.err.OperationalError``, which DataJoint's own
TLS test expects for a user that must use TLS). :func:`with_driver_class` makes one error that
is both, as ``settings.invalid_setting`` does for pydantic's ``ValidationError``: ``except
ConnectionError_`` and ``except pymysql.err.OperationalError`` both catch it, ``args`` are the
driver's (``args[0]`` is MySQL's error number, as code written for pymysql reads it) and the
message is ours. Only the driver's own words go in; the URL in our message hides the password.
"""

from __future__ import annotations

import functools
from typing import Any

from ..errors import DataJointError

__all__ = ["with_driver_class"]


def with_driver_class(error_class: type[DataJointError], message: str,
                      driver_error: BaseException | None) -> DataJointError:
    """An ``error_class`` error with ``message`` that is also an instance of the class of
    ``driver_error`` (a plain ``error_class`` one if there is none, or the two cannot mix)."""
    if driver_error is None:
        return error_class(message)
    try:
        combined = _combined(error_class, type(driver_error))  # type: ignore[arg-type]
    except TypeError:  # e.g. incompatible C layouts: our own class alone
        return error_class(message)
    error = combined(message)
    error.args = driver_error.args
    error.message = message  # type: ignore[attr-defined]  # what __str__ shows
    return error


@functools.cache
def _combined(error_class: type[DataJointError],
              driver_class: type[BaseException]) -> type[DataJointError]:
    """``error_class`` and ``driver_class`` in one class (made once per pair)."""

    def __str__(self: Any) -> str:
        return str(self.message)

    def __reduce__(self):  # a worker's error crosses processes as our own class alone
        return error_class, (self.message,)

    namespace = {"__str__": __str__, "__reduce__": __reduce__,
                 "__module__": error_class.__module__, "__qualname__": error_class.__qualname__,
                 "__doc__": f"{error_class.__doc__} Also a {driver_class.__module__}."
                            f"{driver_class.__qualname__}, as DataJoint lets it through."}
    return type(error_class.__name__, (error_class, driver_class), namespace)
