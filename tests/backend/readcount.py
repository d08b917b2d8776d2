"""Counting the bytes a store really serves: the kernel's count for a local folder, the
bytes S3 (moto) returned for a remote store. Shared by the slicing tests and benchmarks."""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class ReadCount:
    """Bytes read while the context was open (``.bytes``), ranged requests (``.requests``)
    and every S3 request by operation (``.calls``, e.g. ``{"get_object": 4}``; remote stores
    only)."""

    def __init__(self) -> None:
        self.bytes = 0
        self.requests = 0
        self.calls: collections.Counter[str] = collections.Counter()


def _rchar() -> int:
    """Bytes this process read through read() system calls (Linux ``/proc/self/io``)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise RuntimeError("/proc/self/io has no rchar line")


@contextlib.contextmanager
def bytes_read(store: Any) -> Iterator[ReadCount]:
    """Count what ``store`` delivers inside the block (local: every read() of the process,
    so keep other I/O out of the block; S3: the bodies of the GET requests)."""
    count = ReadCount()
    if store.local_path("x") is not None:
        before = _rchar()
        yield count
        count.bytes = _rchar() - before
        return
    fs = store.fs
    lock = threading.Lock()
    original = fs._cat_file
    kind = type(fs)
    original_method = kind._cat_file

    def add(data: bytes) -> bytes:
        with lock:
            count.bytes += len(data)
            count.requests += 1
        return data

    async def counted(path: str, start: Any = None, end: Any = None, **kwargs: Any) -> bytes:
        return add(await original(path, start=start, end=end, **kwargs))

    async def counted_method(self: Any, path: str, start: Any = None, end: Any = None,
                             **kwargs: Any) -> bytes:
        return add(await original_method(self, path, start=start, end=end, **kwargs))

    original_call = kind._call_s3

    async def counted_call(self: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        with lock:
            count.calls[method] += 1
        return await original_call(self, method, *args, **kwargs)

    # the store's own instance, and the asynchronous copies of it (zarr makes one) too
    fs._cat_file = counted
    kind._cat_file = counted_method
    kind._call_s3 = counted_call
    try:
        yield count
    finally:
        del fs._cat_file  # the instance attribute goes; the class method is back
        kind._cat_file = original_method
        kind._call_s3 = original_call
