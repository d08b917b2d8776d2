"""The prebuilt JupyterLab extension ships in the wheel and is enabled where it is installed.

Building the wheel runs the hatch-jupyter-builder hook (labextension/ -> dj_jupyter/labextension
when that is missing); the check then reads the wheel's file list, as pip would install it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
SHARE = "share/jupyter/labextensions/dj-jupyter-labext"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.slow
def test_the_wheel_ships_the_prebuilt_extension(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(REPO)], check=True, timeout=900)
    [wheel] = tmp_path.glob("dj_jupyter-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        data = next(n for n in names if n.endswith(f".data/data/{SHARE}/package.json"))
        package = json.loads(archive.read(data))
    shared = [n.split(f"{SHARE}/", 1)[1] for n in names if f"/{SHARE}/" in n]
    assert {"package.json", "install.json", "static/style.js"} <= set(shared), shared
    assert any(re.fullmatch(r"static/remoteEntry\.[0-9a-f]+\.js", n) for n in shared), shared
    assert package["name"] == "dj-jupyter-labext"
    assert package["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")


def test_jupyter_lists_the_extension_enabled() -> None:
    pytest.importorskip("jupyterlab")
    listed = subprocess.run([sys.executable, "-m", "jupyterlab.labextensions", "list"],
                            capture_output=True, text=True, timeout=120)
    text = ANSI.sub("", listed.stdout + listed.stderr)
    assert re.search(r"dj-jupyter-labext v\S+ enabled OK", text), text
