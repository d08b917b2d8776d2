"""A small pipeline for the diagram tests: every tier, a part, renamed and secondary FKs.

    Subject ── Session ══ Scan ══ Stats{Unit}       Kind ┄┄ Session (secondary)
       └──(renamed twice)── Pair                    Experimenter (alone)
"""

from __future__ import annotations

import dj_jupyter as dj


def declare(schema: dj.Schema) -> dict[str, type]:
    @schema
    class Subject(dj.Manual):
        definition = """
        subject: int32
        ---
        name = "": varchar(20)
        """

    @schema
    class Kind(dj.Lookup):
        definition = """
        kind: varchar(8)
        """

    @schema
    class Experimenter(dj.Lookup):
        definition = """
        experimenter: varchar(16)
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session: int16
        ---
        -> [nullable] Kind
        """

    @schema
    class Pair(dj.Manual):
        definition = """
        -> Subject.proj(mother='subject')
        -> Subject.proj(child='subject')
        """

    @schema
    class Scan(dj.Imported):
        definition = """
        -> Session
        ---
        frames: int32
        """

        def make(self, key):  # pragma: no cover - never populated here
            pass

    @schema
    class Stats(dj.Computed):
        definition = """
        -> Scan
        ---
        mean: float64
        """

        class Unit(dj.Part):
            definition = """
            -> master
            unit: int16
            """

        def make(self, key):  # pragma: no cover - never populated here
            pass

    return {"Subject": Subject, "Kind": Kind, "Experimenter": Experimenter,
            "Session": Session, "Pair": Pair, "Scan": Scan, "Stats": Stats}
