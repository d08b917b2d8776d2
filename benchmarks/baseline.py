"""Running a DataJoint 2.x workload (``datajoint_baseline.py``) in another environment.

The ratios of the populate and object benchmarks compare dj_jupyter with DataJoint 2.3.5 on
the same server in the same run; DataJoint lives in its own virtual environment
(``--datajoint-python``), so its workload runs as a subprocess and answers in JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("datajoint_baseline.py")


def datajoint_seconds(python: str, url: str, workload: str, *options: str) -> dict[str, float]:
    """Best seconds per measurement of ``workload`` run by DataJoint against ``url``'s server.

    ``options``: the workload's own arguments (``--keys 2000``, ``--arrays 100``, ...).
    """
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    backend = "postgresql" if parsed.get_backend_name() == "postgresql" else "mysql"
    command = [python, str(SCRIPT), "--workload", workload,
               "--backend", backend, "--host", parsed.host or "127.0.0.1",
               "--port", str(parsed.port or (5432 if backend == "postgresql" else 3306)),
               "--user", parsed.username or "", "--password", parsed.password or "",
               *options]
    if backend == "postgresql" and parsed.database:
        command += ["--database-name", parsed.database]
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        raise RuntimeError(f"the DataJoint {workload} baseline failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]
