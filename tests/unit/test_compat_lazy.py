"""Under the ``datajoint`` alias a lazily loaded name also registers its DataJoint module name.

DataJoint loads ``datajoint.diagram`` and ``datajoint.cli`` on first use of ``dj.Diagram`` /
``dj.cli``; code (and DataJoint's own tests) check ``sys.modules`` for them. The law, in fresh
interpreters: after each fresh ``import datajoint`` the module is absent until the name is used,
then present as the very dj_jupyter module; without the alias nothing named ``datajoint`` appears
and the alias machinery is not even imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dj_jupyter import compat

ROOT = Path(__file__).resolve().parents[2]

# dj.<name> -> the DataJoint module name it must leave in sys.modules
USES = {"Diagram": "datajoint.diagram", "diagram": "datajoint.diagram", "cli": "datajoint.cli",
        "Schema": "datajoint.schemas", "deploy": "datajoint.deploy"}

PROBE = """
import json, sys
import dj_jupyter
name, alias, target = sys.argv[1:4]
seen = []
for attempt in range(3):  # each round: a fresh `import datajoint`, as DataJoint's tests do
    for key in [k for k in sys.modules if k.startswith("datajoint")]:
        del sys.modules[key]
    import datajoint as dj
    before = alias in sys.modules
    value = getattr(dj, name)
    seen.append([before, alias in sys.modules, sys.modules.get(alias) is sys.modules[target]])
print(json.dumps({"seen": seen, "callable_cli": callable(dj.cli)}))
"""


def _run(*args: str) -> object:
    environ = {k: v for k, v in os.environ.items() if k != compat.ENV_VAR}
    environ["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=environ,
                          cwd=ROOT, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("name", "alias"), sorted(USES.items()))
@pytest.mark.parametrize("used_before", [False, True], ids=["fresh", "used-before"])
def test_a_lazy_name_registers_its_datajoint_module(name: str, alias: str, used_before: bool):
    prelude = f"import dj_jupyter; dj_jupyter.{name}\n" if used_before else ""
    shown = _run("-m", "dj_jupyter.compat", "-c", prelude + PROBE, name, alias,
                 compat.SUBMODULES[alias])
    assert shown["seen"] == [[False, True, True]] * 3
    assert shown["callable_cli"] is True


def test_without_the_alias_nothing_named_datajoint_appears_and_compat_stays_unloaded():
    code = ("import json, sys, dj_jupyter as dj; dj.Diagram; dj.cli; dj.Schema; "
            "print(json.dumps([sorted(k for k in sys.modules if k.startswith('datajoint')), "
            "'dj_jupyter.compat' in sys.modules]))")
    assert _run("-c", code) == [[], False]
