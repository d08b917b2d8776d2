"""Benchmarks of dj_jupyter against the bare DB-API drivers (see README.md)."""
