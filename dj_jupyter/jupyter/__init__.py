"""The notebook layer: widgets and displays. Imported only on demand (it needs anywidget).

No layer below imports this package (tests/unit/test_architecture.py checks it); the package
root wires its widgets into the display layer's hooks, imported when a notebook shows them.
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
