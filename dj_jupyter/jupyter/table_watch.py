"""What the populate panel knows about one table (:class:`TableWatch`), and its reads of
the database: counts, the workers holding reservations and the error groups.

The panel (:mod:`.populate_panel`) keeps one watch per table; populate's coarse events move it
while a populate runs here, and :func:`read_counts` refreshes it from the job tables, so that
workers in other processes and on other machines show too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..catalog.events import PopulateEvent
from ..errors import DataJointError
from ..populate.result import summary_line
from ..query.expression import U

__all__ = ["TableWatch", "read_counts", "read_workers", "table_class"]


def table_class(table: Any) -> type:
    """The table class of ``table`` (a class or an instance), if it populates."""
    cls = table if isinstance(table, type) else type(table)
    if not hasattr(cls, "populate") or not hasattr(cls, "make") and not hasattr(cls, "make_fetch"):
        raise DataJointError(f"{getattr(cls, '__name__', table)!r} is not a Computed or Imported "
                             "table class: PopulatePanel shows tables that populate")
    return cls


@dataclass
class _Counted:
    """The progress of a populate that runs elsewhere (``processes=N``, an executor): the
    counts its coarse events carry."""

    total: int | None
    started: float = field(default_factory=time.perf_counter)
    done: int = 0
    errors: list = field(default_factory=list)
    key: dict | None = None
    phase: str = ""
    phase_started: float = 0.0
    phases: dict = field(default_factory=dict)


class TableWatch:
    """What the panel knows about one table: counts from the database, and the progress of
    the populates running here (populate's own progress objects, read when the state is
    sent: populate sends the panel no event per key)."""

    def __init__(self, cls: type, restrictions: tuple = ()):
        self.cls = cls
        self.name = cls.__name__
        self.restrictions = restrictions
        # from the database (see read_counts)
        self.total: int | None = None
        self.remaining: int | None = None
        self.jobs: dict[str, int] = {}
        self.workers: list[dict] = []
        self.groups: list[dict] = []
        # the populates of this table running here (one per worker thread)
        self.state = "idle"  # idle, running, stopping, stopped, finished, interrupted
        self.runs: list[Any] = []
        self.todo_all: int | None = None
        self.ended: float | None = None
        self.base: tuple[int, int] | None = None  # (remaining, errors) when the run started

    def observe(self, event: PopulateEvent) -> None:
        """Take a populate's "started" or "finished" event."""
        if event.kind == "started":
            if self.state not in ("running", "stopping"):  # workers of one start share it
                self.runs, self.ended = [], None
                self.todo_all = event.extra.get("todo", event.total)
            self.runs.append(event.extra.get("progress") or _Counted(event.total))
            if self.state != "stopping":
                self.state = "running"
        elif self.runs and isinstance(self.runs[-1], _Counted):  # counts of workers elsewhere
            self.runs[-1].done = max(self.runs[-1].done, event.done)
            self.runs[-1].errors = [((), "")] * max(len(self.runs[-1].errors), event.failed)
        if event.kind == "finished":
            if event.extra.get("interrupted"):
                self.state = "interrupted"
            elif event.extra.get("error"):
                self.state = "failed"  # make raised (suppress_errors=False)
            elif event.extra.get("stopped") or self.state == "stopping":
                self.state = "stopped"
            elif self.state != "stopped":
                self.state = "finished"
            self.ended = time.perf_counter()

    @property
    def made(self) -> int:
        return sum(run.done for run in self.runs)

    @property
    def messages(self) -> list[str]:
        return [m if isinstance(m, str) else f"{type(m).__name__}: {m}"
                for run in self.runs for _, m in list(run.errors)]

    def summary(self) -> str:
        if not self.runs:
            return ""
        left = self.remaining if self.state in ("stopped", "interrupted") else None
        text = summary_line(self.name, self.made, [((), m) for m in self.messages],
                            stopped=self.state == "stopped", left=left)
        if self.state == "interrupted":
            text += "; interrupted, the key being made was rolled back"
        elif self.state == "failed":
            text += "; populate stopped at the first error (suppress_errors=False)"
        return text

    def _counts(self, made: int, failed: int) -> dict:
        """The database's counts, moved on by what the populates here did since they were
        read (the database is read seldom while they run: reading it slows them down)."""
        remaining, jobs = self.remaining, dict(self.jobs)
        if self.base is not None and self.state in ("running", "stopping"):
            base_remaining, base_errors = self.base
            remaining = min(remaining if remaining is not None else base_remaining,
                            max(0, base_remaining - made))
            jobs["error"] = max(jobs.get("error", 0), failed)
        return {"remaining": remaining, "jobs": jobs}

    def to_dict(self) -> dict:
        now = time.perf_counter()
        started = min((run.started for run in self.runs), default=None)
        elapsed = ((self.ended or now) - started) if started is not None else 0.0
        made, failed = self.made, sum(len(run.errors) for run in self.runs)
        rate = (made + failed) / elapsed if elapsed > 0 else 0.0
        totals = [run.total for run in self.runs if run.total is not None]
        target = max(totals) if totals else None
        left = None if target is None else max(0, target - made - failed)
        busy = next((run for run in self.runs if run.key is not None), None)
        key, phase, phases = None, "", {}
        if busy is not None and self.state in ("running", "stopping"):
            key, phase, phases = busy.key, busy.phase, dict(busy.phases)
            if phase:
                phases[phase] = now - busy.phase_started
        return {
            "name": self.name, "full_name": self.cls().full_name, "state": self.state,
            "total": self.total, **self._counts(made, failed),
            "target": target, "todo_all": self.todo_all, "made": made, "failed": failed,
            "elapsed": elapsed, "rate": rate,
            "eta": left / rate if rate > 0 and left is not None and self.state == "running"
            else None,
            "key": key, "phase": phase, "phases": phases,
            "workers": self.workers, "groups": self.groups, "summary": self.summary(),
        }


def read_counts(watch: TableWatch) -> None:
    """Counts, workers and error groups of one table, read from the database."""
    table = watch.cls()
    source = table.restricted_source(watch.restrictions)
    watch.total = len(source)
    watch.remaining = len(source - table.proj())
    jobs = table.jobs
    rows = jobs if not watch.restrictions else jobs & source
    counts = {row["status"]: int(row["n"])
              for row in U("status").aggr(rows, n="count(*)").to_dicts()}
    watch.jobs = counts
    watch.workers = read_workers(jobs) if counts.get("reserved") else []
    if counts.get("error", 0) != sum(g["count"] for g in watch.groups):
        watch.groups = [g.to_dict() for g in jobs.errors.groups()]
    elif not counts.get("error"):
        watch.groups = []


def read_workers(jobs: Any) -> list[dict]:
    """Who holds reservations: host, pid, jobs held, since when, heartbeat age (seconds)."""
    connection = jobs.connection
    now = connection.fetch_all(_select_now(connection))[0][0]
    workers: dict[tuple, dict] = {}
    for row in jobs.reserved.proj("host", "pid", "reserved_time", "heartbeat").to_dicts():
        found = workers.setdefault((row["host"], row["pid"]), {
            "host": row["host"], "pid": row["pid"], "jobs": 0, "since": row["reserved_time"],
            "heartbeat": row["heartbeat"]})
        found["jobs"] += 1
        found["since"] = min(filter(None, (found["since"], row["reserved_time"])), default=None)
        found["heartbeat"] = max(filter(None, (found["heartbeat"], row["heartbeat"])),
                                 default=None)
    return [{**w, "since": w["since"].isoformat(sep=" ", timespec="seconds")
             if w["since"] else "", "heartbeat_age": _age(now, w["heartbeat"])}
            for w in sorted(workers.values(), key=lambda w: (w["host"], w["pid"]))]


def _select_now(connection: Any) -> Any:
    return sa.select(connection.dialect.now())


def _age(now: Any, then: Any) -> float | None:
    if then is None or now is None:
        return None
    if isinstance(now, str):  # SQLite returns text
        now = datetime.fromisoformat(now)
    return max(0.0, (now.replace(tzinfo=None) - then.replace(tzinfo=None)).total_seconds())
