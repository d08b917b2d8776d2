"""A synthetic diagram model of ``n`` tables in several schemas (what ``Diagram.to_dict()``
returns), for layout tests and the 300-table diagram benchmark: a layered pipeline where each
table references one to three tables of earlier layers, with parts under some computed tables.
"""

from __future__ import annotations

import random

TIERS = ("Manual", "Lookup", "Imported", "Computed")


def big_model(n: int, schemas: int = 6, seed: int = 7) -> dict:
    rng = random.Random(seed)
    nodes: list[dict] = []
    edges: list[dict] = []
    for i in range(n):
        schema = f"pipe{i * schemas // n}"
        master = None
        tier = TIERS[0] if i < 8 else rng.choice(TIERS[1:] if i > 20 else TIERS)
        if i > 20 and nodes[-1]["tier"] == "Computed" and rng.random() < 0.3:
            tier, master = "Part", nodes[-1]["master"] or nodes[-1]["name"]
        name = f"{schema}.t{i:03d}"
        class_name = f"Table{i:03d}" if master is None else f"Table{int(master[-3:]):03d}.Part{i}"
        nodes.append({"name": name, "schema": schema, "table": f"t{i:03d}", "tier": tier,
                      "class_name": class_name, "master": master, "new_dimension": i % 3 == 0,
                      "definition": f"# table {i}\nid{i}: int32\n---\nvalue: float64"})
        parents = {master} if master else set()
        if i:
            parents |= {nodes[rng.randrange(max(0, i - 40), i)]["name"]
                        for _ in range(rng.randint(1, 3))}
        for parent in sorted(parents):
            edges.append({"parent": parent, "child": name, "primary": rng.random() < 0.8,
                          "one_to_one": parent == master, "renamed": rng.random() < 0.05,
                          "attr_map": [[f"id{i}", f"id{i}"]]})
    return {"direction": "LR", "nodes": nodes, "edges": edges}
