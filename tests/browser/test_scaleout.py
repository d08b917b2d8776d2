"""From "works in my notebook" to "runs on workers", in a real JupyterLab: a pipeline
declared in ``%%dj_table`` cells is exported with ``%dj_export``, two ``dj-jupyter
populate --reserve-jobs`` workers (other processes, as on other machines) take jobs, and the
populate panel lists them from the job tables: host, pid, since and heartbeat age."""

from __future__ import annotations

import socket

import pytest

from tests.browser.harness import Lab, sync_api

expect = sync_api().expect

pytestmark = pytest.mark.browser

SETUP = "%load_ext dj_jupyter\n%dj_schema lab"
NUMBER = "%%dj_table Number manual\nn: int32"
SLOW = """%%dj_table Slow computed
-> Number
---
sq: int64
# --- python ---
def make(self, key):
    time.sleep(120)  # the workers are stopped while they make their first key
    self.insert1({**key, "sq": key["n"] ** 2})"""
START_WORKERS = """import os, pathlib, subprocess, sys
Number.insert([{'n': n} for n in range(4)], skip_duplicates=True)
url = "sqlite:///" + str(pathlib.Path(dj.config["database.path"]).resolve())
env = {**os.environ, "DJ_JOBS_HEARTBEAT_INTERVAL": "0.5"}
workers = [subprocess.Popen([sys.executable, "-m", "dj_jupyter.cli", "populate",
                             "lab_pipeline.py:Slow", "--reserve-jobs", "--url", url], env=env)
           for _ in range(2)]
print(*sorted(w.pid for w in workers))"""
HEARTBEATS = """import time as clock
for _ in range(200):  # until both workers' heartbeats have advanced during their make
    rows = Slow.jobs.reserved.to_dicts()
    if len(rows) == 2 and all(r["heartbeat"] > r["reserved_time"] for r in rows):
        break
    clock.sleep(0.1)
print(len(rows), all(r["heartbeat"] > r["reserved_time"] for r in rows))"""


def test_workers_of_an_exported_notebook_pipeline_show_in_the_panel(lab: Lab) -> None:
    cells = ["import time", SETUP, NUMBER, SLOW, "%dj_export lab_pipeline.py", START_WORKERS,
             "panel = dj.PopulatePanel(Slow)\npanel", HEARTBEATS]
    lab.open(lab.write_notebook("scaleout", cells))
    try:
        lab.run_all()
        outputs = lab.code_cells()
        exported = outputs[5]["outputs"][0]["text"]
        assert "dj-jupyter populate lab_pipeline.py:Slow --reserve-jobs" in exported
        pids = outputs[6]["outputs"][0]["text"].split()
        # a plain make on SQLite stages its writes: its heartbeat advances while it runs
        assert outputs[8]["outputs"][0]["text"].split() == ["2", "True"]
        cell = lab.page.locator(".jp-CodeCell", has_text="panel = dj.PopulatePanel(Slow)")
        cell.scroll_into_view_if_needed()  # a long notebook draws only the cells on screen
        panel = cell.locator(".dj-populate-panel")
        rows = panel.locator(".dj-pp-worker")
        expect(rows).to_have_count(2, timeout=30_000)  # polled while the panel is on screen
        expect(panel.locator(".dj-pp-count-reserved b")).to_have_text("2")
        texts = [rows.nth(i).locator("td").all_inner_texts() for i in range(2)]
        assert sorted(t[1] for t in texts) == pids
        assert {t[0] for t in texts} == {socket.gethostname()}
        assert all(t[2] == "1" and t[3] for t in texts)  # one job each, since when
        expect(rows.nth(0).locator("td").nth(4)).to_contain_text("ago")
        lab.screenshot("workers", panel)
    finally:
        lab.run_new_cell("for w in workers:\n    w.kill()\n    w.wait()")
