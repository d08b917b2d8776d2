"""``ArrayPreview``: a look at an array without plotting code, frames streamed from the store.

``dj.preview(value)`` (and, with ``%load_ext dj_jupyter``, the notebook display of an
``NpyRef``, an xarray value, an ``ObjectRef`` holding an array and a numpy array) shows a 1-D
array as a line plot (min/max per pixel column), a 2-D array as an image (viridis, a robust
colour range, the value under the cursor) and an N-D array with a slider per extra axis and a
choice of the two displayed axes. The browser asks for each frame with the ``_frame``
command and receives it as a binary float32 buffer; only that frame is read from the store.
Statistics come chunk by chunk through ``_stats``. The mime bundle also carries a PNG of the
first frame and a line of text, which a notebook shows without a kernel.
"""

from __future__ import annotations

import base64
from functools import cache
from importlib import resources
from typing import Any

import anywidget
import traitlets
from anywidget.experimental import command

from ..display.arrays import (
    ArraySource,
    PreviewError,
    StatsRun,
    as_source,
    colormap_lut,
    default_axes,
    describe,
    first_frame_png,
    frame_payload,
    line_payload,
)
from ..errors import DataJointError

__all__ = ["ArrayPreview", "PreviewSession", "preview", "preview_esm", "preview_css"]

_STATIC = resources.files("dj_jupyter.jupyter") / "static"


@cache
def preview_esm() -> str:
    return (_STATIC / "preview.js").read_text(encoding="utf-8")


@cache
def preview_css() -> str:
    return (_STATIC / "preview.css").read_text(encoding="utf-8")


class PreviewSession:
    """The kernel side of one preview: its source, frames and statistics run (shared by
    :class:`ArrayPreview` and the table widget's cell preview)."""

    def __init__(self, value: Any, title: str = ""):
        self.source: ArraySource = as_source(value)
        self.title = title or describe(self.source)
        self._stats: StatsRun | None = None

    def opening(self) -> dict:
        """What the browser needs to draw the controls (JSON)."""
        source = self.source
        return {"meta": source.meta(), "title": self.title,
                "axes": default_axes(source) if source.ndim else [], "at": [0] * source.ndim,
                "lut": colormap_lut().ravel().tolist()}

    def frame(self, axes: list[int] | None = None, at: list[int] | None = None,
              ) -> tuple[dict, bytes]:
        """The payload the browser draws: a line (1-D) or one frame (axes ``axes`` at ``at``)."""
        source = self.source
        if source.ndim == 0:
            return {"kind": "scalar", "text": str(source.read(()))}, b""
        if source.size == 0:
            return {"kind": "empty"}, b""
        if source.ndim == 1:
            return line_payload(source)
        return frame_payload(source, axes, at)

    def stats(self, seconds: float = 0.25) -> dict:
        """Summary statistics, advanced by about ``seconds`` of work (call until done)."""
        if self._stats is None:
            self._stats = StatsRun(self.source)
        return self._stats.step(seconds)

    def frame_answer(self, msg: Any) -> tuple[dict, list[bytes]]:
        """A ``_frame`` command's answer: the payload, or ``{"error": message}``."""
        request = msg if isinstance(msg, dict) else {}
        try:
            meta, data = self.frame(request.get("axes"), request.get("at"))
        except DataJointError as error:
            return {"error": str(error)}, []
        except Exception as error:  # noqa: BLE001 - the browser waits for an answer
            return {"error": f"{type(error).__name__}: {error}"}, []
        return meta, [data]

    def stats_answer(self) -> tuple[dict, list[bytes]]:
        try:
            return self.stats(), []
        except Exception as error:  # noqa: BLE001 - the browser waits for an answer
            return {"error": f"{type(error).__name__}: {error}"}, []


class ArrayPreview(anywidget.AnyWidget):
    """An interactive picture of an array; frames are read on demand, never the whole array."""

    _esm = preview_esm()
    _css = preview_css()
    meta = traitlets.Dict().tag(sync=True)
    axes = traitlets.List(traitlets.Int()).tag(sync=True)
    at = traitlets.List(traitlets.Int()).tag(sync=True)
    lut = traitlets.List(traitlets.Int()).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)

    def __init__(self, value: Any, *, title: str = "", **kwargs: Any):
        session = PreviewSession(value, title)
        super().__init__(**session.opening(), **kwargs)
        self.session = session

    @property
    def source(self) -> ArraySource:
        return self.session.source

    def frame(self, axes: list[int] | None = None, at: list[int] | None = None,
              ) -> tuple[dict, bytes]:
        """The payload of a frame (default: the displayed axes at the current position)."""
        return self.session.frame(axes or self.axes, at or self.at)

    def stats(self, seconds: float = 0.25) -> dict:
        return self.session.stats(seconds)

    @command
    def _frame(self, msg: Any, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        return self.session.frame_answer(msg)

    @command
    def _stats_step(self, msg: Any, buffers: list[bytes]) -> tuple[dict, list[bytes]]:
        return self.session.stats_answer()

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        shown = super()._repr_mimebundle_(**kwargs)
        data, metadata = shown if shown is not None else ({}, {})
        data = dict(data)
        data.update(static_bundle(self.source, self.title))
        return data, dict(metadata or {})


def static_bundle(source: ArraySource, title: str) -> dict:
    """The text and PNG a notebook shows without a kernel (the first frame)."""
    bundle: dict[str, Any] = {"text/plain": f"{source.kind} {title}"}
    try:
        png = first_frame_png(source)
    except Exception:  # noqa: BLE001 - a picture that cannot be made leaves the text
        png = None
    if png is not None:
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
    return bundle


def preview(value: Any, *, title: str = "") -> ArrayPreview:
    """``dj.preview(value)``: the interactive preview of an array-like value (numpy array,
    ``NpyRef``, xarray value, ``ObjectRef`` of an ``.npy``/``.zarr`` object)."""
    try:
        return ArrayPreview(value, title=title)
    except PreviewError:
        raise
    except DataJointError:
        raise
    except Exception as error:
        raise PreviewError(f"cannot preview this {type(value).__name__}: {error}") from error
