"""Codec plugins written for DataJoint 2.x run on dj_jupyter unchanged.

The plugin package below is ours, written the way datajoint/dj-zarr-codecs and
dj-photon-codecs are: ``import datajoint as dj``, ``from datajoint.builtin_codecs import
SchemaCodec``, the ``_extract_context`` / ``_build_path`` / ``_get_backend`` helpers and the
backend's ``put_buffer`` / ``get_buffer`` / ``get_fsmap``, one codec with DataJoint 2.3.4's
``context`` keyword and one written before it. It is installed into a temporary folder with a
``.dist-info`` declaring its ``datajoint.codecs`` entry points, and each case runs in a fresh
interpreter (the alias and the codec registry are per process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PLUGIN = '''
"""Grid codecs for DataJoint 2.x (a test package)."""
import io
import json

import numpy as np

try:
    import datajoint as dj
    from datajoint import DataJointError
    from datajoint.builtin_codecs import SchemaCodec
except ImportError as e:
    raise ImportError("datajoint>=2.0 is required") from e


class GridCodec(SchemaCodec):
    """<grid@>: a 2-D array as a folder of one object per row (DataJoint 2.3.4 style)."""

    name = "grid"

    def validate(self, value):
        if not isinstance(value, np.ndarray) or value.ndim != 2:
            raise DataJointError("<grid> requires a 2-D numpy array")

    def encode(self, value, *, key=None, context=None, store_name=None):
        schema, table, field, primary_key = self._extract_context(key, context)
        config = self._codec_config(key, context)
        path, _ = self._build_path(schema, table, field, primary_key, ext=".grid",
                                   store_name=store_name, config=config)
        mapping = self._get_backend(store_name, config=config).get_fsmap(path)
        mapping["meta.json"] = json.dumps({"dtype": str(value.dtype),
                                           "shape": list(value.shape)}).encode()
        for i, row in enumerate(value):
            mapping[f"rows/{i}"] = row.tobytes()
        return {"path": path, "store": store_name, "rows": len(value)}

    def decode(self, stored, *, key=None, context=None):
        config = self._codec_config(key, context)
        mapping = self._get_backend(stored.get("store"), config=config).get_fsmap(stored["path"])
        meta = json.loads(mapping["meta.json"])
        rows = [np.frombuffer(mapping[f"rows/{i}"], dtype=meta["dtype"])
                for i in range(stored["rows"])]
        return np.stack(rows).reshape(meta["shape"])


class SavezCodec(SchemaCodec):
    """<savez@>: arrays in one .npz object (written before DataJoint 2.3.4: no context)."""

    name = "savez"

    def validate(self, value):
        if not isinstance(value, dict):
            raise DataJointError("<savez> requires a dict of arrays")

    def encode(self, value, *, key=None, store_name=None):
        schema, table, field, primary_key = self._extract_context(key)
        path, _ = self._build_path(schema, table, field, primary_key, ext=".npz",
                                   store_name=store_name)
        buffer = io.BytesIO()
        np.savez(buffer, **value)
        self._get_backend(store_name).put_buffer(buffer.getvalue(), path)
        return {"path": path, "store": store_name, "names": sorted(value)}

    def decode(self, stored, *, key=None):
        data = self._get_backend(stored.get("store")).get_buffer(stored["path"])
        with np.load(io.BytesIO(data)) as loaded:
            return {name: loaded[name] for name in stored["names"]}
'''

BROKEN = '''
import datajoint
raise ImportError("needs libphoton, which is not installed")
'''


def _install(site: Path, package: str, source: str, entries: dict[str, str]) -> None:
    """The package and its ``.dist-info`` (METADATA, entry_points.txt) in ``site``."""
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(source)
    info = site / f"{package}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[datajoint.codecs]\n{lines}")


# the case each interpreter runs; prints the JSON of what it found
SCRIPT = '''
import json, sys
import numpy as np
import dj_jupyter
how, url, store, schema_name = sys.argv[1:5]
if how == "no-alias":
    dj = dj_jupyter
else:
    dj_jupyter.alias_datajoint()
    import datajoint as dj
if how == "alias":
    import grid_codecs  # the plugin imported by hand
dj.config["stores"] = {"default": "main", "main": {"protocol": "file", "location": store}}
dj.config["safemode"] = False
connection = dj.Connection(url)
schema = dj.Schema(schema_name, connection=connection)
found = {}
try:
    @schema
    class Scan(dj.Manual):
        definition = """
        scan_id: int32
        ---
        image: <grid@>
        extras=null: <savez@main>
        """

    grid = np.arange(12, dtype="float32").reshape(3, 4)
    Scan.insert1({"scan_id": 1, "image": grid, "extras": {"a": np.arange(3), "b": np.eye(2)}})
    row = (Scan & {"scan_id": 1}).fetch1()
    found["image"] = bool(np.array_equal(row["image"], grid)) and str(row["image"].dtype)
    found["extras"] = sorted(row["extras"]) == ["a", "b"] and \\
        bool(np.array_equal(row["extras"]["b"], np.eye(2)))
    found["codec"] = type(dj.get_codec("grid")).__module__
    try:
        Scan.insert1({"scan_id": 2, "image": np.arange(3)})
    except dj.DataJointError as error:
        found["refused"] = type(error).__name__
    (Scan & {"scan_id": 1}).delete()
    found["left"] = sorted(str(p.relative_to(store)) for p in __import__("pathlib").Path(store)
                           .rglob("*") if p.is_file())
except dj.DataJointError as error:
    found["error"] = f"{type(error).__name__}: {error}"
print(json.dumps(found))
'''


def _run(how: str, site: Path, db_url: str, store: Path, schema_name: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJ_ALIAS")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(site)])
    done = subprocess.run([sys.executable, "-c", SCRIPT, how, db_url, str(store), schema_name],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    _install(folder, "grid_codecs", textwrap.dedent(PLUGIN),
             {"grid": "grid_codecs:GridCodec", "savez": "grid_codecs:SavezCodec"})
    return folder


@pytest.mark.parametrize("how", ["alias", "entry-point"])
def test_datajoint_plugin_round_trips(how, site, db_url, tmp_path, schema_name):
    found = _run(how, site, db_url, tmp_path / "store", schema_name)
    assert found == {"image": "float32", "extras": True, "codec": "grid_codecs",
                     "refused": "DataJointError", "left": []}


def test_plugin_needing_datajoint_names_the_alias(site, db_url, tmp_path, schema_name):
    found = _run("no-alias", site, db_url, tmp_path / "store", schema_name)
    assert found["error"].startswith("CodecPluginError: codec plugin 'grid' "
                                     "(grid_codecs:GridCodec, package 'grid_codecs'")
    assert "alias_datajoint()" in found["error"]


def test_broken_plugin_is_an_error_not_the_builtin(site, db_url, tmp_path, schema_name):
    """A broken ``zarr`` plugin: the built-in ``<zarr@>`` never answers in its place."""
    _install(site, "photon_zarr", BROKEN, {"zarr": "photon_zarr:ZarrCodec"})
    script = SCRIPT.replace("image: <grid@>", "image: <zarr@>")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJ_ALIAS")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(site)])
    done = subprocess.run([sys.executable, "-c", script, "entry-point", db_url,
                           str(tmp_path / "store"), schema_name],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["error"].startswith("CodecPluginError: codec plugin 'zarr' "
                                     "(photon_zarr:ZarrCodec, package 'photon_zarr'")
    assert "needs libphoton" in found["error"] and "Scan" not in found
