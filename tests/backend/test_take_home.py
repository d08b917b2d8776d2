"""``dj.take_home``: one subject's part of a pipeline, copied into SQLite with its objects,
opened with the server's connection closed and its store moved away, and worked on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj


def _pipeline(schema: dj.Schema):
    @schema
    class Species(dj.Lookup):
        definition = "species: varchar(20)\n---\nlatin: varchar(40)\n"
        contents = [("mouse", "mus musculus"), ("rat", "rattus norvegicus")]

    @schema
    class Subject(dj.Manual):
        definition = "subject: varchar(8)\n---\n-> Species\n"

    @schema
    class Session(dj.Manual):
        definition = "-> Subject\nsession: int32\n---\nmovie: <npy@>\nnote: <blob>\n"

    @schema
    class Trace(dj.Computed):
        definition = "-> Session\n---\nmean: float64\nraw: <object@>\n"

        class Cell(dj.Part):
            definition = "-> master\ncell: int16\n---\nvalues: <blob@>\n"

        def make(self, key):
            movie = (Session & key).fetch1("movie")
            self.insert1(dict(key, mean=float(np.asarray(movie).mean()),
                              raw=f"{key['subject']}/{key['session']}".encode()))
            self.Cell.insert([dict(key, cell=i, values=np.arange(i + 1) * key["session"])
                              for i in range(2)])

    return Species, Subject, Session, Trace


def _fill(Subject, Session, Trace) -> None:
    Subject.insert([{"subject": "m1", "species": "mouse"}, {"subject": "r1", "species": "rat"}])
    Session.insert([{"subject": s, "session": i, "movie": np.full((2, 3), i, float),
                     "note": {"session": i, "subject": s}}
                    for s in ("m1", "r1") for i in range(3)])
    Trace.populate()


def _readable(rows: list[dict]) -> list[dict]:
    """Rows with stored objects read out (arrays as lists, files as bytes)."""
    out = []
    for row in rows:
        item = {}
        for name, value in row.items():
            if isinstance(value, dj.NpyRef) or isinstance(value, np.ndarray):
                value = np.asarray(value).tolist()
            elif isinstance(value, dj.ObjectRef):
                value = value.read()
            item[name] = value
        out.append(item)
    return out


@pytest.fixture
def server_store(tmp_path: Path):
    spec = {"default": "main", "main": {"protocol": "file",
                                        "location": str(tmp_path / "server_store")}}
    with dj.config.override(stores=spec):
        yield tmp_path / "server_store"


def test_take_one_subject_home(conn, schema, server_store, tmp_path):
    Species, Subject, Session, Trace = _pipeline(schema)
    _fill(Subject, Session, Trace)
    mine = {"subject": "m1"}
    expected = {
        "species": Species.to_dicts(order_by="species")[:1],  # only the one m1 references
        "subject": (Subject & mine).to_dicts(),
        "session": _readable((Session & mine).to_dicts(order_by="session")),
        "trace": _readable((Trace & mine).to_dicts(order_by="session")),
        "cell": _readable((Trace.Cell & mine).to_dicts(order_by=("session", "cell"))),
    }
    server_spec = dict(dj.config["stores"])
    copy = dj.take_home(Session & mine, tmp_path / "home" / "m1.db", downstream=True)
    assert copy.rows == {Trace.Cell.full_name: 6, Trace.full_name: 3, Session.full_name: 3,
                         Subject.full_name: 1, Species.full_name: 1}
    conn.close()
    server_store.rename(tmp_path / "moved_away")  # the copy must not need the server's objects

    home = dj.open_home(tmp_path / "home" / "m1.db")
    try:
        module = dj.virtual_schema(schema.database, connection=home)
        assert module.Species.to_dicts() == expected["species"]
        assert module.Subject.to_dicts() == expected["subject"]
        assert _readable(module.Session.to_dicts(order_by="session")) == expected["session"]
        assert _readable(module.Trace.to_dicts(order_by="session")) == expected["trace"]
        assert _readable(module.Trace.Cell.to_dicts(order_by=("session", "cell"))) == \
            expected["cell"]

        # work at home: the same classes on the copy, and a new computed table below them
        at_home = dj.Schema(schema.database, connection=home)
        _species, _subject, HomeSession, HomeTrace = _pipeline(at_home)

        @at_home
        class Summary(dj.Computed):
            definition = "-> HomeTrace\n---\ncells: int32\n"

            def make(self, key):
                self.insert1(dict(key, cells=len(HomeTrace.Cell & key)))

        Summary.populate()
        assert Summary.to_dicts(order_by="session") == \
            [{"subject": "m1", "session": i, "cells": 2} for i in range(3)]
        # and the trace of a session recorded at home
        HomeSession.insert1({"subject": "m1", "session": 7, "movie": np.ones((2, 2)),
                             "note": "home"})
        HomeTrace.populate()
        Summary.populate()

        # push the new rows back: the server gets them and their objects, nothing else
        (tmp_path / "moved_away").rename(server_store)
        server = dj.Connection(conn.url)
        with dj.config.override(stores=server_spec):
            sent = dj.push_home([HomeSession, HomeTrace, HomeTrace.Cell, Summary],
                                tmp_path / "home" / "m1.db", server)
            assert sent == {Session.full_name: 1, Trace.full_name: 1, Trace.Cell.full_name: 2,
                            Summary.full_name: 4}
            back = dj.virtual_schema(schema.database, connection=server)
            new = {"subject": "m1", "session": 7}
            assert _readable((back.Trace & new).to_dicts()) == \
                [{"subject": "m1", "session": 7, "mean": 1.0, "raw": b"m1/7"}]
            assert _readable((back.Trace.Cell & new).to_dicts(order_by="cell"))[1]["values"] == \
                [0, 7]
            assert len(back.Summary()) == 4 and len(back.Session()) == 7
        server.close()
    finally:
        home.close()


def test_take_home_refuses_an_existing_file(conn, schema, server_store, tmp_path):
    Species, Subject, Session, Trace = _pipeline(schema)
    target = tmp_path / "taken.db"
    target.write_bytes(b"")
    with pytest.raises(dj.DataJointError, match="exists already"):
        dj.take_home(Subject, target)
    with pytest.raises(dj.DataJointError, match="tables or restrictions"):
        dj.take_home("Subject", tmp_path / "other.db")


def test_any_choice_of_subjects_comes_home_whole(conn, schema, server_store, tmp_path):
    """For any set of subjects: the copy holds exactly their sessions, every trace and cell
    computed from them, and exactly the subjects and species those rows reference."""
    Species, Subject, Session, Trace = _pipeline(schema)
    Subject.insert([{"subject": f"s{i}", "species": ("mouse", "rat")[i % 2]} for i in range(5)])
    Session.insert([{"subject": f"s{i}", "session": j, "movie": np.zeros(2), "note": j}
                    for i in range(4) for j in range(i % 3)])  # s0, s3: none; s4: none
    Trace.populate()
    copies = iter(range(1000))

    @settings(max_examples=8, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.sets(st.sampled_from([f"s{i}" for i in range(5)])))
    def check(chosen):
        restriction = [{"subject": s} for s in sorted(chosen)]
        path = tmp_path / f"copy{next(copies)}.db"
        copy = dj.take_home(Session & restriction, path, downstream=True)
        sessions = Session & restriction
        subjects = Subject & sessions.proj()
        expected = {Session.full_name: len(sessions), Subject.full_name: len(subjects),
                    Species.full_name: len(Species & subjects.proj("species")),
                    Trace.full_name: len(Trace & restriction),
                    Trace.Cell.full_name: len(Trace.Cell & restriction)}
        assert {n: copy.rows.get(n, 0) for n in expected} == expected

    check()
