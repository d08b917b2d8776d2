"""Stored tables: Table, tiers, Schema, insert, cascade delete, staged insert."""
