"""One job queue, two libraries: a DataJoint 2.3.5 worker and a dj_jupyter worker populate
the same table with ``reserve_jobs=True`` at the same time, and every key is made once.

Each ``make`` appends ``<worker> <key>`` to one log file (one short ``O_APPEND`` write: whole
lines, in the order the makes ran), so a key made twice would show as two lines, whatever
the table kept.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest

import dj_jupyter as dj

pytestmark = pytest.mark.slow

KEYS = 40
MAKE_SECONDS = 0.1  # long enough that both workers take part in 40 keys
WAIT_FOR_DATAJOINT = 120.0  # seconds for DataJoint's worker to start making keys

SOURCE = "recording_id: int32\n"
TARGET = "-> Recording\n---\nmaker: varchar(16)\n"

_DATAJOINT_WORKER = """
import os, time
schema = dj.Schema(ARGS["schema"])

def log(who, key):
    fd = os.open(ARGS["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, f"{who} {key['recording_id']}\\n".encode())
    os.close(fd)

@schema
class Recording(dj.Manual):
    definition = ARGS["source"]

@schema
class Summary(dj.Computed):
    definition = ARGS["target"]

    def make(self, key):
        time.sleep(ARGS["seconds"])
        log("datajoint", key)
        self.insert1(dict(key, maker="datajoint"))

if ARGS["fill"]:
    Recording.insert([(i,) for i in range(ARGS["keys"])])
if ARGS["work"]:
    Summary.populate(reserve_jobs=True)
result = {"made": len(Summary()), "jobs": len(Summary.jobs),
          "open": {"pending": len(Summary.jobs.pending), "reserved": len(Summary.jobs.reserved),
                   "error": len(Summary.jobs.errors)}}
"""


def _declare_ours(conn: dj.Connection, schema_name: str, log: Path):
    schema = dj.Schema(schema_name, connection=conn)

    @schema
    class Recording(dj.Manual):
        definition = SOURCE

    @schema
    class Summary(dj.Computed):
        definition = TARGET

        def make(self, key):
            time.sleep(MAKE_SECONDS)
            with open(log, "a") as out:  # one line per write: appended whole
                out.write(f"dj_jupyter {key['recording_id']}\n")
            self.insert1(dict(key, maker="dj_jupyter"))

    return Recording, Summary


def _run_datajoint(datajoint, schema_name: str, log: Path, *, fill: bool, work: bool) -> dict:
    return datajoint.run(_DATAJOINT_WORKER, schema=schema_name, log=str(log), source=SOURCE,
                         target=TARGET, seconds=MAKE_SECONDS, keys=KEYS, fill=fill, work=work)


def _made(log: Path) -> list[tuple[str, int]]:
    if not log.exists():
        return []
    return [(who, int(key)) for who, key in
            (line.split() for line in log.read_text().splitlines())]


@pytest.mark.parametrize("declared_by", ["datajoint", "dj_jupyter"])
def test_two_libraries_share_one_queue(datajoint, conn, schema_name, tmp_path, declared_by):
    log = tmp_path / "made.log"
    if declared_by == "datajoint":
        _run_datajoint(datajoint, schema_name, log, fill=True, work=False)
        Recording, Summary = _declare_ours(conn, schema_name, log)
    else:
        Recording, Summary = _declare_ours(conn, schema_name, log)
        Recording.insert([{"recording_id": i} for i in range(KEYS)])
        assert len(Summary.jobs) == 0  # our queue table, made first: DataJoint's worker uses it

    theirs: dict = {}
    worker = threading.Thread(target=lambda: theirs.update(
        _run_datajoint(datajoint, schema_name, log, fill=False, work=True)))
    worker.start()
    deadline = time.monotonic() + WAIT_FOR_DATAJOINT
    while not _made(log) and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _made(log), "DataJoint's worker made no key"
    Summary.populate(reserve_jobs=True)
    worker.join(timeout=WAIT_FOR_DATAJOINT)
    assert not worker.is_alive()

    made = _made(log)
    assert Counter(key for _who, key in made) == Counter(range(KEYS))  # each key once
    makers = Counter(who for who, _key in made)
    assert makers["datajoint"] > 0 and makers["dj_jupyter"] > 0, makers
    rows = Summary.to_dicts(order_by="recording_id")
    assert [(r["recording_id"], r["maker"]) for r in rows] == \
        sorted((key, who) for who, key in made)
    # the queue is left consistent: nothing reserved, pending or failed
    assert len(Summary.jobs.reserved) == len(Summary.jobs.pending) == \
        len(Summary.jobs.errors) == 0
    assert theirs["made"] <= KEYS  # what DataJoint saw when its worker ran out of keys
    seen = _run_datajoint(datajoint, schema_name, log, fill=False, work=False)
    assert seen == {"made": KEYS, "jobs": len(Summary.jobs),
                    "open": {"pending": 0, "reserved": 0, "error": 0}}


_DATAJOINT_READS_ERRORS = """
schema = dj.Schema(ARGS["schema"])

@schema
class Recording(dj.Manual):
    definition = ARGS["source"]

@schema
class Summary(dj.Computed):
    definition = ARGS["target"]

    def make(self, key):
        raise ValueError(f"datajoint cannot make {key['recording_id']}")

if ARGS["fill"]:
    Recording.insert([(i,) for i in range(3)])
    Summary.jobs.refresh()
errors = Summary.jobs.errors.to_dicts(order_by="recording_id")
result = [{"key": e["recording_id"], "message": e["error_message"],
           "stack": str(e["error_stack"])} for e in errors]
"""


def test_datajoint_reads_the_failures_our_worker_records_in_its_queue(datajoint, conn,
                                                                       schema_name, tmp_path):
    """A queue DataJoint declared keeps tracebacks as ``<blob>``: our worker's failures are
    written in DataJoint's blob format there (DataJoint reads them), and read back as text."""
    datajoint.run(_DATAJOINT_READS_ERRORS, schema=schema_name, source=SOURCE, target=TARGET,
                  fill=True)
    schema = dj.Schema(schema_name, connection=conn)

    @schema
    class Recording(dj.Manual):
        definition = SOURCE

    @schema
    class Summary(dj.Computed):
        definition = TARGET

        def make(self, key):
            raise ValueError(f"dj_jupyter cannot make {key['recording_id']}")

    Summary.populate(reserve_jobs=True, suppress_errors=True)
    seen = datajoint.run(_DATAJOINT_READS_ERRORS, schema=schema_name, source=SOURCE,
                         target=TARGET, fill=False)
    assert [e["key"] for e in seen] == [0, 1, 2]
    for error in seen:
        assert error["message"] == f"ValueError: dj_jupyter cannot make {error['key']}"
        assert "Traceback" in error["stack"] and "dj_jupyter cannot make" in error["stack"]
    (group,) = Summary.jobs.errors.groups()
    assert "dj_jupyter cannot make" in group.stack
