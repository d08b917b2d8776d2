"""What ``populate`` returns and raises when interrupted, readable at a glance.

``PopulateResult`` is the DataJoint dict ``{"success_count", "error_list"}`` (equal to a plain
dict with the same items) that shows itself in IPython as one line, e.g.
``Sq: 12 made, 6 failed — 1 kind of error (ValueError ×6)``. ``PopulateInterrupted`` is the
KeyboardInterrupt of a populate, with a message that says what was kept.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

__all__ = ["PopulateResult", "PopulateInterrupted", "error_kind", "summary_line"]


def error_kind(message: str) -> str:
    """The exception type named at the front of an error message ("ValueError: ...")."""
    head, sep, _ = str(message).partition(":")
    return head.strip() if sep and head.strip().isidentifier() else "Error"


def summary_line(table: str, made: int, errors: list, *, stopped: bool = False,
                 left: int | None = None) -> str:
    """``Sq: 12 made, 6 failed — 1 kind of error (ValueError ×6)``, plus a stop note."""
    text = f"{table}: {made} made"
    if errors:
        kinds = Counter(error_kind(m if isinstance(m, str) else f"{type(m).__name__}: {m}")
                        for _, m in errors)
        listed = ", ".join(f"{k} ×{n}" for k, n in kinds.most_common())
        plural = "kind" if len(kinds) == 1 else "kinds"
        text += f", {len(errors)} failed \u2014 {len(kinds)} {plural} of error ({listed})"
    if stopped:
        text += "; stopped" + (f", {left} left to do" if left is not None else "")
    return text


class PopulateResult(dict):
    """``{"success_count": int, "error_list": [(key, message), ...]}`` with a summary repr."""

    def __init__(self, *args: Any, table: str = "", stopped: bool = False, **items: Any):
        super().__init__(*args, **items)
        self.table = table
        self.stopped = stopped

    @property
    def summary(self) -> str:
        return summary_line(self.table or "populate", self.get("success_count", 0),
                            self.get("error_list", []), stopped=self.stopped)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.summary if not cycle else "PopulateResult(...)")


class PopulateInterrupted(KeyboardInterrupt):
    """Ctrl-C (a kernel interrupt) during populate: the running key was rolled back."""

    def __init__(self, table: str, key: dict, made: int, failed: int):
        self.table, self.key, self.made, self.failed = table, key, made, failed
        super().__init__(f"{table}.populate interrupted: {made} made, {failed} failed; key "
                         f"{key} rolled back, the remaining keys are still to do")
