"""Populate workers in other processes: ``populate(processes=N)``, ``executor=``, the CLI.

Every worker runs the same loop as ``populate(reserve_jobs=True)`` against the
shared job queue, so work is split by atomic reservation, a worker that dies
loses nothing, and workers started here, by an executor (e.g. a Dask cluster)
or by ``dj-jupyter populate`` on other machines cooperate. Workers start fresh
interpreters (``spawn``) and import the table class by its module path.

A pipeline declared in a notebook (its classes live in ``__main__``) is shipped by value:
its source, as :mod:`.export` writes it, travels in the :class:`WorkerSpec` and each worker
runs it as a module before importing the class — so ``processes=N`` and a Dask cluster work
from cells, and ``dj.export_module`` writes the same source to a file for the CLI.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import hashlib
import importlib
import importlib.util
import multiprocessing
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backends import connection as connections
from ..catalog.catalog import catalog_of
from ..catalog.events import PopulateEvent, publish
from ..errors import DataJointError
from ..tables.table import Table
from .export import (
    defined_in_notebook,
    install_module,
    module_source,
    namespace_of,
    notebook_module_name,
)

AUTO_POPULATED = ("Imported", "Computed")  # the tiers a worker can populate

__all__ = ["WorkerSpec", "run_worker", "populate_in_workers", "class_address", "load_class",
           "worker_target", "bound_elsewhere", "binding_source"]


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
    module_source: str | None = None  # a notebook pipeline's source: run as module ``target``

    def __repr__(self) -> str:
        return f"WorkerSpec({self.target!r}, worker={self.worker})"


def class_address(cls: type) -> str:
    """``module:Class`` of a class workers import (a module's, or a notebook's exported)."""
    module = cls.__module__
    if "<locals>" in cls.__qualname__:
        raise DataJointError(
            f"{cls.__name__} is defined inside a function, so worker processes cannot import "
            "it. Define the table classes at the top level of a notebook cell or a module, "
            "then populate(processes=N); or run workers with `dj-jupyter populate "
            "module:Class --reserve-jobs`.")
    return f"{module}:{cls.__qualname__}"


def worker_target(cls: Any) -> tuple[str, str | None]:
    """(``module:Class`` for workers, the module's source if it must be shipped): a class of
    a notebook goes with the source of its schema's module (see :mod:`.export`); a class of a
    module that a schema made elsewhere binds at run time goes with a module that imports it
    and binds its classes as this process did (:func:`binding_source`)."""
    address = class_address(cls)
    if defined_in_notebook(cls):
        source = module_source(cls._schema, namespace_of(cls))
        return f"{notebook_module_name(cls._schema, source)}:{cls.__qualname__}", source
    bound = bound_elsewhere(cls)
    if not bound:
        return address, None
    source = binding_source(cls.__module__, bound)
    digest = hashlib.sha1(source.encode()).hexdigest()[:12]
    return f"dj_bound_{digest}:{cls.__qualname__}", source


def bound_elsewhere(cls: Any) -> list[tuple[str, str]]:
    """(schema name, class name) of the table classes of ``cls``'s module that this process
    bound to a schema the module does not hold (``schema(Module.Table)`` called from
    elsewhere, e.g. a test fixture): importing the module alone would leave them unbound.
    Parents first; empty when the module binds its classes itself."""
    module = sys.modules.get(cls.__module__)
    if module is None:
        return []
    held = {id(value) for value in vars(module).values()}
    found = [value for value in vars(module).values()
             if isinstance(value, type) and issubclass(value, Table)
             and value.__module__ == module.__name__ and value.__qualname__ == value.__name__
             and getattr(value, "_schema", None) is not None
             and value._schema.database is not None and id(value._schema) not in held]
    if not any(value is cls for value in found):
        return []
    found = [value for value in found if value().is_declared]  # a worker never declares
    order = {name: i for i, name in
             enumerate(catalog_of(cls._schema.connection).dependencies.names)}
    found.sort(key=lambda value: order.get(str(value.full_name), len(order)))
    return [(value._schema.database, value.__name__) for value in found]


def binding_source(module_name: str, bound: list[tuple[str, str]]) -> str:
    """A module that imports ``module_name`` and binds its classes to their schemas, in
    order (their tables exist: nothing is declared), then exposes them by name."""
    schemas = {database: f"_schema{i}" for i, database in enumerate(dict.fromkeys(
        database for database, _ in bound))}
    lines = [f'"""{module_name}\'s table classes, bound as the process that started this '
             'worker bound them."""', "import importlib", "", "import dj_jupyter as dj", "",
             f"_module = importlib.import_module({module_name!r})"]
    lines += [f"{variable} = dj.Schema({database!r}, vars(_module), create_tables=False)"
              for database, variable in schemas.items()]
    for database, name in bound:
        lines += [f"{name} = {schemas[database]}(_module.{name})"]
    return "\n".join(lines) + "\n"


def load_class(address: str) -> type:
    """The table class at ``package.module:ClassName`` or ``path/file.py:ClassName``
    (DataJointError if there is none)."""
    module_name, _, qualname = address.rpartition(":")
    if not module_name or not qualname:
        raise DataJointError(f"{address!r}: write the table as package.module:ClassName "
                             "(or file.py:ClassName)")
    try:
        target: Any = _import_file(module_name) if module_name.endswith(".py") \
            else importlib.import_module(module_name)
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


def _import_file(path: str) -> Any:
    """The module in file ``path`` (an exported notebook pipeline), imported once."""
    file = Path(path).resolve()
    if not file.is_file():
        raise ImportError(f"no file {file}")
    name = file.stem
    known = sys.modules.get(name)
    if known is not None and getattr(known, "__file__", None) == str(file):
        return known
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"{file} cannot be imported as a module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def run_worker(spec: WorkerSpec) -> dict:
    """One worker: connect, import the table (running a notebook's shipped module first),
    work through its job queue."""
    connections.set_default(connections.Connection(spec.url))
    if spec.module_source is not None:
        install_module(spec.target.partition(":")[0], spec.module_source)
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
                        priority: int | None, observers: Iterable,
                        reserve_jobs: bool = True) -> dict:
    """Run worker processes (or the executor's) on the job queue. Without ``reserve_jobs``
    the keys are those direct populate would make: failed and ignored keys still to make are
    queued again (with it, they wait, as a reserving worker leaves them)."""
    target, source = worker_target(type(table))
    spec = WorkerSpec(target, table.connection.url.render_as_string(hide_password=False),
                      tuple(restrictions), None, suppress_errors, make_kwargs, priority,
                      module_source=source)
    jobs = table.jobs
    jobs.refresh(*restrictions, priority=priority)
    if not reserve_jobs:
        jobs.requeue(table._todo(restrictions), ("error", "ignore"))
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
