"""pytest plugin loaded into both runs of DataJoint's suite: a test that fails part-way does
not leave ``dj.config["safemode"]`` changed for every test after it.

DataJoint's ``test_relation.py::test_drop`` turns safemode on, then patches an internal module
(``dj.utils``, which dj_jupyter does not have) and turns safemode off again only in a
``finally`` that the failed patch never reaches; every later test would then ask for
confirmations nobody answers (teardowns that drop schemas fail one after another). The value
is restored only after a test *failed*, so a run where the test passes (DataJoint's own) is
untouched. The copied tests themselves are never edited.
"""

from __future__ import annotations

import datajoint as dj
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    before = dj.config["safemode"]
    outcome = yield
    if outcome.excinfo is not None and dj.config["safemode"] != before:
        dj.config["safemode"] = before
