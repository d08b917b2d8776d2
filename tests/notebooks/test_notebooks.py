"""Every tutorial runs top to bottom on a fresh machine with the embedded default."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_twice_without_errors(path: Path, tmp_path: Path, monkeypatch) -> None:
    """Run in a fresh folder; a second run must work too (it starts from an empty workspace).

    A tutorial keeps its database and store in ``.tutorial-data/<notebook>/`` (hidden from the
    file browser), so nothing else appears beside the notebook.
    """
    for name in [n for n in ("DJ_BACKEND", "DJ_HOST", "DJ_DATABASE_PATH") if n]:
        monkeypatch.delenv(name, raising=False)
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    for _ in range(2):
        notebook = nbformat.read(copy, as_version=4)
        client = NotebookClient(notebook, timeout=180, kernel_name="python3",
                                store_widget_state=False,
                                resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
    assert (tmp_path / ".tutorial-data" / path.stem / "datajoint.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".tutorial-data", path.name])
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + o.get("text", "")
                     for o in outputs)
    assert "ForeignKey" not in text or "IntegrityError" in text
