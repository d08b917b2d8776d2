"""The catalogue: stored table metadata, lineage, the dependency graph, events; declare, alter,
describe, naming.
"""

__all__: list[str] = []  # a layer folder: import its modules by name
