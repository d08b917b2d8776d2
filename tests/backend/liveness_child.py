"""A worker that reserves one key of ``workers_pipeline.Work``, keeps its heartbeat, and waits
(outside any make, so it holds no database lock) until the test kills it.

Run as ``python -m tests.backend.liveness_child <k> <heartbeat interval>`` with the
``DJ_WORKERS_*`` environment of the ``workers`` fixture (tests/backend/test_workers.py).
"""

from __future__ import annotations

import sys
import time

from dj_jupyter.populate.jobs import Heartbeat
from tests.backend import workers_pipeline


def main() -> None:
    k, interval = int(sys.argv[1]), float(sys.argv[2])
    jobs = workers_pipeline.Work.jobs
    if not jobs.reserve({"k": k}):
        sys.exit(f"key {k} is not pending")
    with Heartbeat(jobs, interval) as heartbeat, heartbeat.working_on({"k": k}):
        print("reserved", flush=True)
        time.sleep(300)


if __name__ == "__main__":
    main()
