"""The testing shell of the Jupyter tier: IPython's ``InteractiveShell`` with the extension.

``run_cell_magic`` raises what the magic raises (no silent ``error_in_exec``), so a failing
magic fails its test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("IPython")


@pytest.fixture
def ip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The shell, with ``%load_ext dj_jupyter``, connected to a fresh SQLite file and schema
    ``lab`` active (run in ``tmp_path``)."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.chdir(tmp_path)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "dj_jupyter")
    connection = shell.run_line_magic("dj_connect", f"sqlite:///{tmp_path / 'lab.db'}")
    shell.run_line_magic("dj_schema", "lab")
    yield shell
    connection.close()
