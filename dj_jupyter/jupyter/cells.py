"""How a ``%%dj_table`` cell is laid out: the definition, then optionally Python code after the
marker line. Read by the magic that runs the cell and by the completion that helps write it.
"""

__all__ = ["PYTHON_MARKER"]

PYTHON_MARKER = "# --- python ---"
