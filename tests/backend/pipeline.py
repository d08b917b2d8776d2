"""Small pipelines shared by the backend tests; each function declares its tables in a schema."""

from __future__ import annotations

from types import SimpleNamespace

import dj_jupyter as dj


def lab(schema: dj.Schema) -> SimpleNamespace:
    """Subject -> Session (with part Trial) -> Score (Computed): three levels plus a part."""

    @schema
    class Species(dj.Lookup):
        definition = """
        species: varchar(16)
        """
        contents = [("mouse",), ("rat",)]

    @schema
    class Subject(dj.Manual):
        definition = """
        # experimental subjects
        subject_id: int32
        ---
        -> Species
        name = "anon": varchar(32)   # the name
        weight = null: float64
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session: int16
        ---
        note = "": varchar(64)
        """

        class Trial(dj.Part):
            definition = """
            -> master
            trial: int32
            ---
            outcome: enum('hit', 'miss')
            """

    @schema
    class Score(dj.Computed):
        definition = """
        -> Session
        ---
        score: float64
        """

    return SimpleNamespace(Species=Species, Subject=Subject, Session=Session, Score=Score)


def fill_lab(p: SimpleNamespace) -> None:
    """Subjects 1..3; sessions 1,2 for subjects 1 and 2; 3 trials per session; a score each."""
    p.Subject.insert([{"subject_id": i, "species": "mouse"} for i in (1, 2, 3)])
    sessions = [{"subject_id": s, "session": n} for s in (1, 2) for n in (1, 2)]
    p.Session.insert(sessions)
    trials = [{**k, "trial": t, "outcome": "hit"} for k in sessions for t in range(3)]
    p.Session.Trial.insert(trials)
    p.Score.insert([{**k, "score": 1.0} for k in sessions], allow_direct_insert=True)
