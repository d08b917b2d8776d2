"""DataJoint 2.x job semantics: tables with key attributes of their own, job records and their
settings, the hidden job metadata, the job table as a table, ``upstream`` and ``processes``."""

from __future__ import annotations

import datetime as dt
import os

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.definition.model import TypeSpec
from dj_jupyter.errors import DataJointError, DefinitionError
from dj_jupyter.objects.codecs import storage_spec
from dj_jupyter.populate.provenance import job_version


def declare_neurons(schema: dj.Schema) -> dict:
    """Session (manual) -> Neuron (imported, adds ``neuron_id`` to its key): one make per
    session inserts ``Session.count`` rows; ``Neuron.fail`` holds the sessions that fail
    after inserting some of them."""

    @schema
    class Session(dj.Manual):
        definition = """
        session: int32
        ---
        count: int16
        """

    @schema
    class Neuron(dj.Imported):
        definition = """
        -> Session
        neuron_id: int16
        ---
        rate: float64
        """
        fail: set = set()
        calls: list = []

        def make(self, key):
            self.calls.append(key["session"])
            count = (Session & key).fetch1("count")
            for i in range(count):
                self.insert1({**key, "neuron_id": i, "rate": i / 2})
                if key["session"] in self.fail and i == count // 2:
                    raise ValueError(f"bad neuron {i} in session {key['session']}")

    Neuron.fail, Neuron.calls = set(), []
    return {"Session": Session, "Neuron": Neuron}


@pytest.fixture
def n(schema):
    tables = declare_neurons(schema)
    tables["Session"].insert([{"session": s, "count": s % 3 + 2} for s in range(5)])
    return type("Neurons", (), tables)


def rows_per_session(table) -> dict[int, int]:
    sessions = table.to_arrays("session").tolist()
    return {s: sessions.count(s) for s in sorted(set(sessions))}


# --- tables that add key attributes of their own --------------------------------------------


def test_own_key_attributes_are_accepted_and_populate_makes_several_rows_per_key(n):
    assert n.Neuron.heading.primary_key == ["session", "neuron_id"]
    assert n.Neuron.progress() == (5, 5)
    assert n.Neuron.populate() == {"success_count": 5, "error_list": []}
    assert rows_per_session(n.Neuron) == {s: s % 3 + 2 for s in range(5)}
    assert n.Neuron.progress() == (0, 5)
    assert n.Neuron.populate()["success_count"] == 0  # done: any row of the session counts
    assert sorted(n.Neuron.calls) == list(range(5))


def test_own_key_attributes_failure_rolls_back_every_row_of_the_key(n):
    n.Neuron.fail = {1, 3}
    result = n.Neuron.populate(suppress_errors=True)
    assert result["success_count"] == 3
    assert sorted(k["session"] for k, _ in result["error_list"]) == [1, 3]
    assert sorted(rows_per_session(n.Neuron)) == [0, 2, 4]  # nothing half-made of 1 and 3
    assert n.Neuron.progress() == (2, 5)
    errors = n.Neuron.jobs.errors
    assert sorted(errors.to_arrays("session").tolist()) == [1, 3]
    assert [g.count for g in errors.groups()] == [2]  # grouped triage still works


def test_own_key_attributes_with_reserved_jobs_key_the_queue_by_the_parent(n):
    jobs = n.Neuron.jobs
    assert jobs.key == ["session"] and jobs.primary_key == ["session"]
    n.Neuron.fail = {2}
    result = n.Neuron.populate(reserve_jobs=True, suppress_errors=True)
    assert result["success_count"] == 4 and len(result["error_list"]) == 1
    assert jobs.progress() == {"pending": 0, "reserved": 0, "success": 0, "error": 1,
                               "ignore": 0, "total": 1}
    n.Neuron.fail = set()
    (jobs & {"session": 2}).delete_quick()
    assert n.Neuron.populate(reserve_jobs=True)["success_count"] == 1
    assert rows_per_session(n.Neuron)[2] == 4 and len(jobs) == 0


def test_strict_setting_refuses_own_key_attributes(schema):
    with dj.config.override({"jobs.allow_new_pk_fields_in_computed_tables": False}), \
            pytest.raises(DefinitionError, match="allow_new_pk_fields_in_computed_tables"):
        declare_neurons(schema)
    assert "neuron" not in [t.lstrip("_") for t in schema.list_tables()]


# --- job records ---------------------------------------------------------------------------


def test_direct_populate_writes_no_record_for_a_made_key(n):
    n.Neuron.populate()
    assert len(n.Neuron.jobs) == 0 and n.Neuron.jobs.to_dicts() == []


def test_direct_populate_records_a_failure_and_removes_it_when_the_key_is_made(n):
    n.Neuron.fail = {4}
    n.Neuron.populate(suppress_errors=True)
    assert [(r["session"], r["status"]) for r in n.Neuron.jobs.to_dicts()] == [(4, "error")]
    n.Neuron.fail = set()
    assert n.Neuron.populate()["success_count"] == 1
    assert len(n.Neuron.jobs) == 0


def test_keep_completed_keeps_success_records_with_their_provenance(n):
    with dj.config.override({"jobs.keep_completed": True}):
        n.Neuron.populate({"session": 0})
        n.Neuron.populate(reserve_jobs=True)
        rows = n.Neuron.jobs.to_dicts(order_by="session")
    assert [r["session"] for r in rows] == list(range(5))
    assert {r["status"] for r in rows} == {"success"}
    assert all(r["duration"] > 0 and r["completed_time"] for r in rows)
    assert {r["version"] for r in rows} == {job_version(n.Neuron)}


def test_jobs_complete_removes_the_record_unless_keep_completed(n):
    jobs = n.Neuron.jobs
    jobs.refresh()
    assert jobs.reserve({"session": 0}) and not jobs.reserve({"session": 0})
    jobs.complete({"session": 0})
    assert not jobs & {"session": 0}
    with dj.config.override({"jobs.keep_completed": True}):
        assert jobs.reserve({"session": 1})
        jobs.complete({"session": 1}, duration=1.5)
    assert (jobs & {"session": 1}).fetch1("status", "duration") == ("success", 1.5)


def test_jobs_error_truncates_long_messages_as_datajoint(n):
    jobs = n.Neuron.jobs
    jobs.refresh()
    jobs.reserve({"session": 0})
    jobs.error({"session": 0}, "x" * 3000, "stack " * 20000)
    message, stack = (jobs.errors & {"session": 0}).fetch1("error_message", "error_stack")
    assert len(message) == 2047 and message.endswith("...truncated")
    assert stack == "stack " * 20000
    assert not jobs.reserve({"session": 0})  # a failed job waits until its record goes


def test_refresh_skips_keys_already_made(n):
    n.Neuron.populate({"session": 0})
    assert n.Neuron.jobs.refresh()["added"] == 4
    assert sorted(n.Neuron.jobs.pending.to_arrays("session").tolist()) == [1, 2, 3, 4]


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(failing=st.sets(st.integers(0, 4)), reserve=st.booleans(), keep=st.booleans())
def test_progress_counts_for_any_failure_pattern(n, failing, reserve, keep):
    """(remaining, total) and the job counts agree with what was made, whatever fails."""
    n.Neuron.delete_quick()
    n.Neuron.jobs.delete_quick()
    n.Neuron.fail = set(failing)
    with dj.config.override({"jobs.keep_completed": keep}):
        result = n.Neuron.populate(reserve_jobs=reserve, suppress_errors=True)
    made = 5 - len(failing)
    assert result["success_count"] == made and len(result["error_list"]) == len(failing)
    remaining, total = n.Neuron.progress()
    assert (remaining, total) == (len(failing), 5)
    assert total - remaining == len(set(n.Neuron.to_arrays("session").tolist()))
    counts = n.Neuron.jobs.progress()
    assert counts["error"] == len(failing)
    assert counts["success"] == (made if keep else 0)
    assert counts["pending"] == counts["reserved"] == 0
    assert counts["total"] == sum(counts[s] for s in ("pending", "reserved", "success",
                                                      "error", "ignore"))


# --- hidden job metadata ---------------------------------------------------------------------


def test_job_metadata_columns_are_hidden_and_filled_per_row(schema, conn, backend):
    with dj.config.override({"jobs.add_job_metadata": True}):
        tables = declare_neurons(schema)
    tables["Session"].insert([{"session": s, "count": 3} for s in range(3)])
    Neuron = tables["Neuron"]
    assert not any(name.startswith("_") for name in Neuron.heading.names)
    before = dt.datetime.now().replace(microsecond=0)
    assert Neuron.populate()["success_count"] == 3
    sa_schema, address = conn.dialect.table_address(Neuron.database, Neuron.table_name)
    inspector = sa.inspect(conn.engine)
    columns = {c["name"]: c for c in inspector.get_columns(address, schema=sa_schema)}
    assert {"_job_start_time", "_job_duration", "_job_version"} <= set(columns)
    assert columns["_job_start_time"]["nullable"] and columns["_job_duration"]["nullable"]
    table = sa.table(address, sa.column("session"), sa.column("_job_start_time"),
                     sa.column("_job_duration"), sa.column("_job_version"), schema=sa_schema)
    rows = conn.fetch_all(sa.select(table.c.session, table.c._job_start_time,
                                    table.c._job_duration, table.c._job_version))
    assert len(rows) == 9  # every row of every key
    version = job_version(Neuron)
    for _session, started, duration, row_version in rows:
        assert started is not None and duration is not None and duration >= 0
        assert str(started) >= str(before)[:10]
        assert row_version == version


def test_stale_reads_the_hidden_version(schema):
    with dj.config.override({"jobs.add_job_metadata": True}):
        tables = declare_neurons(schema)
    tables["Session"].insert([{"session": s, "count": 2} for s in range(3)])
    Neuron = tables["Neuron"]
    Neuron.populate()
    assert len(Neuron.stale()) == 0

    @schema
    class Neuron2(dj.Imported):
        _table_name = Neuron.table_name
        definition = Neuron.definition

        def make(self, key):  # another version of the computation
            self.insert1({**key, "neuron_id": 0, "rate": 0.0})

    assert sorted(set(Neuron2.stale().to_arrays("session").tolist())) == [0, 1, 2]
    (Neuron2 & {"session": 1}).delete()
    Neuron2.populate()
    assert sorted(set(Neuron2.stale().to_arrays("session").tolist())) == [0, 2]
    assert len(Neuron2.jobs) == 0  # stale() needs no job records


def test_without_metadata_or_kept_records_nothing_is_known_stale(n):
    n.Neuron.populate()
    assert len(n.Neuron.stale()) == 0


# --- the job table as a table ------------------------------------------------------------------


def test_job_table_behaves_as_a_table(n, schema):
    jobs = n.Neuron.jobs
    assert jobs.refresh()["added"] == 5
    assert len(jobs) == 5 and len(jobs & "session < 2") == 2
    assert (jobs & {"session": 3}).to_dicts()[0]["status"] == "pending"
    jobs.update1({"session": 3, "priority": 1})
    assert (jobs & {"session": 3}).fetch1("priority") == 1
    with pytest.raises(DataJointError, match="no attribute"):
        jobs.update1({"session": 3, "colour": "red"})
    definition = jobs.definition
    assert definition.splitlines()[1].startswith("session") and "status" in definition
    assert "error_message" in definition and "---" in definition
    assert (jobs & "session >= 3").delete_quick(get_count=True) == 2
    assert len(jobs) == 3
    assert [q.target.full_name for q in schema.jobs] == [n.Neuron.full_name]
    jobs.delete_quick()
    assert len(jobs) == 0


def test_schema_jobs_lists_only_existing_queues(n, schema):
    Session = n.Session  # noqa: F841 - named in the definition below

    @schema
    class Summary(dj.Computed):
        definition = """
        -> Session
        ---
        total: int32
        """

        def make(self, key):
            self.insert1({**key, "total": 1})

    assert schema.jobs == []  # a queue is made on first use
    Summary.populate()
    assert [q.target.full_name for q in schema.jobs] == [Summary.full_name]
    assert len(n.Neuron.jobs) == 0  # reading the queue makes its table
    names = sorted(q.target.full_name for q in schema.jobs)
    assert names == sorted([Summary.full_name, n.Neuron.full_name])


def test_errors_view_restricts_groups_and_deletes(n):
    n.Neuron.fail = {0, 1}
    n.Neuron.populate(suppress_errors=True)
    errors = n.Neuron.jobs.errors
    assert len(errors) == 2 and len(errors & {"session": 1}) == 1
    assert errors.groups()[0].count == 2
    assert (errors & {"session": 1}).delete_quick(get_count=True) == 1
    assert n.Neuron.jobs.errors.to_arrays("session").tolist() == [0]


# --- processes and upstream ------------------------------------------------------------------


def test_processes_none_means_one_worker_per_core(n, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 1)  # one core: populate runs here
    assert n.Neuron.populate(processes=None)["success_count"] == 5


def declare_lab(schema: dj.Schema) -> dict:
    @schema
    class Person(dj.Manual):
        definition = """
        person: varchar(16)
        """

    @schema
    class Subject(dj.Manual):
        definition = """
        subject: int32
        ---
        -> Person
        """

    @schema
    class Recording(dj.Manual):
        definition = """
        -> Subject
        rec: int16
        ---
        samples: int32
        """

    @schema
    class Stimulus(dj.Lookup):
        definition = """
        stim: varchar(8)
        """
        contents = [{"stim": "flash"}, {"stim": "tone"}]

    @schema
    class Other(dj.Manual):
        definition = """
        other: int32
        """

    @schema
    class Response(dj.Computed):
        definition = """
        -> Recording
        -> Stimulus
        ---
        owner: varchar(16)
        samples: int32
        """
        seen: list = []

        def make(self, key):
            up = self.upstream
            owner = up[Person].fetch1("person")
            samples = up[Recording].fetch1("samples")
            self.seen.append((len(up[Subject]), len(up[Stimulus]), len(up["Recording"])))
            self.insert1({**key, "owner": owner, "samples": samples})

    return {k: v for k, v in locals().items() if isinstance(v, type)}


def test_upstream_gives_make_the_ancestor_rows_of_its_key(schema):
    lab = declare_lab(schema)
    lab["Person"].insert([{"person": "ann"}, {"person": "bob"}])
    lab["Subject"].insert([{"subject": 1, "person": "ann"}, {"subject": 2, "person": "bob"}])
    lab["Recording"].insert([{"subject": s, "rec": r, "samples": v}
                             for s, r, v in [(1, 1, 100), (2, 1, 200), (2, 2, 300)]])
    lab["Other"].insert1({"other": 1})
    Response = lab["Response"]
    Response.seen = []
    assert Response.populate()["success_count"] == 6
    assert Response.seen == [(1, 1, 1)] * 6
    rows = {(r["subject"], r["rec"]): (r["owner"], r["samples"]) for r in Response.to_dicts()}
    assert rows[(1, 1)] == ("ann", 100) and rows[(2, 2)] == ("bob", 300)
    with pytest.raises(DataJointError, match="only available inside make"):
        Response().upstream  # noqa: B018

    def peek(self, key):
        with pytest.raises(DataJointError, match="not in this trace"):
            self.upstream[lab["Other"].full_table_name]  # the string form too
        self.upstream[lab["Other"]]

    Response.make = peek
    (Response & {"subject": 1}).delete()
    with pytest.raises(DataJointError, match="not in this trace"):
        Response.populate()


# --- entry provenance (provenance.capture) ------------------------------------------------------


def read_prov(conn, table) -> list:
    """The hidden ``_prov`` of every row, decoded."""
    sa_schema, address = conn.dialect.table_address(table.database, table.table_name)
    target = sa.table(address, sa.column("_prov"), schema=sa_schema)
    decode = conn.dialect.decoder(storage_spec(TypeSpec("json", (), "json")))
    values = [row[0] for row in conn.fetch_all(sa.select(target.c._prov))]
    return [v if v is None or decode is None else decode(v) for v in values]


def test_provenance_capture_records_where_manual_rows_came_from(schema, conn):
    source = {"system": "PyRat", "endpoint": "https://pyrat.example.org"}
    with dj.config.override({"provenance.capture": True, "provenance.source": source}):
        tables = declare_neurons(schema)
        Session = tables["Session"]
        assert "_prov" not in Session.heading.names
        Session.insert([{"session": s, "count": 2} for s in range(80)])  # the bulk path too
        records = read_prov(conn, Session)
    assert len(records) == 80 and all(r is not None for r in records)
    assert {r["source"]["system"] for r in records} == {"PyRat"}
    assert all(r["time"] and r["agent"]["user"] for r in records)
    assert "context" not in records[0]
    Session.insert1({"session": 100, "count": 1})  # capture off now: nothing recorded
    assert read_prov(conn, Session).count(None) == 1


def test_provenance_of_rows_a_make_inserts_names_the_make(schema, conn):
    with dj.config.override({"provenance.capture": True}):
        tables = declare_neurons(schema)
        Session = tables["Session"]

        @schema
        class Log(dj.Manual):
            definition = """
            entry: int32
            """

        @schema
        class Ingest(dj.Imported):
            definition = """
            -> Session
            ---
            done: bool
            """

            def make(self, key):
                Log.insert1({"entry": key["session"]})  # fan-out: rows without a foreign key
                self.insert1({**key, "done": True})

        Session.insert1({"session": 7, "count": 1})
        Ingest.populate()
        (record,) = read_prov(conn, Log)
    assert record["context"]["table"] == Ingest.full_name
    assert record["context"]["key"] == {"session": 7}
    assert record["version"] == job_version(Ingest)


def test_tables_declared_without_capture_get_no_column(schema, conn):
    tables = declare_neurons(schema)
    sa_schema, address = conn.dialect.table_address(tables["Session"].database,
                                                   tables["Session"].table_name)
    names = {c["name"] for c in sa.inspect(conn.engine).get_columns(address, schema=sa_schema)}
    assert "_prov" not in names
    with dj.config.override({"provenance.capture": True}):
        tables["Session"].insert1({"session": 1, "count": 1})
    assert len(tables["Session"]) == 1


def test_the_legacy_make_tuples_is_the_make_as_in_datajoint(schema):
    """Older pipelines (and DataJoint's own test schemas) name make ``_make_tuples``; it is
    called, and wins over ``make`` where a class has both, as in DataJoint."""

    @schema
    class Number(dj.Lookup):
        definition = "n: int32"
        contents = [(i,) for i in range(4)]

    @schema
    class Square(dj.Computed):
        definition = """
        -> Number
        ---
        square: int64
        """

        def _make_tuples(self, key):
            self.insert1({**key, "square": key["n"] ** 2})

        def make(self, key):  # never called: _make_tuples wins
            raise AssertionError("make was called instead of _make_tuples")

    Square.populate()
    assert sorted(Square.to_arrays("square")) == [0, 1, 4, 9]


def test_error_messages_are_cut_as_datajoint_cuts_them(schema):
    from dj_jupyter.populate.jobs import ERROR_MESSAGE_LENGTH, TRUNCATION_APPENDIX

    @schema
    class Number(dj.Lookup):
        definition = "n: int32"
        contents = [(1,)]

    @schema
    class Loud(dj.Computed):
        definition = """
        -> Number
        """

        def make(self, key):
            raise ValueError("x" * 5000)

    Loud.populate(suppress_errors=True)
    (message,) = Loud.jobs.errors.to_arrays("error_message")
    assert len(message) == ERROR_MESSAGE_LENGTH and message.endswith(TRUNCATION_APPENDIX)
