"""Array preview: one 2-D frame of a large ``<npy@>`` float32 stack, against a baseline measured
in the same run, on a local-folder store and on S3 (moto's server on loopback).

The stack is ``(T, 2048, 2048)`` float32 (16 MiB per frame; ``--gib 1`` gives T = 64; the 4 GiB
target is T = 256 with the same frame, so its per-frame figures are these: a frame read never
depends on T). Measured, best of ``--repeat``:

* first frame   ``frame_payload`` of frame 0 through a fresh ``NpyRef`` (header read included):
                the Python-side payload the browser receives (decimated to 512 px, robust range);
                with the data offset the row records (the header comes with the frame: one GET
                on S3), and for a value without it (header first: two GETs)
* slider        the same reference, another frame
* full frame    ``ref[t]`` at full resolution (the raw frame, 16 MiB)
* baseline      local: the same payload computed from ``np.load(path, mmap_mode="r")`` (and
                ``[t]`` copied for the full frame; the bare mmap slice ``[t, ::4, ::4]`` is
                shown too); S3: one ranged GET of the frame's bytes (s3fs ``cat_file``)

Bytes read per frame are counted on the store (the process's read() bytes locally, the GET
bodies on S3) and reported against the frame's bytes, with the S3 requests of the first frame
(with and without the data offset) and of a slider frame.

A stack of noise as ``<zarr@>`` (``--zarr-gib``; chunks of a quarter frame, zarr's default
compression, which noise defeats): first-frame payload (fetch, open, read; nothing kept from
before), the value fetched again, slider, and bytes and S3 requests per frame: the frame's
chunks (chunk rounding). Baseline: the same payload from ``xr.open_dataarray`` of the store's
fsspec mapping (xarray and zarr's own way, which the codec took before; no database fetch),
first frame and slider.

    python -m benchmarks.preview --gib 1 --s3-gib 0.25 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

import dj_jupyter as dj
from dj_jupyter.display.arrays import ArraySource, as_source, frame_payload
from dj_jupyter.objects import stores as storage
from dj_jupyter.objects.codecs.stored import DATA_OFFSET, NpyRef
from dj_jupyter.objects.codecs.zarr import forget_opened
from tests.backend.readcount import bytes_read

SIDE = 2048
FRAME_BYTES = SIDE * SIDE * 4
BUCKET = "dj-bench"
KEY, SECRET = "AKIDBENCH", "bench-secret"


def _stack(frames: int) -> np.ndarray:
    """Frames that differ (a ramp plus the frame number), made without a big temporary."""
    stack = np.empty((frames, SIDE, SIDE), np.float32)
    ramp = np.add.outer(np.arange(SIDE, dtype=np.float32), np.arange(SIDE, dtype=np.float32))
    for t in range(frames):
        np.add(ramp, t, out=stack[t])
    return stack


def _best(run: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Best and median seconds of ``repeat`` runs, and the median CPU seconds of the process
    (all its threads: zarr's decoding threads, and moto's server, which runs in-process)."""
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return min(times), statistics.median(times), statistics.median(cpu)


def _ms(figures: tuple[float, ...]) -> str:
    return (f"{figures[0] * 1000:7.1f} ms (median {figures[1] * 1000:.1f}, "
            f"cpu {figures[2] * 1000:.1f})")


def _load() -> str:
    return "load average " + " ".join(f"{n:.2f}" for n in os.getloadavg())


def _moto() -> tuple[str, object]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    import boto3

    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                 region_name="us-east-1").create_bucket(Bucket=BUCKET)
    return endpoint, server


def measure(spec: dict, frames: int, repeat: int, folder: Path) -> dict:
    """Insert the stack into a ``<npy@>`` table on this store and time frames of it."""
    with dj.config.override({"stores": {"default": "main", "main": spec},
                             "database.path": str(folder / f"bench-{uuid.uuid4().hex}.db")}):
        schema = dj.Schema(f"bench_{uuid.uuid4().hex[:8]}")

        @schema
        class Movie(dj.Manual):
            definition = """
            m: int32
            ---
            stack: <npy@>
            """

        stack = _stack(frames)
        Movie.insert1({"m": 1, "stack": stack})
        del stack
        ref = (Movie & {"m": 1}).fetch1("stack")
        store = storage.get_store()

        recorded = ref._offset_hint  # the data offset the row records (dj_jupyter wrote it)

        def fresh(offset: int | None = recorded) -> NpyRef:  # has not read the header yet
            metadata = {"path": ref.path, "store": ref.store, "dtype": "<f4",
                        "shape": [frames, SIDE, SIDE]}
            return NpyRef(metadata if offset is None else {**metadata, DATA_OFFSET: offset})

        results = {"frames": frames, "gib": frames * FRAME_BYTES / 2**30}
        results["first"] = _best(lambda: frame_payload(as_source(fresh()), [1, 2],
                                                       [0, 0, 0]), repeat)
        # a value without the offset (written before it was recorded, or by DataJoint)
        results["first_legacy"] = _best(lambda: frame_payload(as_source(fresh(None)), [1, 2],
                                                              [0, 0, 0]), repeat)
        for name, offset in [("first_count", recorded), ("legacy_count", None)]:
            unread = fresh(offset)
            with bytes_read(store) as count:
                frame_payload(as_source(unread), [1, 2], [0, 0, 0])
            results[name] = count
        source = as_source(ref)
        frame_payload(source, [1, 2], [0, 0, 0])
        moves = iter(range(1, 10**6))
        results["slider"] = _best(lambda: frame_payload(
            source, [1, 2], [next(moves) % frames, 0, 0]), repeat)
        results["full"] = _best(lambda: ref[frames // 2], repeat)
        with bytes_read(store) as count:
            frame_payload(source, [1, 2], [frames - 1, 0, 0])
        results["bytes_payload"] = count.bytes
        results["slider_count"] = count
        with bytes_read(store) as count:
            ref[frames - 2]
        results["bytes_full"] = count.bytes
        offset, _ = ref._header()
        local = store.local_path(ref.path)
        if local is not None:
            results["base_first"] = _best(lambda: frame_payload(
                as_source(np.load(local, mmap_mode="r")), [1, 2], [0, 0, 0]), repeat)
            results["base_slice"] = _best(lambda: np.ascontiguousarray(
                np.load(local, mmap_mode="r")[0, ::4, ::4]), repeat)
            results["base_full"] = _best(lambda: np.array(
                np.load(local, mmap_mode="r")[frames // 2]), repeat)
        else:
            full = store.full_path(ref.path)
            start = offset + (frames // 2) * FRAME_BYTES
            results["base_full"] = _best(lambda: np.frombuffer(store.fs.cat_file(
                full, start=start, end=start + FRAME_BYTES), np.float32), repeat)
            results["base_first"] = results["base_full"]
        return results  # the database and the local objects go with the temporary folder


ZARR_CHUNKS = (1, 1024, 1024)  # a quarter frame per chunk: a frame is 4 whole chunks


def measure_zarr(spec: dict, frames: int, repeat: int, folder: Path) -> dict:
    """The same stack as a ``<zarr@>`` value (chunks of ZARR_CHUNKS, zarr's default
    compression): time a frame's payload and count the bytes the store serves for it."""
    import xarray as xr

    with dj.config.override({"stores": {"default": "main", "main": spec},
                             "database.path": str(folder / f"bench-{uuid.uuid4().hex}.db")}):
        schema = dj.Schema(f"bench_{uuid.uuid4().hex[:8]}")

        @schema
        class Field(dj.Manual):
            definition = """
            f: int32
            ---
            stack: <zarr@>
            """

        # noise: compression cannot hide what chunk rounding costs
        noise = np.random.default_rng(0).random((frames, SIDE, SIDE), dtype=np.float32)
        value = xr.DataArray(noise, dims=("time", "y", "x"))
        del noise
        value.encoding["chunks"] = ZARR_CHUNKS
        Field.insert1({"f": 1, "stack": value})
        del value
        store = storage.get_store()
        results = {"frames": frames, "gib": frames * FRAME_BYTES / 2**30}

        def first(at: int) -> None:  # nothing kept: the store's metadata is read again
            forget_opened()
            frame_payload(as_source((Field & {"f": 1}).fetch1("stack")), [1, 2], [at, 0, 0])

        results["first"] = _best(lambda: first(0), repeat)
        results["again"] = _best(lambda: frame_payload(  # fetched again: metadata kept
            as_source((Field & {"f": 1}).fetch1("stack")), [1, 2], [1, 0, 0]), repeat)
        source = as_source((Field & {"f": 1}).fetch1("stack"))
        frame_payload(source, [1, 2], [0, 0, 0])
        moves = iter(range(1, 10**6))
        results["slider"] = _best(lambda: frame_payload(
            source, [1, 2], [next(moves) % frames, 0, 0]), repeat)
        # baseline: the same payload through xarray's own opening of the store's fsspec
        # mapping (what a user writes: xr.open_dataarray(mapper, engine="zarr"))
        folder = next(item.path for item in store.list() if ".zarr/" in item.path)
        mapper = store.fsmap(folder.split(".zarr/")[0] + ".zarr")

        def plain() -> ArraySource:
            return as_source(xr.open_dataarray(mapper, engine="zarr", chunks=None,
                                               consolidated=False))

        results["base_first"] = _best(lambda: frame_payload(plain(), [1, 2], [0, 0, 0]),
                                      repeat)
        opened = plain()
        moves = iter(range(1, 10**6))
        results["base_slider"] = _best(lambda: frame_payload(
            opened, [1, 2], [next(moves) % frames, 0, 0]), repeat)
        with bytes_read(store) as count:
            first(frames - 2)
        results["first_count"] = count
        with bytes_read(store) as count:
            frame_payload(source, [1, 2], [frames - 1, 0, 0])
        results["bytes_payload"] = count.bytes
        results["slider_count"] = count
        return results


def _requests(count: object) -> str:
    calls = getattr(count, "calls", None)
    if not calls:
        return ""
    return "; requests: " + ", ".join(f"{n} {op}" for op, n in sorted(calls.items()))


def report_zarr(name: str, r: dict) -> str:
    first, slider = r["first_count"], r["slider_count"]
    return "\n".join([
        f"{name} <zarr@>: ({r['frames']}, {SIDE}, {SIDE}) float32 = {r['gib']:.2f} GiB, "
        f"chunks {ZARR_CHUNKS}",
        f"  first frame payload (fetch + open + read) {_ms(r['first'])}   baseline "
        f"{_ms(r['base_first'])}   ratio {r['base_first'][0] / r['first'][0]:.2f}",
        f"  fetched again (metadata kept) + frame     {_ms(r['again'])}",
        f"  slider, next frame   {_ms(r['slider'])}   baseline {_ms(r['base_slider'])}   "
        f"ratio {r['base_slider'][0] / r['slider'][0]:.2f}",
        f"  bytes read: first frame {first.bytes / FRAME_BYTES:.3f} × frame "
        f"({first.bytes:,} B{_requests(first)})",
        f"  bytes read: slider frame {slider.bytes / FRAME_BYTES:.3f} × frame "
        f"({slider.bytes:,} B{_requests(slider)})",
    ])


def report(name: str, r: dict) -> str:
    return "\n".join([
        f"{name}: ({r['frames']}, {SIDE}, {SIDE}) float32 = {r['gib']:.2f} GiB, "
        f"frame {FRAME_BYTES / 2**20:.0f} MiB",
        f"  first frame payload  {_ms(r['first'])}   baseline {_ms(r['base_first'])}   "
        f"ratio {r['base_first'][0] / r['first'][0]:.2f}",
        f"  first frame, value without the data offset (header first) "
        f"{_ms(r['first_legacy'])}",
        f"  slider, next frame   {_ms(r['slider'])}",
        *([f"  (the mmap slice alone, without the payload's colour range: "
           f"{_ms(r['base_slice'])})"] if "base_slice" in r else []),
        f"  full-res frame ref[t] {_ms(r['full'])}   baseline {_ms(r['base_full'])}   "
        f"ratio {r['base_full'][0] / r['full'][0]:.2f}",
        f"  bytes read: payload {r['bytes_payload'] / FRAME_BYTES:.3f} × frame, "
        f"full frame {r['bytes_full'] / FRAME_BYTES:.3f} × frame",
        *(f"  {label}: {r[key].bytes / FRAME_BYTES:.3f} × frame ({r[key].bytes:,} B"
          f"{_requests(r[key])})" for label, key in [
              ("first frame", "first_count"),
              ("first frame without the data offset", "legacy_count"),
              ("slider frame", "slider_count")]),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=1.0, help="local stack size (1 GiB)")
    parser.add_argument("--s3-gib", type=float, default=0.25, help="S3 stack size (0.25 GiB)")
    parser.add_argument("--zarr-gib", type=float, default=0.25,
                        help="<zarr@> stack size, local and S3 (0.25 GiB; 0 skips)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"start: {_load()} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frames = max(2, round(args.gib * 2**30 / FRAME_BYTES))
        local = measure({"protocol": "file", "location": str(folder / "objects")}, frames,
                        args.repeat, folder)
        print(report("local folder", local), flush=True)
        zarr_frames = max(2, round(args.zarr_gib * 2**30 / FRAME_BYTES))
        if args.zarr_gib > 0:
            zarr_local = measure_zarr({"protocol": "file", "location": str(folder / "zarr")},
                                      zarr_frames, args.repeat, folder)
            print(report_zarr("local folder", zarr_local), flush=True)
        if args.s3_gib > 0:
            endpoint, server = _moto()
            try:
                spec = {"protocol": "s3", "endpoint": endpoint, "bucket": BUCKET,
                        "location": "bench", "access_key": KEY, "secret_key": SECRET}
                s3_frames = max(2, round(args.s3_gib * 2**30 / FRAME_BYTES))
                print(report("moto S3", measure(spec, s3_frames, args.repeat, folder)),
                      flush=True)
                if args.zarr_gib > 0:
                    zarr_s3 = measure_zarr({**spec, "location": "bench-zarr"}, zarr_frames,
                                           args.repeat, folder)
                    print(report_zarr("moto S3", zarr_s3), flush=True)
            finally:
                server.stop()
    print(f"end: {_load()}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
