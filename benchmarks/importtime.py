"""``import dj_jupyter`` time, measured in fresh interpreters, and which heavy modules it loads."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "numpy", "sqlalchemy", "psycopg", "pymysql", "sqlite3", "IPython",
         "ipywidgets", "matplotlib", "networkx", "graphviz", "pydot", "yaml", "jinja2")

_PROBE = """
import json, sys, time
start = time.perf_counter()
import dj_jupyter
seconds = time.perf_counter() - start
heavy = {heavy!r}
loaded = [m for m in heavy if m in sys.modules]
count = len(sys.modules)
start = time.perf_counter()
dj_jupyter.Connection(":memory:").close()   # first use: whatever the import deferred
first_use = time.perf_counter() - start
after_use = [m for m in heavy if m in sys.modules]
print(json.dumps({{"seconds": seconds, "modules": count, "heavy": loaded,
                  "first_use": first_use, "heavy_after_use": after_use}}))
"""


@dataclass
class ImportResult:
    runs: list[float]              # in-process seconds of ``import dj_jupyter``, one per process
    process_runs: list[float]      # wall seconds of the whole subprocess (interpreter start incl.)
    heavy: list[str]
    module_count: int
    first_use: list[float]         # then ``dj_jupyter.Connection(":memory:")`` (deferred imports)
    heavy_after_use: list[str]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def measure_import(runs: int = 5, python: str = sys.executable) -> ImportResult:
    import time

    code = _PROBE.format(heavy=HEAVY)
    times, walls, uses, last = [], [], [], {}
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, env=_env(),
                              cwd=ROOT, check=True)
        walls.append(time.perf_counter() - start)
        last = json.loads(done.stdout.strip().splitlines()[-1])
        times.append(last["seconds"])
        uses.append(last["first_use"])
    return ImportResult(times, walls, last["heavy"], last["modules"], uses,
                        last["heavy_after_use"])


_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def import_breakdown(top: int = 20, max_depth: int = 2,
                     python: str = sys.executable) -> list[tuple[int, int, str]]:
    """``python -X importtime -c "import dj_jupyter"``: (cumulative us, self us, module) of the
    entries at most ``max_depth`` levels below ``dj_jupyter``, largest cumulative first (deeper
    entries are already counted in their parents' cumulative time)."""
    done = subprocess.run([python, "-X", "importtime", "-c", "import dj_jupyter"],
                          capture_output=True, text=True, env=_env(), cwd=ROOT, check=True)
    entries = []
    for line in done.stderr.splitlines():
        match = _LINE.match(line)
        if match:
            self_us, cumulative, indent, name = match.groups()
            depth = len(indent) // 2
            if depth <= max_depth:
                entries.append((int(cumulative), int(self_us), "  " * depth + name))
    entries.sort(key=lambda e: e[0], reverse=True)
    return entries[:top]


def format_import(result: ImportResult, goal: float = 0.4) -> str:
    runs = ", ".join(f"{t:.3f}" for t in result.runs)
    walls = statistics.median(result.process_runs)
    verdict = "meets" if result.median <= goal else "misses"
    return "\n".join([
        f"import dj_jupyter: median {result.median:.3f} s over {len(result.runs)} fresh processes "
        f"({runs}); {verdict} the goal of <= {goal} s",
        f"  whole subprocess incl. interpreter start: median {walls:.3f} s",
        f"  modules loaded: {result.module_count}; heavy ones: "
        f"{', '.join(result.heavy) or 'none'}",
        f"  first use, dj_jupyter.Connection(':memory:') right after: median "
        f"{statistics.median(result.first_use):.3f} s; heavy modules then: "
        f"{', '.join(result.heavy_after_use) or 'none'}",
    ])


def format_breakdown(entries: list[tuple[int, int, str]]) -> str:
    lines = ["-X importtime, largest cumulative entries:",
             f"  {'cumul ms':>9} {'self ms':>8}  module"]
    lines += [f"  {c / 1000:>9.1f} {s / 1000:>8.1f}  {name}" for c, s, name in entries]
    return "\n".join(lines)
