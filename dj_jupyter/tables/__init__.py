"""Stored tables: Table, tiers, Schema, insert, cascade delete, staged insert."""

__all__: list[str] = []  # a layer folder: import its modules by name
