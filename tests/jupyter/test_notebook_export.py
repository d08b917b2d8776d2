"""``%%dj_table`` cells populate on worker processes and CLI workers: ``%dj_export``
writes the cells' module, ``populate(processes=N)`` ships it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("IPython")

from IPython.core.error import UsageError  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("dj-jupyter")

pytestmark = pytest.mark.slow

CELLS = [
    ("Number lookup", "n : int32\n# --- python ---\ncontents = [(n,) for n in range(6)]\n"),
    ("Cube computed", "-> Number\n---\ncube : int64\npid : int32\n# --- python ---\n"
                      "def make(self, key):\n"
                      "    n = (Number & key).fetch1('n')\n"
                      "    self.insert1({**key, 'cube': offset(n ** 3), 'pid': os.getpid()})\n"),
]


@pytest.fixture
def cells(ip):
    """The notebook: an import, a helper cell, then the table cells."""
    for code in ("import os", "SHIFT = 1", "def offset(v):\n    return v + SHIFT\n"):
        assert ip.run_cell(code).success
    for line, body in CELLS:
        ip.run_cell_magic("dj_table", line, body)
    return ip


def expected() -> list[int]:
    return [n ** 3 + 1 for n in range(6)]


def test_cells_populate_with_processes(cells) -> None:
    cube = cells.user_ns["Cube"]
    result = cube.populate(processes=2)
    assert result == {"success_count": 6, "error_list": []}
    rows = cube.to_dicts(order_by="n")
    assert [r["cube"] for r in rows] == expected()
    assert os.getpid() not in {r["pid"] for r in rows}


def test_dj_export_then_cli_worker(cells, tmp_path: Path, capsys) -> None:
    cells.run_line_magic("dj_export", "lab_pipeline.py")
    said = capsys.readouterr().out
    assert "dj-jupyter populate lab_pipeline.py:Cube --reserve-jobs" in said
    source = (tmp_path / "lab_pipeline.py").read_text()
    assert "class Cube(dj.Computed):" in source and "def offset(v):" in source
    url = str(cells.user_ns["Cube"].connection.url)
    elsewhere = tmp_path / "worker"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([str(CLI), "populate", f"{tmp_path / 'lab_pipeline.py'}:Cube",
                           "--reserve-jobs", "--url", url], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert [r["cube"] for r in cells.user_ns["Cube"].to_dicts(order_by="n")] == expected()


def test_dj_export_usage(cells) -> None:
    with pytest.raises(UsageError, match="usage: %dj_export"):
        cells.run_line_magic("dj_export", "")
    with pytest.raises(UsageError, match="export to a .py file"):
        cells.run_line_magic("dj_export", "lab_pipeline.txt")
