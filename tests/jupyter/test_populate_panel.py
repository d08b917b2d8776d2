"""The populate panel's state and messages, error triage, cell-source registration and the
notebook displays of populate — through IPython's shell and the widget's own API (no browser)."""

from __future__ import annotations

import inspect
import linecache
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.display.populate_panel import bar_segments, panel_html, todo_text
from dj_jupyter.populate.job_errors import group_errors, message_pattern, user_frames
from dj_jupyter.populate.result import PopulateInterrupted

anywidget = pytest.importorskip("anywidget")

from dj_jupyter.jupyter.populate_display import interrupted_line  # noqa: E402
from dj_jupyter.jupyter.populate_panel import PopulatePanel  # noqa: E402

PIPELINE = '''
%%dj_table Number{suffix} manual
n: int32

%%dj_table Square{suffix} computed
-> Number{suffix}
---
sq: int64
# --- python ---
def make(self, key):
    n = key["n"]
    if n % 5 == 3:
        raise ValueError(f"unlucky {{n}}")
    self.insert1({{**key, "sq": n * n}})
'''


def declare(ip, suffix: str) -> tuple[type, type]:
    """Number<suffix> with 30 rows, and Square<suffix> whose make fails for n % 5 == 3."""
    first, second = PIPELINE.format(suffix=suffix).strip().split("\n\n")
    for cell in (first, second):
        magic_line, _, body = cell.partition("\n")
        ip.run_cell_magic("dj_table", magic_line.removeprefix("%%dj_table "), body + "\n")
    number, square = ip.user_ns[f"Number{suffix}"], ip.user_ns[f"Square{suffix}"]
    number.insert([{"n": n} for n in range(30)])
    return number, square


def test_panel_state_after_a_populate_with_failures(ip) -> None:
    _, square = declare(ip, "A")
    panel = PopulatePanel(square)
    result = square.populate(suppress_errors=True, max_calls=20,
                             observers=[panel.observer(square)])
    panel.poll()
    state = panel.tables[0]
    assert state["name"] == "SquareA" and state["state"] == "finished"
    assert (state["target"], state["todo_all"]) == (20, 30)
    assert todo_text(state) == "14"  # after the run: what is left (the failures too)
    assert todo_text({**state, "state": "running"}) == "20 of 30"
    assert (state["made"], state["failed"]) == (16, 4) == (result["success_count"],
                                                          len(result["error_list"]))
    assert (state["total"], state["remaining"], state["jobs"]["error"]) == (30, 14, 4)
    assert state["summary"] == ("SquareA: 16 made, 4 failed \u2014 1 kind of error "
                                "(ValueError \u00d74)")
    assert panel.status == ""  # one table: its own summary line says it all
    assert [(g["title"], g["count"]) for g in state["groups"]] == [("ValueError: unlucky #", 4)]
    assert dict(bar_segments(state)).keys() == {"done", "failed"}
    assert dict(bar_segments(state))["failed"] == pytest.approx(100 * 4 / 30)
    html = panel_html(panel.tables, panel.status)
    assert 'class="dj-pp-seg dj-pp-failed"' in html and "unlucky #" in html


def test_three_of_thirty(ip) -> None:
    assert todo_text({"target": 3, "todo_all": 30, "remaining": 30, "state": "running"}) == \
        "3 of 30"
    assert todo_text({"target": None, "todo_all": None, "remaining": 7}) == "7"


def test_updates_are_throttled_not_one_message_per_key(ip, monkeypatch) -> None:
    _, square = declare(ip, "B")
    panel = PopulatePanel(square, interval=3600)
    sent: list = []
    monkeypatch.setattr(panel, "push", lambda: sent.append(time.monotonic()))
    square.populate(suppress_errors=True, observers=[panel.observer(square)])
    assert 1 <= len(sent) <= 4  # started, finished, the poller's first and last reads
    panel.close()


def test_start_and_stop_in_the_background(ip) -> None:
    _, square = declare(ip, "C")
    panel = PopulatePanel(square)
    square.make_delay = 0.05
    original = square.make

    def slow(self, key):
        time.sleep(self.make_delay)
        original(self, key)

    square.make = slow
    panel._on_message(panel, {"action": "start", "workers": 2}, [])
    deadline = time.monotonic() + 30
    while panel.watches[0].made < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(square()) < 30  # still running while this thread works
    panel._on_message(panel, {"action": "stop"}, [])
    assert panel.wait(30)
    panel.poll()
    state = panel.tables[0]
    assert state["state"] == "stopped" and panel.workers == 2
    assert 0 < state["remaining"] < 30 and "stopped" in state["summary"]
    assert f"{state['remaining']} left to do" in state["summary"]
    assert not square.jobs.reserved
    panel.close()


def test_retry_and_ignore_from_the_panel(ip) -> None:
    _, square = declare(ip, "D")
    square.populate(suppress_errors=True, reserve_jobs=True)
    panel = PopulatePanel(square, controls=False)
    panel.poll()
    panel._on_message(panel, {"action": "ignore", "table": "SquareD", "key": {"n": 3}}, [])
    assert panel.tables[0]["jobs"]["ignore"] == 1 and panel.tables[0]["groups"][0]["count"] == 5
    panel._on_message(panel, {"action": "retry", "table": "SquareD", "group": 0}, [])
    assert panel.tables[0]["jobs"]["pending"] == 5 and panel.tables[0]["groups"] == []
    panel._on_message(panel, {"action": "retry", "table": "Nope", "group": 0}, [])
    assert "not a table of this panel" in panel.status


def test_the_traceback_shows_the_cell_line(ip) -> None:
    _, square = declare(ip, "E")
    with pytest.raises(ValueError, match="unlucky 3"):
        square.populate()
    stack = square.jobs.errors.to_dicts()[0]["error_stack"]
    filename = inspect.getsourcefile(square.make)
    assert filename.startswith("<%%dj_table SquareE In[")
    # cell line 1 is the magic, 2-4 the definition, 5 the marker, 6 `def make`, 9 the raise
    assert f'File "{filename}", line 9, in make' in stack
    assert 'raise ValueError(f"unlucky {n}")' in stack
    assert linecache.getline(filename, 1).startswith("%%dj_table SquareE computed")
    frames, error = user_frames(stack)
    assert [(f.line, f.is_cell) for f in frames] == [(9, True)]
    assert [n for n, _ in frames[0].context] == [7, 8, 9, 10]  # the cell ends at 10
    assert error == "ValueError: unlucky 3"
    assert "def make(self, key):" in inspect.getsource(square.make)


def test_result_and_errors_display_in_a_notebook(ip) -> None:
    _, square = declare(ip, "F")
    result = square.populate(suppress_errors=True)
    data, _ = ip.display_formatter.format(result)
    assert data["text/plain"] == ("SquareF: 24 made, 6 failed \u2014 1 kind of error "
                                  "(ValueError \u00d76)")
    assert "dj-populate-result" in data["text/html"]
    shown, _ = ip.display_formatter.format(square.jobs.errors)  # grouped, with the buttons
    assert "application/vnd.jupyter.widget-view+json" in shown
    assert "6\u00d7</span> <span class=\"dj-pp-msg\">ValueError: unlucky #" in shown["text/html"]
    interrupted = PopulateInterrupted("SquareF", {"n": 4}, 2, 0)
    assert interrupted_line(ip, PopulateInterrupted, interrupted, None) == [
        "PopulateInterrupted: SquareF.populate interrupted: 2 made, 0 failed; key {'n': 4} "
        "rolled back, the remaining keys are still to do"]


def test_panel_needs_populated_tables(ip) -> None:
    number, _ = declare(ip, "G")
    with pytest.raises(dj.DataJointError, match="at least one"):
        dj.PopulatePanel()
    with pytest.raises(dj.DataJointError, match="not a Computed or Imported"):
        dj.PopulatePanel(number)


# --- grouping, a property ----------------------------------------------------------------------

MESSAGES = st.sampled_from(["ValueError: unlucky 3", "ValueError: unlucky 14",
                            "KeyError: 'x'", "boom", "RuntimeError: took 2.5 s"])


@given(st.lists(MESSAGES, max_size=40))
def test_groups_partition_the_failures(messages: list[str]) -> None:
    rows = [{"n": i, "error_message": m} for i, m in enumerate(messages)]
    groups = group_errors(rows, ["n"])
    keys = [k["n"] for g in groups for k in g.keys]
    assert sorted(keys) == list(range(len(messages)))  # every failure in exactly one group
    assert [g.count for g in groups] == sorted((g.count for g in groups), reverse=True)
    for group in groups:
        assert {message_pattern(rows[k["n"]]["error_message"]) for k in group.keys} == {
            message_pattern(group.message)}
    assert len({(g.kind, g.pattern) for g in groups}) == len(groups)


def test_the_phase_of_a_tripartite_make_and_its_times(ip) -> None:
    import threading

    ip.run_cell_magic("dj_table", "NumberH manual", "n: int32\n")
    computing, release = threading.Event(), threading.Event()
    ip.user_ns.update(computing=computing, release=release)
    ip.run_cell_magic("dj_table", "TriH computed", """-> NumberH
---
sq: int64
# --- python ---
def make_fetch(self, key):
    return key["n"],

def make_compute(self, key, n):
    computing.set()
    release.wait(30)
    return n * n,

def make_insert(self, key, sq):
    self.insert1({**key, "sq": sq})
""")
    ip.user_ns["NumberH"].insert1({"n": 7})
    tri = ip.user_ns["TriH"]
    panel = PopulatePanel(tri)
    panel.start()
    assert computing.wait(30)
    panel.push()
    state = panel.tables[0]
    assert state["key"] == {"n": 7} and state["phase"] == "compute"
    assert set(state["phases"]) == {"fetch", "compute"} and state["phases"]["fetch"] >= 0
    assert state["state"] == "running" and panel.running
    release.set()
    assert panel.wait(30)
    panel.push()
    assert panel.tables[0]["key"] is None and panel.tables[0]["summary"] == "TriH: 1 made"


def test_the_card_of_a_computed_table_carries_the_panel(ip) -> None:
    magics = ip.magics_manager.registry["DataJointMagics"]
    magics.widgets = True
    try:
        ip.run_cell_magic("dj_table", "NumberJ manual", "n: int32\n")
        card = ip.run_cell_magic("dj_table", "SquareJ computed", "-> NumberJ\n---\nsq: int64\n"
                                 "# --- python ---\ndef make(self, key):\n"
                                 "    self.insert1({**key, 'sq': 1})\n")
        manual = ip.run_cell_magic("dj_table", "NumberJ manual", "n: int32\n")
    finally:
        magics.widgets = None
    manual_data, _ = manual._repr_mimebundle_()  # a manual table: the (live) card alone
    assert "dj-populate-panel" not in manual_data["text/html"]
    data, _ = ip.display_formatter.format(card)
    assert "application/vnd.jupyter.widget-view+json" in data
    assert 'class="dj-card"' in data["text/html"] and "dj-populate-panel" in data["text/html"]


def test_a_populate_in_worker_processes_shows_its_counts(ip) -> None:
    from dj_jupyter.catalog.events import PopulateEvent
    from dj_jupyter.jupyter.table_watch import TableWatch

    _, square = declare(ip, "K")
    watch = TableWatch(square)
    name = square().full_name
    watch.observe(PopulateEvent("started", name, total=30))  # as populate_in_workers sends
    watch.observe(PopulateEvent("key_done", name, done=12))
    assert watch.to_dict()["made"] == 12 and watch.state == "running"
    watch.observe(PopulateEvent("finished", name, done=24, failed=6))
    state = watch.to_dict()
    assert (state["made"], state["failed"], state["state"]) == (24, 6, "finished")
    assert state["summary"].startswith("SquareK: 24 made, 6 failed")


def test_a_poller_that_decides_to_end_never_keeps_a_new_one_from_starting(ip) -> None:
    """The poller of a panel nobody watches ends with one last read. Once it has decided to
    end, a populate starting meanwhile must get a poller of its own: counting on the ending
    one left the counts at what its last read saw ("0 done" in JupyterLab under load)."""
    _, square = declare(ip, "R")
    panel = PopulatePanel(square, read_now=False)
    ending = threading.current_thread()  # stands for a poller still alive in its last read
    panel._poller = ending
    assert not panel._keep_polling()  # nobody watches, nothing runs here: it ends ...
    assert panel._poller is None  # ... and gives up its place at once
    panel._local_runs = 1  # a populate starts while the ending poller is still alive
    panel._ensure_poller()
    started = panel._poller
    assert started is not None and started is not ending and started.is_alive()
    panel._local_runs = 0
    panel._wake.set()
    started.join(30)  # nothing runs, nobody watches: it reads once more and ends
    assert not started.is_alive() and panel._poller is None
    panel._poller = ending  # a poller that is wanted keeps its place
    panel._visible = 1
    assert panel._keep_polling() and panel._poller is ending
    panel._poller, panel._visible = None, 0
    panel.close()


def test_start_on_a_table_whose_job_queue_does_not_exist_yet(ip) -> None:
    """Start makes the job queue's table before its workers and the poller run: they once
    raced to create it, and a worker that lost died before its first key (the panel stayed
    idle, nothing said)."""
    _, square = declare(ip, "S")
    panel = PopulatePanel(square, read_now=False)
    assert not square.jobs.is_declared
    panel._on_message(panel, {"action": "start"}, [])
    assert panel.wait(60)
    deadline = time.monotonic() + 60
    while panel.tables[0].get("remaining") != 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    state = panel.tables[0]
    assert (state["remaining"], state["jobs"], state["made"]) == (6, {"error": 6}, 24), (
        state, panel.status)
    panel.close()
