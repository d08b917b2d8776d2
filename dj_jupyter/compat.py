"""The ``datajoint`` alias: code written for DataJoint 2.x runs on dj_jupyter unchanged.

After :func:`alias_datajoint` (opt-in; nothing happens at ``import dj_jupyter`` unless the
environment variable ``DJ_ALIAS_DATAJOINT=1`` asks for it), ``import datajoint as dj`` gives
the ``dj_jupyter`` package and ``from datajoint.errors import DataJointError`` gives
dj_jupyter's own class, so ``except`` clauses and ``isinstance`` checks match. The public
submodules DataJoint user code imports are listed once, in :data:`SUBMODULES`; a name that is
not there (DataJoint's internal modules such as ``datajoint.declare``) raises
``ModuleNotFoundError`` saying it has no counterpart, instead of loading a second copy of a
dj_jupyter module under a foreign name.

For scripts and test runners: ``python -m dj_jupyter.compat script.py`` (or ``-m module``,
``-c code``) runs them with the alias installed.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import runpy
import sys
from collections.abc import Sequence
from types import ModuleType

from .errors import DataJointError

__all__ = [
    "SUBMODULES", "ENV_VAR", "alias_datajoint", "alias_requested", "remove_alias", "is_aliased",
    "alias_loaded_module", "main",
]

ALIAS = "datajoint"
ENV_VAR = "DJ_ALIAS_DATAJOINT"
_SET_BY_US = "1 "  # the value alias_datajoint() sets for child processes (a user's is theirs)

# DataJoint 2.x module -> the dj_jupyter module that answers for it. One list; extend it here
# (codec plugins import e.g. ``datajoint.codecs`` and ``datajoint.builtin_codecs``).
SUBMODULES: dict[str, str] = {
    "datajoint": "dj_jupyter",
    "datajoint.errors": "dj_jupyter.errors",
    "datajoint.settings": "dj_jupyter.settings",
    "datajoint.version": "dj_jupyter.version",
    "datajoint.connection": "dj_jupyter.backends.connection",
    "datajoint.instance": "dj_jupyter.pipeline.instance",
    "datajoint.table": "dj_jupyter.tables.table",
    "datajoint.user_tables": "dj_jupyter.pipeline.tiers",
    "datajoint.schemas": "dj_jupyter.pipeline.schema",
    "datajoint.expression": "dj_jupyter.query.expression",
    "datajoint.autopopulate": "dj_jupyter.populate.autopopulate",
    "datajoint.jobs": "dj_jupyter.populate.jobs",
    "datajoint.codecs": "dj_jupyter.objects.codecs",
    "datajoint.builtin_codecs": "dj_jupyter.objects.codecs.builtin_codecs",
    "datajoint.builtin_codecs.schema": "dj_jupyter.objects.codecs.builtin_codecs.schema",
    "datajoint.builtin_codecs.attach": "dj_jupyter.objects.codecs.builtin_codecs.attach",
    "datajoint.builtin_codecs.filepath": "dj_jupyter.objects.codecs.builtin_codecs.filepath",
    "datajoint.builtin_codecs.hash": "dj_jupyter.objects.codecs.builtin_codecs.hash",
    "datajoint.builtin_codecs.npy": "dj_jupyter.objects.codecs.builtin_codecs.npy",
    "datajoint.builtin_codecs.object": "dj_jupyter.objects.codecs.builtin_codecs.object",
    "datajoint.diagram": "dj_jupyter.display.diagram.model",
    "datajoint.blob": "dj_jupyter.objects.codecs.blob",
    "datajoint.cli": "dj_jupyter.cli",
    "datajoint.deploy": "dj_jupyter.pipeline.deploy",
}


class _AliasLoader(importlib.abc.Loader):
    """Loads an alias by putting the real module in its ``sys.modules`` slot.

    The import system returns whatever ``sys.modules[name]`` holds after ``exec_module``, so
    ``datajoint.errors`` *is* ``dj_jupyter.errors`` (same classes), and the real module's own
    ``__spec__`` and ``__name__`` stay untouched.
    """

    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a placeholder; exec_module swaps in the real module

    def exec_module(self, module: ModuleType) -> None:
        sys.modules[module.__name__] = importlib.import_module(self.target)


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Answers every ``datajoint`` and ``datajoint.*`` import while the alias is on."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        real = SUBMODULES.get(fullname)
        if real is None:
            raise ModuleNotFoundError(
                f"{fullname} is not part of the DataJoint 2.x public API that dj_jupyter "
                f"answers for (see dj_jupyter.compat.SUBMODULES); import the names from "
                f"`datajoint` itself",
                name=fullname,
            )
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real))


_FINDER = _AliasFinder()


def is_aliased() -> bool:
    """True while ``import datajoint`` resolves to dj_jupyter."""
    return _FINDER in sys.meta_path


def alias_datajoint() -> None:
    """Make ``import datajoint`` (and its public submodules) resolve to dj_jupyter.

    Idempotent. Raises :class:`DataJointError` if the real DataJoint is already imported in
    this process: its classes are in use, and two libraries under one name would mix. Sets
    ``DJ_ALIAS_DATAJOINT=1`` too, so that the interpreters this process starts (populate
    workers, ``processes=N``) alias as well and import the same pipeline modules the same way.
    """
    if is_aliased():
        return
    loaded = sys.modules.get(ALIAS)
    if loaded is not None and not getattr(loaded, "__name__", "").startswith("dj_jupyter"):
        raise DataJointError(
            "the real `datajoint` package is already imported in this process; call "
            "dj_jupyter.alias_datajoint() (or set DJ_ALIAS_DATAJOINT=1) before anything "
            "imports datajoint, e.g. in a fresh kernel"
        )
    sys.meta_path.insert(0, _FINDER)
    if not alias_requested():
        os.environ[ENV_VAR] = _SET_BY_US


def remove_alias() -> None:
    """Undo :func:`alias_datajoint`: forget the aliased modules; ``import datajoint`` is free."""
    while _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    if os.environ.get(ENV_VAR) == _SET_BY_US:
        del os.environ[ENV_VAR]
    for name in [n for n in sys.modules if n == ALIAS or n.startswith(ALIAS + ".")]:
        if getattr(sys.modules[name], "__name__", "").startswith("dj_jupyter"):
            del sys.modules[name]


def alias_loaded_module(module: ModuleType) -> None:
    """Put a dj_jupyter module that ``dj.<name>`` has just loaded into ``sys.modules`` under its
    DataJoint name(s) too (``dj.Diagram`` -> ``datajoint.diagram``), as DataJoint's own lazy
    import leaves it there; a module DataJoint has no name for is left alone."""
    for alias, real in SUBMODULES.items():
        if real == module.__name__:
            sys.modules.setdefault(alias, module)


def alias_requested(environ: dict[str, str] | None = None) -> bool:
    """Whether ``DJ_ALIAS_DATAJOINT`` asks for the alias (1/true/yes/on)."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m dj_jupyter.compat (script.py | -m module | -c code) [args...]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        raise SystemExit("usage: python -m dj_jupyter.compat (script.py | -m module | -c code) "
                         "[args...]  -- runs it with `import datajoint` resolving to dj_jupyter")
    alias_datajoint()
    if args[0] == "-c" and len(args) > 1:
        sys.argv = ["-c", *args[2:]]
        exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102
    elif args[0] == "-m" and len(args) > 1:
        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = args
        runpy.run_path(args[0], run_name="__main__")


if __name__ == "__main__":
    # run the package's copy of this module, so that one finder serves the whole process
    importlib.import_module("dj_jupyter.compat").main()
