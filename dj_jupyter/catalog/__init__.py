"""The catalogue: stored table metadata, lineage, the dependency graph, events; declare, alter,
describe, naming.
"""
