"""The notebook layer: widgets and displays. Imported only on demand (it needs anywidget).

Nothing in :mod:`dj_jupyter.core` imports this package; the display modules reach it
lazily when a notebook shows an object.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["DiagramWidget", "TableWidget"]

_LAZY = {"DiagramWidget": ".diagram", "TableWidget": ".table_widget"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dj_jupyter.jupyter' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
