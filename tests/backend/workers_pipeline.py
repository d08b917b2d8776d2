"""An importable pipeline for the distributed-populate tests (tests/backend/test_workers.py).

Worker processes (``populate(processes=N)``, an executor's workers, ``dj-jupyter populate``)
import the table class by its module path, so the classes live here, at module level. The
schema is activated at import time from environment variables, so the test process and every
worker it starts (they inherit its environment) bind the same classes to the same tables:

``DJ_WORKERS_SCHEMA``  schema name (without it nothing is activated: the classes wait)
``DJ_WORKERS_URL``     database URL (else the default connection, which workers set first)

``Work.make`` reads its behaviour from the environment when it runs:

``DJ_WORKERS_DIR``     folder for ``attempts.log`` (one ``"<key> <pid>"`` line per make call,
                       written outside the transaction) and the ``hold-<k>`` marker files
``DJ_WORKERS_SLEEP``   seconds each make sleeps, after its inserts (default 0)
``DJ_WORKERS_HOLD``    keys ``k`` (comma list) whose *first* make, in whatever worker, creates
                       ``hold-<k>`` containing its pid and then sleeps 120 s inside the
                       transaction, for the test to kill it; later attempts run normally
``DJ_WORKERS_FAIL``    keys whose make raises ``ValueError``

The test process re-imports the module (``importlib.reload``) after setting the variables.
"""

from __future__ import annotations

import os
import time

import dj_jupyter as dj

schema = dj.Schema()


@schema
class Key(dj.Manual):
    definition = """
    # a key to compute
    k: int32
    """


@schema
class MakeCall(dj.Manual):
    definition = """
    # one committed make of Work: key and the pid of the worker that made it
    k: int32
    pid: int32
    """


@schema
class Work(dj.Computed):
    definition = """
    # the result for one key
    -> Key
    ---
    value: float64
    pid: int32
    """

    def make(self, key):
        k = key["k"]
        pid = os.getpid()
        folder = os.environ.get("DJ_WORKERS_DIR")
        if folder:
            with open(os.path.join(folder, "attempts.log"), "a") as log:
                log.write(f"{k} {pid}\n")
        if str(k) in _keys("DJ_WORKERS_FAIL"):
            raise ValueError(f"make refuses key {k}")
        self.insert1({"k": k, "value": k * 0.5, "pid": pid})
        MakeCall.insert1({"k": k, "pid": pid})
        if folder and str(k) in _keys("DJ_WORKERS_HOLD"):
            marker = os.path.join(folder, f"hold-{k}")
            try:  # the first attempt claims the hold; later attempts run normally
                os.close(os.open(marker + ".claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                with open(marker + ".tmp", "w") as out:
                    out.write(str(pid))
                os.rename(marker + ".tmp", marker)  # appears complete, with the pid in it
                time.sleep(120)  # killed or terminated here, inside the transaction
        pause = float(os.environ.get("DJ_WORKERS_SLEEP", "0") or 0)
        if pause:
            time.sleep(pause)


def _keys(variable: str) -> set[str]:
    return {s.strip() for s in os.environ.get(variable, "").split(",") if s.strip()}


def _activate() -> None:
    name = os.environ.get("DJ_WORKERS_SCHEMA")
    if not name:
        return
    url = os.environ.get("DJ_WORKERS_URL")
    schema.activate(name, connection=dj.Connection(url) if url else None)


_activate()
