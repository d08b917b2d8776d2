"""Every tutorial runs top to bottom on a fresh machine with the embedded default; the
laptop-to-server tutorial also on PostgreSQL and MariaDB, by configuration only."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests import servers

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


SERVER_TUTORIAL = Path(__file__).parents[2] / "notebooks" / "05-laptop-to-server.ipynb"


@pytest.mark.parametrize("backend", [b for b in servers.enabled_backends() if b != "sqlite"])
def test_the_server_tutorial_runs_on_a_server_by_configuration_only(
        backend: str, request, tmp_path: Path, monkeypatch) -> None:
    """The laptop-to-server tutorial, unchanged, on PostgreSQL and MariaDB: only the ``DJ_*``
    environment differs (the kernel inherits it)."""
    server = request.getfixturevalue(f"{backend}_server")
    settings = {"DJ_BACKEND": backend, "DJ_HOST": server.host, "DJ_PORT": str(server.port),
                "DJ_USER": server.user, "DJ_PASS": server.password}
    if server.database:
        settings["DJ_DATABASE_NAME"] = server.database
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    copy = tmp_path / SERVER_TUTORIAL.name
    shutil.copy(SERVER_TUTORIAL, copy)
    notebook = nbformat.read(copy, as_version=4)
    NotebookClient(notebook, timeout=180, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    first = next(o for o in notebook.cells[3].outputs if o.output_type == "execute_result")
    assert first["data"]["text/plain"] == repr(backend)
    assert (tmp_path / ".tutorial-data" / SERVER_TUTORIAL.stem / "m1-home.db").exists()
    servers.drop_schemas(server, {"laptop_to_server"})
