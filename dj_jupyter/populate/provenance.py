"""Which code computed a row: a version string for an auto-populated table's ``make``.

The version combines a hash of the source of ``make`` (or of the tripartite
``make_fetch``/``make_compute``/``make_insert``) with the dj_jupyter version,
and the git commit of the file defining it when there is one. Editing ``make``
changes the version, so ``Table.stale()`` can list the keys to recompute. Setting
``jobs.version_method`` to ``git`` records only the commit (DataJoint's choice), ``none``
nothing.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import subprocess
from pathlib import Path

from ..settings import config
from ..version import __version__

__all__ = ["code_version", "job_version", "MAKE_METHODS"]

MAKE_METHODS = ("make", "_make_tuples", "make_fetch", "make_compute", "make_insert")


def code_version(cls: type) -> str:
    """``<16 hex of the code hash>[+<git commit>]``, at most 64 characters."""
    digest = hashlib.sha256(__version__.encode())
    for name in MAKE_METHODS:
        method = cls.__dict__.get(name) or getattr(cls, name, None)
        if method is None:
            continue
        digest.update(name.encode())
        digest.update(_source(method).encode())
    version = digest.hexdigest()[:16]
    commit = _git_commit(inspect.getsourcefile(cls) if _has_file(cls) else None)
    return f"{version}+{commit}" if commit else version


def job_version(cls: type) -> str:
    """The version recorded for ``cls``'s jobs and rows, as ``jobs.version_method`` says:
    ``code`` (:func:`code_version`), ``git`` (the commit, as DataJoint) or ``none`` ("")."""
    method = config["jobs.version_method"]
    if method == "code":
        return code_version(cls)
    if method == "git":
        return _git_commit(inspect.getsourcefile(cls) if _has_file(cls)
                           else os.path.join(os.getcwd(), "-"))
    return ""


def _source(method) -> str:
    try:
        return inspect.getsource(method)
    except (OSError, TypeError):  # defined interactively without a source: use its bytecode
        code = getattr(method, "__code__", None)
        return code.co_code.hex() if code is not None else repr(method)


def _has_file(cls: type) -> bool:
    try:
        return inspect.getsourcefile(cls) is not None
    except (OSError, TypeError):  # defined in a notebook or the interpreter
        return False


@functools.lru_cache(maxsize=64)
def _git_commit(path: str | None) -> str:
    if not path:
        return ""
    try:
        result = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"],
                                cwd=Path(path).parent, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""
