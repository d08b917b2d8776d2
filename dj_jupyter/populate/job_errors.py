"""Error triage: a table's failed jobs grouped by kind, with the user's part of each traceback.

``Table.jobs.errors`` is an :class:`ErrorRows` query (still restrictable and deletable, as in
DataJoint) that also groups its rows: by error type and message with the numbers taken out
(``unlucky 3`` and ``unlucky 4`` are one kind), with counts and keys. A group's traceback is
trimmed to the frames outside dj_jupyter, and frames of a ``%%dj_table`` cell carry the cell's
lines around the failing one (the magic registers cell code with :mod:`linecache`). ``retry``
puts keys back to pending; ``ignore`` makes ``populate(reserve_jobs=True)`` skip them.
"""

from __future__ import annotations

import linecache
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..algebra.compiler import compile_delete
from ..algebra.nodes import base_table
from ..errors import DataJointError
from ..objects.codecs import blob
from ..query.expression import QueryExpression
from .result import error_kind

__all__ = ["ErrorGroup", "ErrorRows", "Frame", "group_errors", "message_pattern",
           "user_frames", "PACKAGE_DIR"]

PACKAGE_DIR = str(Path(__file__).resolve().parents[1])
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])", re.IGNORECASE)
_FRAME = re.compile(r'^  File "(?P<file>.+)", line (?P<line>\d+)(?:, in (?P<func>.+))?$')
CONTEXT_LINES = 2


def message_pattern(message: str) -> str:
    """The message with its numbers replaced by ``#``: what stays the same across keys."""
    return _NUMBER.sub("#", message.strip())


@dataclass
class Frame:
    """One frame of a traceback: where, and the source lines shown for it."""

    file: str
    line: int
    function: str
    code: str
    context: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)

    @property
    def is_cell(self) -> bool:
        return self.file.startswith("<%%dj_table")

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "function": self.function,
                "code": self.code, "context": [list(c) for c in self.context],
                "cell": self.is_cell}


def user_frames(stack: str | None) -> tuple[list[Frame], str]:
    """The frames of a formatted traceback outside dj_jupyter, and its final error lines.

    A frame whose file ``linecache`` knows (a ``%%dj_table`` cell, any source file) carries
    the lines around the failing one.
    """
    if not stack:
        return [], ""
    frames: list[Frame] = []
    tail: list[str] = []
    current: Frame | None = None
    for text in stack.splitlines():
        match = _FRAME.match(text)
        if match:
            current = Frame(match["file"], int(match["line"]), match["func"] or "", "")
            frames.append(current)
            tail = []
        elif text.startswith("    ") and current is not None and not current.code:
            current.code = text.strip()
        elif not text.startswith(" ") and not text.startswith("Traceback"):
            current = None
            tail.append(text)
    kept = [f for f in frames if not _in_package(f.file)]
    for frame in kept:
        frame.context = _context(frame.file, frame.line) if frame.is_cell else []
    return kept, "\n".join(t for t in tail if t).strip()


def _in_package(file: str) -> bool:
    return file.startswith(PACKAGE_DIR) and "/tests/" not in file


def _context(file: str, line: int) -> list[tuple[int, str]]:
    lines = linecache.getlines(file)
    first, last = max(1, line - CONTEXT_LINES), min(len(lines), line + CONTEXT_LINES)
    return [(n, lines[n - 1].rstrip("\n")) for n in range(first, last + 1)]


@dataclass
class ErrorGroup:
    """Failures of one kind: the type, the message pattern, an example and every key."""

    kind: str
    pattern: str
    message: str  # the first failure's message
    keys: list[dict]
    stack: str | None = None  # the first failure's traceback

    @property
    def count(self) -> int:
        return len(self.keys)

    @property
    def title(self) -> str:
        """``ValueError: unlucky #`` (the type, then the message pattern)."""
        return self.pattern if self.kind == "Error" else f"{self.kind}: {self.pattern}"

    def frames(self) -> tuple[list[Frame], str]:
        return user_frames(self.stack)

    def to_dict(self, max_keys: int = 50) -> dict:
        frames, tail = self.frames()
        return {"kind": self.kind, "pattern": self.pattern, "title": self.title,
                "message": self.message,
                "count": self.count, "keys": self.keys[:max_keys],
                "frames": [f.to_dict() for f in frames], "error": tail}


def group_errors(rows: Iterable[dict], key_names: list[str]) -> list[ErrorGroup]:
    """Group error rows (with ``error_message`` and optionally ``error_stack``) by kind;
    the largest group first, then by kind."""
    groups: dict[tuple[str, str], ErrorGroup] = {}
    for row in rows:
        message = row.get("error_message") or ""
        kind = error_kind(message)
        pattern = message_pattern(message.split(":", 1)[1] if kind != "Error" else message)
        key = {n: row[n] for n in key_names}
        group = groups.get((kind, pattern))
        if group is None:
            groups[(kind, pattern)] = ErrorGroup(kind, pattern, message, [key],
                                                 _stack_text(row.get("error_stack")))
        else:
            group.keys.append(key)
    return sorted(groups.values(), key=lambda g: (-g.count, g.kind, g.pattern))


def _stack_text(stack: Any) -> str | None:
    """A traceback as text; a queue DataJoint declared keeps it as a ``<blob>``."""
    if isinstance(stack, (bytes, bytearray, memoryview)):
        try:
            return str(blob.decode(bytes(stack)))
        except DataJointError:
            return bytes(stack).decode(errors="replace")
    return stack


class ErrorRows(QueryExpression):
    """Failed jobs of one table (``Table.jobs.errors``), restrictable, grouped by kind."""

    def __init__(self, connection: Any, node: Any, queue: Any):
        super().__init__(connection, node)
        self.queue = queue

    def _derive(self, node: Any) -> QueryExpression:
        if base_table(node) is not None:
            return ErrorRows(self.connection, node, self.queue)
        return QueryExpression(self.connection, node)

    def groups(self) -> list[ErrorGroup]:
        """The failures grouped by error type and message pattern."""
        names = [*self.queue.key, "error_message", "error_stack"]
        return group_errors(self.proj(*names[len(self.queue.key):]).to_dicts(order_by="KEY"),
                            self.queue.key)

    def retry(self, keys: Iterable[dict] | None = None) -> int:
        """Put failed keys (all of these rows, or ``keys``) back to pending; returns how many."""
        queue = self.queue
        return sum(queue._run("repend", {**queue._key_values(key), "want_status": "error",
                                         "new_status": "pending"}) for key in self._chosen(keys))

    def ignore(self, keys: Iterable[dict] | None = None) -> int:
        """Mark failed keys as ignored (reserved populate skips them); returns how many."""
        chosen = self._chosen(keys)
        for key in chosen:
            self.queue.ignore(key)
        return len(chosen)

    def _chosen(self, keys: Iterable[dict] | None) -> list[dict]:
        if keys is None:
            return self.keys()
        chosen = [dict(k) for k in keys]
        missing = [k for k in chosen if set(self.queue.key) - set(k)]
        if missing:
            lacking = sorted(set(self.queue.key) - set(missing[0]))
            raise DataJointError(f"key {missing[0]} lacks {lacking}: give the full primary key "
                                 f"({', '.join(self.queue.key)})")
        return [{n: k[n] for n in self.queue.key} for k in chosen]

    def delete(self) -> int:
        """Remove these job rows (so populate retries their keys), as in DataJoint."""
        return self.connection.execute(compile_delete(self.node, self.connection.dialect)).rowcount

    def delete_quick(self, get_count: bool = False) -> int | None:
        """:meth:`delete` (no prompt either way); the count with ``get_count``."""
        count = self.delete()
        return count if get_count else None

    def summary(self) -> str:
        """One line per group: ``6 × ValueError: unlucky #``."""
        return "\n".join(f"{g.count} \u00d7 {g.title}" for g in self.groups()) or "no errors"
