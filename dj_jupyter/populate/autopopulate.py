"""``populate``: run ``make(key)`` for every key of ``key_source`` not yet in the table.

Each key runs in its own transaction, together with its job bookkeeping, so the
rows of a ``make`` (master and parts) and the record of how they were made
commit together or not at all. Job records follow DataJoint 2.x: a made key's
record is removed (kept as ``success`` with ``jobs.keep_completed``), a failed
key's stays as ``error``; direct populate writes no record for a key that
succeeds. Tables declared with ``jobs.add_job_metadata`` get each row's start
time, duration and code version in hidden columns (see :mod:`.job_metadata`).
A table may add key attributes of its own below its parents' (several rows per
``make``): keys are compared on ``key_source``'s attributes.

With ``reserve_jobs=True`` keys come from the table's job queue, reserved
atomically, so any number of workers on any number of machines can share the
work; ``processes=N`` and ``executor=`` start such workers. A tripartite
``make`` (``make_fetch``/``make_compute``/``make_insert``) computes outside any
transaction and re-checks its inputs before inserting. On SQLite (one writer at a
time) a plain ``make`` stages its writes (``Connection.staged_transaction``): it
computes holding no lock, and its inserts and job bookkeeping take the write lock
only at the end, so the makes of several workers overlap.

Long module: the make loop in its modes (direct, reserved, workers) shares the per-key
transaction, events and interruption handling defined here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..algebra.compiler import value_binder
from ..catalog.events import PopulateEvent, listening, progress_display, publish
from ..errors import DataJointError, DuplicateError, TransactionError
from ..query.expression import QueryExpression
from ..settings import config
from ..tables.insert_guard import populating
from ..tables.row_provenance import ingesting
from .done_check import DoneCheck
from .job_metadata import JobMetadata, has_job_metadata, keys_of_other_versions
from .jobs import Heartbeat, JobQueue, job_queue
from .provenance import job_version
from .result import PopulateInterrupted, PopulateResult
from .upstream import Upstream
from .workers import populate_in_workers

if TYPE_CHECKING:
    from .jobs import JobQueue

__all__ = ["AutoPopulate", "populating", "PopulateInterrupted", "PopulateResult"]

logger = logging.getLogger("dj_jupyter")

# Done-checks of direct populate: this many keys per check, trusted for this many seconds.
CHECK_BATCH = 128
CHECK_FRESHNESS = 0.5
# A reserving worker looks for dead workers' jobs at most once per this many heartbeats.
SWEEP_EVERY = 3


class InputsChanged(DataJointError):
    """A tripartite make's inputs changed while it computed."""


PER_KEY = frozenset(("key_started", "key_phase", "key_done", "key_failed"))


@dataclass
class _Tally:
    """A populate's progress. The "started" event carries it (``extra["progress"]``), so an
    observer that sets ``per_key = False`` reads it at its own pace instead of receiving an
    event per key (which costs populate time at thousands of keys a second)."""

    table: str
    total: int | None
    observers: tuple
    started: float = field(default_factory=time.perf_counter)
    done: int = 0
    errors: list = field(default_factory=list)
    stopped: bool = False
    key: dict | None = None  # the key being made
    phase: str = ""  # of a tripartite make: fetch, compute, insert
    phase_started: float = 0.0
    phases: dict = field(default_factory=dict)  # phase -> seconds, of the key being made
    per_key: tuple = ()

    def __post_init__(self) -> None:
        self.per_key = tuple(o for o in self.observers if getattr(o, "per_key", True))

    @property
    def heard(self) -> bool:
        """Whether events reach anyone (unheard ones are not even built)."""
        return bool(self.observers) or listening()

    def publish(self, kind: str, key: dict | None = None, **extra: Any) -> None:
        observers = self.per_key if kind in PER_KEY else self.observers
        if not (observers or listening()):
            return
        publish(PopulateEvent(kind, self.table, key, self.done, len(self.errors), self.total,
                              time.perf_counter() - self.started, **extra), observers)


class AutoPopulate:
    """What Imported and Computed tables add: ``make``, ``populate``, jobs and provenance."""

    # usable on the class too (``Computed.populate()``): wrapped by the tables' metaclass
    _class_level: ClassVar[tuple[str, ...]] = ("populate", "progress", "jobs", "key_source",
                                               "stale")
    _upstream: Upstream | None = None  # set while make runs (see ``upstream``)

    @property
    def upstream(self) -> Upstream:
        """Inside ``make``: ``self.upstream[Session]`` is ``Session`` restricted to the rows
        the key being made depends on (any ancestor; see :mod:`.upstream`)."""
        if self._upstream is None:
            raise DataJointError(
                "self.upstream is only available inside make(); outside it, restrict the "
                "ancestor yourself, e.g. Session & key")
        return self._upstream

    # -- what to compute ------------------------------------------------------------------
    @property
    def key_source(self) -> QueryExpression:
        """The keys to compute: the join of the primary-key parents (override to change)."""
        parents = self.parents(primary=True, as_objects=True, foreign_key_info=True)
        if not parents:
            raise DataJointError(
                f"{type(self).__name__} has no primary-key parents to take keys from; declare "
                "its primary key with -> Parent lines, or define key_source")
        source = None
        for parent, info in parents:
            renames = {child: old for child, old in info["attr_map"].items() if child != old}
            term = parent.proj(**renames)
            source = term if source is None else source * term
        return source

    def restricted_source(self, restrictions: tuple) -> QueryExpression:
        """The keys of ``key_source`` that satisfy every restriction."""
        source = self.key_source.proj()
        for restriction in restrictions:
            source = source & restriction
        return source

    def _todo(self, restrictions: tuple) -> QueryExpression:
        return self.restricted_source(restrictions) - self.proj()

    @property
    def jobs(self) -> JobQueue:
        """The job queue of this table (one object per connection; its table is made when first
        read or written, not on attribute access: creating it is DDL, which a populate panel
        or pipeline view running meanwhile would see as a catalogue change)."""
        return job_queue(self)

    def progress(self, *restrictions: Any, display: bool = False) -> tuple[int, int]:
        """(remaining, total) keys, read from the database (other workers' work counts)."""
        source = self.restricted_source(restrictions)
        total = len(source)
        remaining = len(source - self.proj())
        if display:
            done = total - remaining
            logger.info("%s: completed %d of %d (%.1f%%)", type(self).__name__, done, total,
                        100 * done / total if total else 100.0)
        return remaining, total

    def stale(self) -> QueryExpression:
        """Keys whose rows were computed by a different version of ``make`` than now.

        Read from the hidden ``_job_version`` of each row when the table has it
        (``jobs.add_job_metadata``), else from the ``success`` job records, which exist only
        with ``jobs.keep_completed``: without either nothing is known, and nothing is stale.
        """
        current = job_version(type(self))
        if has_job_metadata(self):
            return self.proj() & keys_of_other_versions(self, current)
        outdated = (self.jobs & {"status": "success"}) - {"version": current}
        return self.proj() & outdated.proj()

    # -- running ---------------------------------------------------------------------------------
    def populate(self, *restrictions: Any, suppress_errors: bool = False,
                 return_exception_objects: bool = False, reserve_jobs: bool = False,
                 max_calls: int | None = None, display_progress: bool | None = None,
                 processes: int | None = 1, make_kwargs: dict | None = None,
                 priority: int | None = None, refresh: bool | None = None,
                 executor: Any = None, observers: Iterable[Callable] = (),
                 stop: Any = None) -> PopulateResult:
        """Compute the missing rows; returns ``{"success_count", "error_list"}``.

        ``reserve_jobs`` takes keys from the job queue (safe for many workers);
        ``processes=N`` or ``executor=`` (a ``concurrent.futures.Executor``, e.g. a Dask
        client's) run that many workers (``processes=None``: one per CPU core, as in
        DataJoint); ``observers`` receive progress events.
        ``display_progress``: None shows the populate panel in a notebook (with
        ``%load_ext dj_jupyter``) and nothing elsewhere; True also a tqdm bar in a terminal.
        ``stop`` (e.g. a ``threading.Event``): once set, the key being made finishes and the
        rest stay to do. The result is a dict that shows as a one-line summary.
        """
        __tracebackhide__ = True  # IPython and pytest show the user's frames, not populate's
        if self.connection.in_transaction:
            raise TransactionError("populate runs its own transactions; call it outside one")
        if processes is None:
            processes = os.cpu_count() or 1
        if processes > 1 or executor is not None:
            return PopulateResult(populate_in_workers(
                self, restrictions, processes=processes, executor=executor, max_calls=max_calls,
                suppress_errors=suppress_errors, make_kwargs=make_kwargs, priority=priority,
                observers=observers, reserve_jobs=reserve_jobs), table=type(self).__name__)
        observers = (*observers, *_progress_observers(self, restrictions, display_progress))
        runner = _Runner(self, suppress_errors, return_exception_objects, make_kwargs or {})
        runner.stop = stop
        if reserve_jobs:
            return runner.run_reserved(restrictions, max_calls, priority, refresh, observers)
        return runner.run_direct(restrictions, max_calls, observers)



class _Runner:
    """One worker's populate loop."""

    def __init__(self, table, suppress_errors: bool, return_exceptions: bool, make_kwargs: dict):
        self.table = table
        self.connection = table.connection
        self.suppress_errors = suppress_errors
        self.return_exceptions = return_exceptions
        self.make_kwargs = make_kwargs
        self.version = job_version(type(table))
        self.jobs = table.jobs
        self.jobs.info  # noqa: B018 - create the queue table outside any transaction
        self.failed_before: set[tuple] = set()  # job keys with an error record (direct mode)
        self.provenance = config["provenance.capture"]  # rows into Manual tables say who made them
        self.heartbeat = contextlib.nullcontext()
        self.stop: Any = None  # an Event-like object: set means stop after the current key
        self._tally: _Tally | None = None
        self.tripartite = all(hasattr(table, n)
                              for n in ("make_fetch", "make_compute", "make_insert"))
        self.make = _make_method(table)
        if not self.tripartite and self.make is None:
            raise DataJointError(f"{type(table).__name__} has no make(self, key) method: define "
                                 "one that inserts the row for key")
        # Done means: some row has the key_source key (the table may add key attributes).
        self.key_names = [n for n in table.key_source.heading.primary_key
                          if n in table.heading.names]
        heading, dialect = table.heading, self.connection.dialect
        binders = [(n, f"key_{n}", value_binder(dialect, heading[n])) for n in self.key_names]
        self._done = DoneCheck(table, binders, CHECK_BATCH,
                               distinct=self.key_names != heading.primary_key)
        self.metadata = JobMetadata(table, binders) if has_job_metadata(table) else None

    def _is_done(self, key: dict) -> bool:
        return bool(self._done([key]))

    def _still_todo(self, keys: list[dict]) -> Iterator[dict]:
        """``keys`` without those another worker has made since they were listed.

        The table is asked about a batch of keys at once (see :mod:`.done_check`), and an
        answer counts for ``CHECK_FRESHNESS`` seconds: a fast ``make`` costs one query per
        batch, a slow one a query per key. A key made by another worker inside that window is
        still caught: its insert fails as a duplicate, and :meth:`_make` then finds the key
        done and skips it.
        """
        names = self.key_names
        position = 0
        while position < len(keys):
            batch = keys[position:position + self._done.batch]
            done = self._done(batch)
            checked = time.monotonic()
            for key in batch:
                position += 1
                if _key_tuple(key, names) in done:
                    continue
                yield key
                if time.monotonic() - checked > CHECK_FRESHNESS:
                    break

    # -- loops ---------------------------------------------------------------------------------
    def run_direct(self, restrictions: tuple, max_calls: int | None, observers: tuple) -> dict:
        __tracebackhide__ = True
        todo = self.table._todo(restrictions)
        keys = todo.keys(order_by="KEY", limit=max_calls)
        tally = self._tally = _Tally(self.table.full_name, len(keys), observers)
        self.failed_before = self._failed_job_keys()
        if tally.heard:
            tally.publish("started", extra={
                "todo": len(keys) if max_calls is None else len(todo), "progress": tally})
        with _announced_end(tally), _terminate_as_exit(), populating(self.table), \
                self._series():
            for key in self._still_todo(keys):
                if self._stopping(tally):
                    break
                self.run_key(key, tally, reserved=False)
        return self._result(tally)

    def run_reserved(self, restrictions: tuple, max_calls: int | None, priority: int | None,
                     refresh: bool | None, observers: tuple) -> dict:
        __tracebackhide__ = True
        jobs = self.jobs
        if refresh if refresh is not None else config["jobs.auto_refresh"]:
            jobs.refresh(*restrictions, priority=priority)
        restriction = self._restriction(restrictions)
        tally = self._tally = _Tally(self.table.full_name, None, observers)
        if tally.heard:
            pending = jobs.pending & restriction.proj()
            tally.total = todo = len(pending)
            if max_calls is not None:
                tally.total = min(todo, max_calls)
            tally.publish("started", extra={"todo": todo, "progress": tally})
        calls = 0
        self.heartbeat = Heartbeat(jobs, config["jobs.heartbeat_interval"])
        sweep = _Sweep(jobs, config["jobs.heartbeat_interval"] * SWEEP_EVERY,
                       config["jobs.heartbeat_timeout"])
        with _announced_end(tally), _terminate_as_exit(), self.heartbeat, \
                populating(self.table), self._series():
            while max_calls is None or calls < max_calls:
                batch = jobs.pending_keys(restriction, priority=priority, limit=100)
                if not batch:
                    if sweep.run():
                        continue
                    break
                for key in batch:
                    if max_calls is not None and calls >= max_calls or self._stopping(tally):
                        break
                    if not jobs.reserve(key, self.version):
                        continue
                    calls += 1
                    self.run_key(key, tally, reserved=True)
                    if sweep.due() and sweep.run():
                        break  # re-queued keys keep their place in the queue: list again
                if tally.stopped:
                    break
        return self._result(tally)

    def _failed_job_keys(self) -> set[tuple]:
        """Job keys with an error record: direct populate removes it when it makes the key."""
        names = self.jobs.key
        return {_key_tuple(k, names) for k in self.jobs._status("error").keys()}

    def _stopping(self, tally: _Tally) -> bool:
        """Whether ``stop`` was set: the loop ends before the next key."""
        if self.stop is not None and self.stop.is_set():
            tally.stopped = True
        return tally.stopped

    def _series(self):
        """Keys' transactions back to back (see ``Connection.transactions_in_series``); not
        for a tripartite make, whose compute would hold a transaction open."""
        if self.tripartite:
            return contextlib.nullcontext()
        return self.connection.transactions_in_series()

    def _restriction(self, restrictions: tuple) -> QueryExpression:
        """The keys a reserving worker may take: pending jobs whose key is (still) in the
        restricted ``key_source`` (a job of a vanished key waits for ``jobs.refresh`` to
        remove it; DataJoint would call ``make`` for it)."""
        return self.table.restricted_source(restrictions)

    def _result(self, tally: _Tally) -> PopulateResult:
        return PopulateResult(success_count=tally.done, error_list=tally.errors,
                              table=type(self.table).__name__, stopped=tally.stopped)

    # -- one key -----------------------------------------------------------------------------------
    def run_key(self, key: dict, tally: _Tally, *, reserved: bool) -> None:
        __tracebackhide__ = True
        tally.key = key
        tally.publish("key_started", key)
        started = time.perf_counter()
        try:
            if reserved:
                with self.heartbeat.working_on(key):
                    made = self._make(key, started, reserved=True)
            else:
                made = self._make(key, started)
        except KeyboardInterrupt as interrupt:
            self._after_interrupt(key, reserved, interrupt, started)
            raise PopulateInterrupted(type(self.table).__name__, key, tally.done,
                                      len(tally.errors)) from None
        except SystemExit as interrupt:
            self._after_interrupt(key, reserved, interrupt, started)
            raise
        except Exception as error:  # noqa: BLE001 - recorded, then raised or returned
            self._after_error(key, error, started, tally)
            if not self.suppress_errors:
                raise
            return
        if made:
            tally.done += 1
        tally.key = None
        tally.phase = ""
        tally.publish("key_done", key, duration=time.perf_counter() - started)

    def _make(self, key: dict, started: float, reserved: bool = False) -> bool:
        """Make one key in one transaction with its job record; False if it was done already.

        Whether the key is done was checked just before (see :meth:`_still_todo`; with
        ``reserve_jobs`` the reservation keeps other workers off it). Should another writer
        have made it all the same, ``make``'s insert fails as a duplicate; the key is then
        found done and skipped rather than reported as an error.
        """
        __tracebackhide__ = True
        table = self.table
        table._upstream = Upstream(table, key)
        recorded = ingesting(table.full_name, key, self.version) if self.provenance \
            else contextlib.nullcontext()
        try:
            with recorded:
                return self._make_in_transaction(key, started, reserved)
        finally:
            table._upstream = None

    def _make_in_transaction(self, key: dict, started: float, reserved: bool) -> bool:
        __tracebackhide__ = True
        table = self.table
        computed = None
        began = dt.datetime.now()
        if self.tripartite:
            self._phase(key, "fetch")
            fetched = table.make_fetch(dict(key), **self.make_kwargs)
            self._phase(key, "compute")
            computed = table.make_compute(dict(key), *_as_tuple(fetched))
            self._phase(key, "insert")
        try:
            with self._transaction():  # inserts allowed: see populating() above
                if self.tripartite:
                    again = table.make_fetch(dict(key), **self.make_kwargs)
                    if not _same(fetched, again):
                        raise InputsChanged(
                            f"the inputs of {type(table).__name__} for key {key} changed while "
                            "make_compute ran; nothing was inserted — populate again")
                    table.make_insert(dict(key), *_as_tuple(computed))
                else:
                    self.make(dict(key), **self.make_kwargs)
                duration = time.perf_counter() - started
                if self.metadata is not None:
                    self.metadata.write(key, began, duration, self.version)
                if self._has_job_record(key, reserved):
                    self.jobs.close_at_commit(key, version=self.version, duration=duration)
        except DuplicateError:
            if not self._is_done(key):
                raise
            if self._has_job_record(key, reserved):
                self.jobs.close(key)  # made elsewhere: how, this queue cannot say
            return False
        return True

    def _transaction(self) -> Any:
        """The key's transaction. A plain make's stages its writes where the database has
        one writer (SQLite): make computes holding no lock and only its inserts, with the
        job record, wait for the write lock — so the makes of several workers overlap.
        A tripartite make re-fetches and inserts under the lock (its compute ran before)."""
        if self.tripartite or not config["populate.stage_writes"]:
            return self.connection.transaction
        return self.connection.staged_transaction()

    def _has_job_record(self, key: dict, reserved: bool) -> bool:
        """Whether making ``key`` changes the job queue: a reserved job, a key that failed
        before, or (direct mode) ``jobs.keep_completed``, which keeps a success record."""
        return reserved or config["jobs.keep_completed"] or bool(self.failed_before) and \
            _key_tuple(key, self.jobs.key) in self.failed_before

    def _phase(self, key: dict, phase: str) -> None:
        """Tell observers which step of a tripartite make runs now."""
        tally = self._tally
        if tally is not None:
            now = time.perf_counter()
            if phase == "fetch":
                tally.phases = {}
            elif tally.phase:
                tally.phases[tally.phase] = now - tally.phase_started
            tally.phase, tally.phase_started = phase, now
            tally.publish("key_phase", key, extra={"phase": phase})

    def _after_error(self, key: dict, error: BaseException, started: float,
                     tally: _Tally) -> None:
        message = _error_message(error)
        logger.log(15, "%s %s failed: %s", type(self.table).__name__, key, message)
        self._record_error(key, error, started)
        tally.errors.append((key, error if self.return_exceptions else message))
        tally.key = None
        tally.phase = ""
        tally.publish("key_failed", key, error=message)

    def _record_error(self, key: dict, error: BaseException, started: float) -> None:
        with contextlib.suppress(Exception):
            self.jobs.record(key, "error", duration=time.perf_counter() - started,
                             version=self.version, error_message=_error_message(error),
                             error_stack="".join(traceback.format_exception(error)))

    def _after_interrupt(self, key: dict, reserved: bool, interrupt: BaseException,
                         started: float) -> None:
        """A reserved key whose make Ctrl-C or SIGTERM stopped (rolled back) becomes an
        ``error`` job naming the signal, as in DataJoint 2.x: ``jobs.errors.retry()`` puts it
        back. Direct populate keeps no record of it (its key is simply still to do)."""
        if reserved:
            self._record_error(key, interrupt, started)


class _Sweep:
    """Re-queueing dead workers' jobs while working, at most once per ``every`` seconds, so
    a lost key does not wait for the whole queue to drain."""

    def __init__(self, jobs: JobQueue, every: float, heartbeat_timeout: float):
        self.jobs = jobs
        self.every = every
        self.heartbeat_timeout = heartbeat_timeout
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every

    def run(self) -> int:
        """Re-queue now; the number of jobs re-queued."""
        self.last = time.monotonic()
        return self.jobs.requeue_orphans(self.heartbeat_timeout)


def _make_method(table: Any) -> Callable | None:
    """The table's ``make``; DataJoint's older name for it, ``_make_tuples``, wins where both
    exist, as in DataJoint (older pipelines and DataJoint's own test schemas use it)."""
    legacy = getattr(table, "_make_tuples", None)
    if legacy is not None:
        return legacy
    own = getattr(type(table), "make", None)
    return None if own is None or own is AutoPopulate.__dict__.get("make") else table.make


def _error_message(error: BaseException) -> str:
    """``Type: message`` (just ``Type`` when the message is empty, e.g. ``KeyboardInterrupt``)."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _key_tuple(key: dict, names: list[str]) -> tuple:
    return tuple(key[n] for n in names)


def _as_tuple(value: Any) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def _same(a: Any, b: Any) -> bool:
    """Deep equality that understands numpy arrays and pandas objects."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "equals") and callable(a.equals):  # pandas
        return bool(a.equals(b))
    if type(a).__module__ == "numpy":
        import numpy as np

        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f")) \
            if hasattr(a, "dtype") and a.dtype.kind != "O" else bool(np.array_equal(a, b))
    return a == b or (a != a and b != b)  # NaN equals NaN here


@contextlib.contextmanager
def _announced_end(tally: _Tally) -> Iterator[None]:
    """Publish "finished" however the loop ends: stopped, done, interrupted or raising."""
    try:
        yield
    except BaseException as error:
        tally.publish("finished", extra={"interrupted": isinstance(error, KeyboardInterrupt),
                                         "error": f"{type(error).__name__}: {error}"})
        raise
    tally.publish("finished", extra={"stopped": tally.stopped})


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM ends the loop like Ctrl-C: the running key rolls back and (reserved) is
    recorded as an error job; then the process exits as SIGTERM asks."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(f"terminated by signal {signum}")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _progress_observers(table: Any, restrictions: tuple,
                        display_progress: bool | None) -> tuple[Callable, ...]:
    """The notebook's populate panel (when the extension registered one and a kernel shows
    it), else a tqdm bar if ``display_progress`` asked for one."""
    if display_progress is False:
        return ()
    factory = progress_display()
    shown = factory(table, restrictions) if factory is not None else None
    if shown is not None:
        return (shown,)
    return (_progress_bar(),) if display_progress else ()


def _progress_bar() -> Callable[[PopulateEvent], None]:
    from tqdm.auto import tqdm

    state: dict[str, Any] = {}

    def observe(event: PopulateEvent) -> None:
        if event.kind == "started":
            state["bar"] = tqdm(total=event.total, desc=event.table.split(".", 1)[-1])
        elif event.kind in ("key_done", "key_failed") and "bar" in state:
            state["bar"].update(1)
        elif event.kind == "finished" and "bar" in state:
            state["bar"].close()

    return observe

