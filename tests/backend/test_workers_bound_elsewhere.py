"""``populate(processes=N)`` for classes of an importable module that a schema made elsewhere
binds at run time: the workers bind them as the parent did, and never declare anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import dj_jupyter as dj
from dj_jupyter.populate.workers import binding_source, bound_elsewhere, worker_target
from tests.backend import unbound_pipeline

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture
def bound(conn, schema_name, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    schema = dj.Schema(schema_name, vars(unbound_pipeline), connection=conn)
    schema(unbound_pipeline.Source)
    schema(unbound_pipeline.Doubled)
    yield unbound_pipeline
    schema.drop(prompt=False)


def test_workers_bind_the_classes_as_the_parent_did(bound):
    bound.Source.insert([{"n": n} for n in range(12)])
    result = bound.Doubled.populate(processes=2)
    assert result == {"success_count": 12, "error_list": []}
    rows = bound.Doubled.to_dicts()
    assert sorted((r["n"], r["twice"]) for r in rows) == [(n, 2 * n) for n in range(12)]
    assert os.getpid() not in {r["pid"] for r in rows}


def test_the_shipped_module_binds_parents_first_and_declares_nothing(bound, schema_name):
    target, source = worker_target(bound.Doubled)
    assert target.endswith(":Doubled") and source is not None
    assert bound_elsewhere(bound.Doubled) == [(schema_name, "Source"),
                                              (schema_name, "Doubled")]
    assert "create_tables=False" in source
    assert source.index("Source = ") < source.index("Doubled = ")
    assert source == binding_source(bound.__name__, bound_elsewhere(bound.Doubled))


def test_a_module_that_binds_its_own_classes_is_imported_as_it_is():
    from tests.backend import workers_pipeline  # binds at import, from DJ_WORKERS_* variables

    assert bound_elsewhere(workers_pipeline.Work) == []
    assert worker_target(workers_pipeline.Work) == ("tests.backend.workers_pipeline:Work", None)


def test_processes_without_reserve_jobs_make_what_direct_populate_makes(bound):
    bound.Source.insert([{"n": n} for n in range(6)])
    jobs = bound.Doubled.jobs
    jobs.refresh()
    assert jobs.reserve({"n": 0})
    jobs.error({"n": 0}, "failed earlier")
    jobs.ignore({"n": 1})
    reserved = bound.Doubled.populate(processes=2, reserve_jobs=True)
    assert reserved["success_count"] == 4  # a reserving worker leaves failed and ignored keys
    (bound.Doubled & "n >= 2").delete()
    direct = bound.Doubled.populate(processes=2)  # as populate() would: every key to make
    assert direct == {"success_count": 6, "error_list": []}
    assert len(bound.Doubled) == 6 and len(jobs) == 0
