"""The public surface: what `import dj_jupyter as dj` offers, and what it does not load."""

from __future__ import annotations

import subprocess
import sys

import dj_jupyter as dj


def test_every_public_name_resolves() -> None:
    for name in dj.__all__:
        assert getattr(dj, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        dj.NoSuchThing  # noqa: B018
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def test_import_loads_neither_jupyter_nor_heavy_libraries() -> None:
    code = ("import sys, dj_jupyter; "
            "print(','.join(m for m in ('IPython','ipywidgets','jupyter_client','pandas',"
            "'sqlalchemy','numpy') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == ""


def test_core_never_imports_the_jupyter_layer() -> None:
    from pathlib import Path

    package = Path(dj.__file__).parent
    below = [package / layer for layer in ("definition", "backends", "algebra", "catalog",
                                           "objects", "query", "tables", "populate",
                                           "pipeline")]
    offenders = [str(p) for layer in below for p in layer.rglob("*.py")
                 if any(word in p.read_text() for word in
                        ("import IPython", "from IPython", "ipywidgets", "dj_jupyter.jupyter",
                         "from ..jupyter", "from ...jupyter"))]
    assert offenders == []
