"""A pipeline declared in a notebook (in ``__main__``) runs on worker processes, a Dask
cluster and ``dj-jupyter populate`` workers, without its code being copied by hand.

The "notebook" is ``notebook_main.py`` run as a script: its classes live in ``__main__``,
where workers cannot import them — only the exported module source reaches them.
"""

from __future__ import annotations

import json
import linecache
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.backends import connection as connection_module
from dj_jupyter.populate.export import (
    ExportError,
    install_module,
    module_source,
    notebook_module_name,
)

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("notebook_main.py")
CLI = Path(sys.executable).with_name("dj-jupyter")

pytestmark = pytest.mark.slow


def run(args: list, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def notebook(db_url: str, schema_name: str, mode: str, tmp_path: Path, *extra: str) -> dict:
    done = run([sys.executable, str(SCRIPT), db_url, schema_name, mode, *extra], tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def made(conn: dj.Connection, schema_name: str) -> tuple[list, set, int]:
    """The Root rows (n, root), the pids that made them, and the Digit count."""
    schema = dj.VirtualModule("nb", schema_name, connection=conn)
    rows = schema.Root.to_dicts(order_by="n")
    return ([(r["n"], r["root"]) for r in rows], {r["pid"] for r in rows},
            len(schema.Root.Digit))


EXPECTED = [(n, float(np.sqrt(n)) * 2.0) for n in range(8)]


@pytest.mark.parametrize("mode", ["processes", "dask"])
def test_notebook_pipeline_on_workers(db_url: str, schema_name: str, conn: dj.Connection,
                                      tmp_path: Path, mode: str) -> None:
    if mode == "dask":
        pytest.importorskip("distributed")
    out = notebook(db_url, schema_name, mode, tmp_path)
    assert out["result"] == {"success_count": 8, "error_list": []}
    rows, pids, digits = made(conn, schema_name)
    assert rows == EXPECTED and digits == 8
    assert out["pid"] not in pids  # made by the workers, which imported the shipped module


def test_exported_module_runs_cli_workers(db_url: str, schema_name: str, conn: dj.Connection,
                                          tmp_path: Path) -> None:
    path = tmp_path / "lab_pipeline.py"
    notebook(db_url, schema_name, "export", tmp_path, str(path))
    source = path.read_text()
    assert "def scale(x):" in source and "FACTOR = 2.0" in source
    assert "import numpy as np" in source and "class Root(dj.Computed):" in source
    compile(source, str(path), "exec")
    elsewhere = tmp_path / "other_machine"
    elsewhere.mkdir()
    done = run([str(CLI), "populate", f"{path}:Root", "--reserve-jobs", "--url", db_url],
               elsewhere)
    assert done.returncode == 0, done.stderr
    assert "8 computed, 0 failed" in done.stdout
    rows, _, digits = made(conn, schema_name)
    assert rows == EXPECTED and digits == 8


def test_unexportable_name_is_refused_before_any_work(db_url: str, schema_name: str,
                                                      conn: dj.Connection,
                                                      tmp_path: Path) -> None:
    out = notebook(db_url, schema_name, "unexportable", tmp_path)
    assert "uses 'handle'" in out["error"] and "define it in a module" in out["error"]
    schema = dj.VirtualModule("nb", schema_name, connection=conn)
    assert len(schema.Bad) == 0


def cell(namespace: dict, number: int, code: str) -> None:
    """Run ``code`` as a notebook cell does: compiled under a file name of its own that
    linecache knows (IPython's way), in the notebook's namespace."""
    filename = f"<cell-{number}-{id(namespace)}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    exec(compile(code, filename, "exec"), namespace)  # noqa: S102 - the test's own cells


def test_exported_module_round_trip(schema: dj.Schema,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The module of cells declares nothing new, binds the same tables, and its make (with
    the notebook's helper, constant and import) fills them like the notebook's."""
    notebook = {"__name__": "__main__", "dj": dj, "schema": schema}
    cell(notebook, 1, "import math\nOFFSET = 0.5\nLABELS = {'a': (1, 2)}\n")
    cell(notebook, 2, "def shifted(x):\n    return math.sqrt(x) + OFFSET\n")
    cell(notebook, 3, '@schema\nclass Item(dj.Manual):\n    definition = """\n'
                      '    item: int32\n    """\n')
    cell(notebook, 4, '@schema\nclass Score(dj.Computed):\n    definition = """\n'
                      '    -> Item\n    ---\n    score: float64\n    """\n\n'
                      '    def make(self, key):\n'
                      '        self.insert1({**key, "score": shifted(key["item"])'
                      ' + len(LABELS)})\n')
    source = module_source(schema, notebook)
    for line in ("import math", "OFFSET = 0.5", "LABELS = {'a': (1, 2)}", "def shifted(x):",
                 f"schema = dj.Schema({schema.database!r})", "class Item(dj.Manual):"):
        assert line in source
    assert source.index("class Item") < source.index("class Score")  # parents first
    notebook["Item"].insert([{"item": i} for i in range(4)])
    name = notebook_module_name(schema, source)
    try:
        # the module's schema uses the default connection (a worker sets it): this one
        monkeypatch.setitem(connection_module._default, "connection", schema.connection)
        with dj.config.override({"database.create_tables": False}):  # binds, declares nothing
            module = install_module(name, source)
        assert module.Score().full_table_name == notebook["Score"]().full_table_name
        module.Score.populate()
    finally:
        sys.modules.pop(name, None)
    assert sorted(r["score"] for r in notebook["Score"].to_dicts()) == \
        [math.sqrt(i) + 1.5 for i in range(4)]


def test_unexportable_names_say_what_to_do(schema: dj.Schema) -> None:
    notebook = {"__name__": "__main__", "dj": dj, "schema": schema, "handle": object()}
    cell(notebook, 1, '@schema\nclass Item(dj.Manual):\n    definition = """\n'
                      '    item: int32\n    """\n')
    cell(notebook, 2, '@schema\nclass Use(dj.Computed):\n    definition = """\n'
                      '    -> Item\n    """\n\n    def make(self, key):\n'
                      '        handle.go(missing)\n')
    with pytest.raises(ExportError, match="Use uses 'handle', a value of type object made"):
        module_source(schema, notebook)
    notebook["handle"] = 3
    with pytest.raises(ExportError, match="'missing', which is not defined in the notebook"):
        module_source(schema, notebook)
    with pytest.raises(ExportError, match="export to a .py file"):
        dj.export_module(schema, "pipeline.txt", notebook)
