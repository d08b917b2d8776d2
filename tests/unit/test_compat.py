"""The opt-in ``datajoint`` alias: DataJoint 2.x imports resolve to dj_jupyter's own modules."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import dj_jupyter
from dj_jupyter import compat
from dj_jupyter.errors import DataJointError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def aliased() -> Iterator[None]:
    compat.alias_datajoint()
    yield
    compat.remove_alias()


def test_import_datajoint_is_the_package(aliased: None) -> None:
    import datajoint as dj  # type: ignore[import-not-found]

    assert dj is dj_jupyter
    assert dj.Schema is dj_jupyter.Schema


@pytest.mark.parametrize("alias, real", sorted(compat.SUBMODULES.items()))
def test_every_listed_submodule_is_the_real_module(aliased: None, alias: str,
                                                   real: str) -> None:
    module = __import__(alias, fromlist=["_"])
    assert module is sys.modules[real]
    assert module.__spec__.name == real  # the real module's identity is untouched


def test_caught_exceptions_are_the_same_classes(aliased: None) -> None:
    from datajoint.errors import DataJointError as Aliased  # type: ignore[import-not-found]

    assert Aliased is DataJointError
    with pytest.raises(Aliased):
        raise dj_jupyter.errors.DuplicateError("x")


def test_an_internal_datajoint_module_is_refused_by_name(aliased: None) -> None:
    with pytest.raises(ModuleNotFoundError, match="datajoint.declare is not part"):
        import datajoint.declare  # type: ignore[import-not-found]  # noqa: F401
    # and no second copy of a dj_jupyter module appears under the alias
    assert not [n for n, m in sys.modules.items() if n.startswith("datajoint.")
                and getattr(m, "__name__", "") == n]


def test_without_the_alias_datajoint_is_not_ours() -> None:
    assert not compat.is_aliased()
    found = sys.modules.get("datajoint")
    assert found is None or found is not dj_jupyter


def test_alias_is_idempotent_and_removable() -> None:
    compat.alias_datajoint()
    compat.alias_datajoint()
    assert sys.meta_path.count(compat._FINDER) == 1
    compat.remove_alias()
    assert not compat.is_aliased() and "datajoint" not in sys.modules


def test_refused_when_the_real_datajoint_is_already_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datajoint", types.ModuleType("datajoint"))
    with pytest.raises(DataJointError, match="before anything imports datajoint"):
        compat.alias_datajoint()
    assert not compat.is_aliased()


@pytest.mark.parametrize("value, wanted", [("1", True), ("yes", True), ("on", True),
                                           ("0", False), ("", False), ("no", False)])
def test_the_environment_variable_is_an_explicit_opt_in(value: str, wanted: bool) -> None:
    assert compat.alias_requested({compat.ENV_VAR: value}) is wanted


def _python(*args: str, env: dict[str, str] | None = None) -> str:
    environ = {k: v for k, v in os.environ.items() if k != compat.ENV_VAR}
    environ.update(PYTHONPATH=str(ROOT), **(env or {}))
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=environ,
                          cwd=ROOT, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_environment_variable_aliases_at_import() -> None:
    code = "import dj_jupyter, datajoint; print(datajoint is dj_jupyter)"
    assert _python("-c", code, env={compat.ENV_VAR: "1"}) == "True"


def test_the_runner_runs_code_with_the_alias(tmp_path: Path) -> None:
    script = tmp_path / "pipeline.py"
    script.write_text("import sys\nimport datajoint as dj\n"
                      "from datajoint.errors import DataJointError\n"
                      "print(dj.__name__, DataJointError.__module__, sys.argv[1:])\n")
    out = _python("-m", "dj_jupyter.compat", str(script), "a", "b")
    assert out == "dj_jupyter dj_jupyter.errors ['a', 'b']"
    assert _python("-m", "dj_jupyter.compat", "-c", "import datajoint; print(datajoint.__name__)") \
        == "dj_jupyter"


def test_processes_started_under_the_alias_alias_too() -> None:
    """populate(processes=N) workers are fresh interpreters: they import the pipeline module
    (``import datajoint``) after dj_jupyter, and must get dj_jupyter there as well."""
    child = "import dj_jupyter, datajoint; print(datajoint.__name__)"
    parent = ("import subprocess, sys; print(subprocess.run([sys.executable, '-c', "
              f"{child!r}], capture_output=True, text=True).stdout.strip())")
    assert _python("-m", "dj_jupyter.compat", "-c", parent) == "dj_jupyter"


def test_removing_the_alias_unsets_only_the_variable_it_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(compat.ENV_VAR, raising=False)
    compat.alias_datajoint()
    assert compat.alias_requested()
    compat.remove_alias()
    assert compat.ENV_VAR not in os.environ
    monkeypatch.setenv(compat.ENV_VAR, "yes")  # the user's own choice stays
    compat.alias_datajoint()
    compat.remove_alias()
    assert os.environ[compat.ENV_VAR] == "yes"
