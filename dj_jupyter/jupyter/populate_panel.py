"""``PopulatePanel``: watch, start, stop and triage populate from the notebook (anywidget).

Per table (by class name): the keys to do, done, failed, ignored and reserved; a bar whose
failed part is red; rate, elapsed time and ETA; the key being made and, for a tripartite
make, its phase with the time of each; the workers holding reservations (host, pid, since,
heartbeat age), read from the job tables, so workers in other processes and on other machines
show; and the failures grouped by kind (:mod:`dj_jupyter.populate.job_errors`) with Retry and
Ignore. When a populate ends the panel says what happened in one line.

Updates are throttled: populate sends the panel no event per key; a poller thread sends the
state every ``interval`` seconds, read from populate's progress object. The job tables are
read when a populate starts, then by the poller through a connection of its own: every
``db_interval`` while workers elsewhere hold jobs, every ``idle_interval`` when only watching
(both only while the panel is on screen), and only every ``busy_db_interval`` while a
populate runs here (reading the database beside it slows it down; its own progress moves
the counts in between). **Start** runs ``populate(reserve_jobs=True)`` for every table in
background threads (``workers`` of them, each with its own connections), so other cells run
meanwhile; **Stop** lets each worker finish its key and leaves the rest to do.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import anywidget
import traitlets
from IPython import get_ipython
from IPython.display import display

from ..backends.own_connections import own_connections
from ..catalog.events import PopulateEvent
from ..display.populate_panel import panel_css, panel_html
from ..errors import DataJointError
from .table_watch import TableWatch, read_counts, table_class

__all__ = ["PopulatePanel", "panel_for_populate"]

_STATIC = resources.files("dj_jupyter.jupyter") / "static"


@cache
def panel_esm() -> str:
    return (_STATIC / "populate_panel.js").read_text(encoding="utf-8")


class PopulatePanel(anywidget.AnyWidget):
    """Watch, start and stop the populate of ``tables``; triage their failures."""

    _esm = panel_esm()
    _css = panel_css()
    tables = traitlets.List(traitlets.Dict()).tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    running = traitlets.Bool(False).tag(sync=True)
    workers = traitlets.Int(1).tag(sync=True)
    controls = traitlets.Bool(True).tag(sync=True)
    card_html = traitlets.Unicode("").tag(sync=True)  # a table card drawn above the panel

    def __init__(self, *tables: Any, restrictions: tuple = (), interval: float = 0.5,
                 db_interval: float = 1.0, idle_interval: float = 2.0,
                 busy_db_interval: float = 10.0, read_now: bool = True, **kwargs: Any):
        if not tables:
            raise DataJointError("PopulatePanel needs at least one Computed or Imported table, "
                                 "e.g. dj.PopulatePanel(Analysis)")
        classes = [table_class(t) for t in tables]
        super().__init__(**kwargs)
        self.watches = [TableWatch(cls, tuple(restrictions)) for cls in classes]
        self.interval = interval
        self.idle_interval = idle_interval
        self.db_interval = db_interval
        self.busy_db_interval = busy_db_interval
        self._push_lock = threading.Lock()
        self._visible = 0
        self._wake = threading.Event()
        self._closed = False
        self._poller: threading.Thread | None = None
        self._poller_lock = threading.Lock()  # a poller that decides to end is replaced
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._local_runs = 0
        self._handle: Any = None
        self.on_msg(self._on_message)
        if read_now:  # the counts as they are (then polled while the panel is on screen)
            self.poll()
        else:
            self.push()

    # -- what the browser gets --------------------------------------------------------------
    def watch(self, table: Any) -> TableWatch:
        name = table_class(table).__name__
        for found in self.watches:
            if found.name == name:
                return found
        raise DataJointError(f"{name} is not shown by this panel")

    def push(self) -> None:
        """Send the current state to the browser (one message)."""
        with self._push_lock:
            states = [w.to_dict() for w in self.watches]
            with self.hold_sync():
                self.tables = states
                if len(states) > 1:  # one table: its own line says it all
                    self.status = " · ".join(s["summary"] for s in states if s["summary"])
                self.running = any(s["state"] in ("running", "stopping") for s in states)

    def observer(self, table: Any) -> Callable[[PopulateEvent], None]:
        """The populate observer of ``table``'s watch. It takes only "started" and "finished"
        (``per_key = False``); while populate runs, the poller thread sends the state every
        ``interval`` seconds, read from populate's progress object."""
        watch = self.watch(table)

        def observe(event: PopulateEvent) -> None:
            watch.observe(event)
            if event.kind in ("started", "finished"):
                with self._push_lock:  # workers in several threads count here
                    self._local_runs += 1 if event.kind == "started" else -1
                if event.kind == "started":
                    if watch.base is None or watch.state != "running":
                        with contextlib.suppress(Exception):  # before its first key: no
                            read_counts(watch)  # transaction is open on its connection
                        watch.base = (watch.remaining or 0, watch.jobs.get("error", 0))
                    self._ensure_poller()
                self._wake.set()
                self.push()

        observe.per_key = False  # type: ignore[attr-defined]
        return observe

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        shown = super()._repr_mimebundle_(**kwargs)
        if shown is None:
            return None
        data, metadata = shown if isinstance(shown, tuple) else (shown, {})
        data["text/html"] = panel_html(self.tables, self.status)  # for a saved notebook
        names = ", ".join(table.get("name", "?") for table in self.tables)
        data["text/plain"] = f"populate panel ({names})" + (f": {self.status}" if self.status
                                                              else "")
        return data, metadata

    # -- reading the database -------------------------------------------------------------
    def poll(self) -> None:
        """Read every table's counts, workers and errors from the database (in the calling
        thread, through the connections of its context), then push."""
        for watch in self.watches:
            read_counts(watch)
        self.push()

    def _ensure_poller(self) -> None:
        """A poller runs from now on: the running one, or a new one when there is none or
        the running one has decided to end (it may still be reading its final state)."""
        with self._poller_lock:
            if self._poller is None or not self._poller.is_alive():
                self._poller = threading.Thread(target=self._poll_loop, name="dj-panel-poll",
                                                daemon=True)
                self._poller.start()
        self._wake.set()

    def _keep_polling(self) -> bool:
        """Whether this poller goes on; if not, it gives up its place at once, so that a
        populate starting during its final read gets a poller of its own."""
        with self._poller_lock:
            if self._wanted():
                return True
            if self._poller is threading.current_thread():
                self._poller = None
            return False

    def _wanted(self) -> bool:
        return not self._closed and (self._local_runs > 0 or self._visible > 0)

    def _poll_loop(self) -> None:
        """Send the state every ``interval`` while a populate runs here, read the database
        every ``db_interval`` then (every ``idle_interval`` when only watching), and once more
        at the end; then refresh the saved HTML of a populate's panel."""
        # a populate here shows its own progress at once; its counts wait one db_interval
        last_read = time.monotonic() if self._local_runs > 0 else 0.0
        with own_connections():
            while self._keep_polling():
                busy = self._local_runs > 0 or any(w.workers for w in self.watches)
                due = (self.busy_db_interval if self._local_runs > 0 else
                       self.db_interval if busy else self.idle_interval)
                if time.monotonic() - last_read >= due:
                    with contextlib.suppress(Exception):  # a failed read is retried next time
                        self.poll()
                    last_read = time.monotonic()
                elif self._local_runs > 0:
                    self.push()
                self._wake.wait(self.interval if busy else self.idle_interval)
                self._wake.clear()
            with contextlib.suppress(Exception):
                self.poll()  # the final state
                if self._handle is not None:
                    self._handle.update(self)

    def finish_display(self) -> None:
        """After a foreground populate: the poller reads the final state and then refreshes
        the saved HTML (without holding up the cell)."""
        self._wake.set()

    # -- buttons ----------------------------------------------------------------------------
    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        action = content.get("action")
        try:
            if action == "start":
                self.start(workers=int(content.get("workers") or self.workers))
            elif action == "stop":
                self.stop()
            elif action == "visible":
                self._visible = max(0, self._visible + (1 if content.get("value") else -1))
                if self._wanted():
                    self._ensure_poller()
            elif action in ("retry", "ignore"):
                self.triage(action, content.get("table", ""), content.get("group"),
                            content.get("key"))
        except DataJointError as error:
            self.status = str(error)

    def start(self, workers: int | None = None) -> None:
        """Populate every table in ``workers`` background threads (``reserve_jobs=True``)."""
        if any(t.is_alive() for t in self._threads):
            raise DataJointError("a populate started here is still running; Stop it first")
        count = max(1, int(workers or self.workers))
        self.workers = count
        self._stop.clear()
        for watch in self.watches:
            watch.state = "idle"
            watch.cls().jobs.declare()  # here, not by racing workers and the poller
        refreshed: set[str] = set()
        lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, args=(refreshed, lock),
                                          name=f"dj-populate-{n}", daemon=True)
                         for n in range(count)]
        for thread in self._threads:
            thread.start()
        self._ensure_poller()

    def _work(self, refreshed: set[str], lock: threading.Lock) -> None:
        """One background worker: every table in turn, with connections of its own."""
        with own_connections():
            for watch in self.watches:
                if self._stop.is_set():
                    break
                table = watch.cls()
                try:
                    with lock:  # one refresh per table and start; later workers see its jobs
                        if watch.name not in refreshed:
                            table.jobs.refresh(*watch.restrictions)
                            refreshed.add(watch.name)
                    table.populate(*watch.restrictions, reserve_jobs=True, refresh=False,
                                   suppress_errors=True, display_progress=False,
                                   stop=self._stop, observers=(self.observer(watch.cls),))
                except Exception as error:  # noqa: BLE001 - shown, never lost in a thread
                    self.status = f"{watch.name}: {type(error).__name__}: {error}"
        self._wake.set()

    def stop(self) -> None:
        """Finish the keys being made, then stop; the rest stay to do."""
        self._stop.set()
        for watch in self.watches:
            if watch.state == "running":
                watch.state = "stopping"
        self.push()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the populate started here; True when it has ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def triage(self, action: str, table: str, group: int | None = None,
               key: dict | None = None) -> int:
        """Retry or ignore one failed key, or a whole group of ``table`` (by index)."""
        watch = next((w for w in self.watches if w.name == table), None)
        if watch is None:
            raise DataJointError(f"{table!r} is not a table of this panel")
        errors = watch.cls().jobs.errors
        if key is not None:
            keys = [key]
        else:
            groups = errors.groups()
            if group is None or not 0 <= int(group) < len(groups):
                raise DataJointError(f"{table} has no error group {group!r}; refresh the panel")
            keys = groups[int(group)].keys
        done = errors.retry(keys) if action == "retry" else errors.ignore(keys)
        read_counts(watch)
        self.push()
        return done

    def close(self) -> None:
        """Stop polling and any populate started here (after its current keys)."""
        self._closed = True
        for event in (getattr(self, "_stop", None), getattr(self, "_wake", None)):
            if event is not None:  # None when __init__ refused its arguments
                event.set()
        super().close()


def panel_for_populate(table: Any, restrictions: tuple) -> Callable | None:
    """The progress display of ``populate()`` in a notebook: a panel, shown now; None
    outside a kernel (a plain shell or a script)."""
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    panel = PopulatePanel(type(table), restrictions=restrictions, read_now=False,
                          controls=False)
    observe = panel.observer(type(table))

    def observe_and_show(event: PopulateEvent) -> None:
        if event.kind == "started" and panel._handle is None:
            panel._handle = display(panel, display_id=True)
        observe(event)
        if event.kind == "finished":
            panel.finish_display()

    return observe_and_show
