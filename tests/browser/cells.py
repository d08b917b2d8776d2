"""Notebook cells the browser tests share: a five-table pipeline and what it should draw.

    Stimulus ┄┄┐
    Subject ── Session ── Recording ══ Analysis      (Recording imported, Analysis computed)
"""

from __future__ import annotations

SCHEMA = "pipe"

PIPELINE = f'''schema = dj.Schema({SCHEMA!r})


@schema
class Subject(dj.Manual):
    definition = """
    subject_id: int32
    ---
    name = "": varchar(32)
    """


@schema
class Stimulus(dj.Lookup):
    definition = """
    stimulus: varchar(16)
    """
    contents = [("grating",), ("noise",)]


@schema
class Session(dj.Manual):
    definition = """
    -> Subject
    session: int16
    ---
    -> Stimulus
    """


@schema
class Recording(dj.Imported):
    definition = """
    -> Session
    ---
    frames: int32
    """

    def make(self, key):
        self.insert1({{**key, "frames": 100}})


@schema
class Analysis(dj.Computed):
    definition = """
    -> Recording
    ---
    score: float64
    """

    def make(self, key):
        self.insert1({{**key, "score": 0.5}})
'''

# ``count`` subjects named s000, s001, ... (more than one page of any paged view).
SUBJECTS = ("Subject.insert([{{'subject_id': i, 'name': f's{{i:03d}}'}} for i in range({count})], "
            "skip_duplicates=True)")

DIAGRAM = "dj.Diagram(schema)"

NODES = {  # data-name -> (tier class, label)
    f"{SCHEMA}.subject": ("dj-tier-manual", "Subject"),
    f"{SCHEMA}.#stimulus": ("dj-tier-lookup", "Stimulus"),
    f"{SCHEMA}.session": ("dj-tier-manual", "Session"),
    f"{SCHEMA}._recording": ("dj-tier-imported", "Recording"),
    f"{SCHEMA}.__analysis": ("dj-tier-computed", "Analysis"),
}

EDGES = {  # (parent, child) data-* pairs
    (f"{SCHEMA}.subject", f"{SCHEMA}.session"),
    (f"{SCHEMA}.#stimulus", f"{SCHEMA}.session"),
    (f"{SCHEMA}.session", f"{SCHEMA}._recording"),
    (f"{SCHEMA}._recording", f"{SCHEMA}.__analysis"),
}

# What the page draws: every node (name, tier class, label) and edge (parent, child).
READ_DIAGRAM = """(root) => {
  const scope = root || document;
  const nodes = [...scope.querySelectorAll(".dj-diagram svg.dj-diagram-svg g.dj-node")].map((n) => [
    n.dataset.name,
    [...n.classList].find((c) => c.startsWith("dj-tier-")),
    n.querySelector("text").textContent,
  ]);
  const edges = [...scope.querySelectorAll(".dj-diagram svg path.dj-edge")].map(
    (e) => [e.dataset.parent, e.dataset.child]);
  return {nodes, edges};
}"""
