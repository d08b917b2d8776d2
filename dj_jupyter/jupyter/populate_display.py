"""How populate shows itself in a notebook, registered by ``%load_ext dj_jupyter``.

* ``populate()`` shows a :class:`~.populate_panel.PopulatePanel` (the core asks through
  :func:`dj_jupyter.catalog.events.set_progress_display`, never importing this layer);
* its result shows as one summary line (``Sq: 12 made, 6 failed — 1 kind of error``);
* ``Table.jobs.errors`` shows its failures grouped, with Retry and Ignore;
* a kernel interrupt of populate prints one line instead of the frames of populate.
"""

from __future__ import annotations

from typing import Any

from ..catalog.events import set_progress_display
from ..display.populate_panel import result_html
from ..populate.job_errors import ErrorRows
from ..populate.result import PopulateInterrupted, PopulateResult
from .populate_panel import PopulatePanel, panel_for_populate

__all__ = ["register", "unregister", "errors_mimebundle", "interrupted_line"]


def register(ipython: Any) -> None:
    set_progress_display(panel_for_populate)
    formatters = ipython.display_formatter.formatters
    formatters["text/html"].for_type(PopulateResult, _result_html)
    ipython.display_formatter.mimebundle_formatter.for_type(ErrorRows, errors_mimebundle)
    ipython.set_custom_exc((PopulateInterrupted,), interrupted_line)


def unregister(ipython: Any) -> None:
    set_progress_display(None)
    ipython.display_formatter.formatters["text/html"].type_printers.pop(PopulateResult, None)
    ipython.display_formatter.mimebundle_formatter.type_printers.pop(ErrorRows, None)
    ipython.set_custom_exc((), None)


def _result_html(result: PopulateResult) -> str:
    return result_html(result.summary, result.stopped)


def errors_mimebundle(errors: ErrorRows) -> tuple[dict, dict] | None:
    """The failures of a table, grouped, as a panel without Start/Stop (Retry, Ignore)."""
    try:
        panel = PopulatePanel(errors.queue.target, controls=False)
    except Exception:  # noqa: BLE001 - a display must not raise; the plain repr shows the rows
        return None
    return panel._repr_mimebundle_()


def interrupted_line(shell: Any, etype: type, value: BaseException, tb: Any,
                     tb_offset: Any = None) -> list[str]:
    """One line for an interrupted populate (IPython's custom exception handler shows what
    it returns itself: in a kernel, an error output whose traceback is this line)."""
    lines = [f"{etype.__name__}: {value}"]
    shell._showtraceback(etype, value, lines)
    return lines
