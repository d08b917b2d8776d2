"""The modules behind ``dj.Diagram``, ``dj.cli`` and ``dj.deploy`` load on first use, not at
``import dj_jupyter`` (DataJoint's lazy-import promise, for dj_jupyter's own modules)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(("name", "module"), [
    ("Diagram", "dj_jupyter.display.diagram.model"), ("cli", "dj_jupyter.cli"),
    ("deploy", "dj_jupyter.pipeline.deploy")])
def test_a_module_loads_when_its_name_is_first_used(name, module):
    code = (f"import sys, dj_jupyter as dj; before = {module!r} in sys.modules; "
            f"dj.{name}; print(before, {module!r} in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.split()
    assert shown == ["False", "True"]
