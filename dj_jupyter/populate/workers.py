"""Populate workers in other processes: ``populate(processes=N)``, ``executor=``, the CLI.

Every worker runs the same loop as ``populate(reserve_jobs=True)`` against the
shared job queue, so work is split by atomic reservation, a worker that dies
loses nothing, and workers started here, by an executor (e.g. a Dask cluster)
or by ``dj-jupyter populate`` on other machines cooperate. Workers start fresh
interpreters (``spawn``) and import the table class by its module path.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import importlib
import multiprocessing
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..backends import connection as connections
from ..catalog.events import PopulateEvent, publish
from ..errors import DataJointError

AUTO_POPULATED = ("Imported", "Computed")  # the tiers a worker can populate

__all__ = ["WorkerSpec", "run_worker", "populate_in_workers", "class_address", "load_class"]


@dataclass(frozen=True)
class WorkerSpec:
    target: str  # "package.module:Class" or "package.module:Master.Part"
    url: str  # SQLAlchemy URL of the shared database, password included (never printed)
    restrictions: tuple = ()
    max_calls: int | None = None
    suppress_errors: bool = False
    make_kwargs: dict | None = None
    priority: int | None = None
    worker: int = 0  # the worker's number: keeps the specs distinct (Dask merges equal tasks)

    def __repr__(self) -> str:
        return f"WorkerSpec({self.target!r}, worker={self.worker})"


def class_address(cls: type) -> str:
    module = cls.__module__
    if module == "__main__" or "<locals>" in cls.__qualname__:
        raise DataJointError(
            f"{cls.__name__} is defined in a notebook or script (module {module!r}), so worker "
            "processes cannot import it. Define the pipeline in a module (a .py file) and import "
            "it, then populate(processes=N); or run workers with `dj-jupyter populate "
            "module:Class --reserve-jobs`.")
    return f"{module}:{cls.__qualname__}"


def load_class(address: str) -> type:
    """The table class at ``package.module:ClassName`` (DataJointError if there is none)."""
    module_name, _, qualname = address.partition(":")
    if not module_name or not qualname:
        raise DataJointError(f"{address!r}: write the table as package.module:ClassName")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise DataJointError(f"{address!r}: cannot import {module_name!r} ({error}); check the "
                             "module path and that it is importable here (sys.path, "
                             "PYTHONPATH)") from None
    for part in qualname.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise DataJointError(f"{address!r}: module {module_name!r} has no "
                                 f"{qualname!r}") from None
    if not (isinstance(target, type) and getattr(target, "_tier", None) in AUTO_POPULATED):
        raise DataJointError(f"{address!r} is not an auto-populated table class "
                             "(dj.Computed or dj.Imported)")
    return target


def run_worker(spec: WorkerSpec) -> dict:
    """One worker: connect, import the table, work through its job queue."""
    connections.set_default(connections.Connection(spec.url))
    table = load_class(spec.target)()
    result = table.populate(*spec.restrictions, reserve_jobs=True, refresh=False,
                            max_calls=spec.max_calls, suppress_errors=spec.suppress_errors,
                            make_kwargs=spec.make_kwargs, priority=spec.priority)
    return {"success_count": result["success_count"],
            "error_list": [(key, str(error)) for key, error in result["error_list"]]}


def _worker_count(executor: Any) -> int:
    """How many workers to submit: the executor's size (a Dask client's threads), else 2."""
    client = getattr(executor, "_client", None)
    if client is not None and hasattr(client, "nthreads"):
        with contextlib.suppress(Exception):
            return max(1, sum(client.nthreads().values()))
    return getattr(executor, "_max_workers", None) or 2


def populate_in_workers(table, restrictions: tuple, *, processes: int, executor: Any,
                        max_calls: int | None, suppress_errors: bool, make_kwargs: dict | None,
                        priority: int | None, observers: Iterable) -> dict:
    spec = WorkerSpec(class_address(type(table)),
                      table.connection.url.render_as_string(hide_password=False),
                      tuple(restrictions), None, suppress_errors, make_kwargs, priority)
    jobs = table.jobs
    jobs.refresh(*restrictions, priority=priority)
    count = processes if processes > 1 else _worker_count(executor)
    if max_calls is not None:
        spec = dataclasses.replace(spec, max_calls=-(-max_calls // count))
    own = executor is None
    if own:
        executor = concurrent.futures.ProcessPoolExecutor(
            count, mp_context=multiprocessing.get_context("spawn"))
    observers = tuple(observers)
    before = len(table._todo(restrictions))  # success records are removed: count rows
    started = time.perf_counter()
    publish(PopulateEvent("started", table.full_name, total=len(table._todo(restrictions))),
            observers)
    try:
        # distinct arguments per worker: Dask's executor treats equal calls as one task
        futures = [executor.submit(run_worker, dataclasses.replace(spec, worker=i))
                   for i in range(count)]
        while not all(f.done() for f in futures):
            concurrent.futures.wait(futures, timeout=0.5)
            done = before - len(table._todo(restrictions))
            publish(PopulateEvent("key_done", table.full_name, done=done,
                                  elapsed=time.perf_counter() - started), observers)
        results = [f.result() for f in futures]
    finally:
        if own:
            executor.shutdown()
    merged = {"success_count": sum(r["success_count"] for r in results),
              "error_list": [e for r in results for e in r["error_list"]]}
    publish(PopulateEvent("finished", table.full_name, done=merged["success_count"],
                          failed=len(merged["error_list"]),
                          elapsed=time.perf_counter() - started), observers)
    if merged["error_list"] and not suppress_errors:
        key, message = merged["error_list"][0]
        raise DataJointError(f"populate failed for key {key}: {message}")
    return merged
