"""Populate: the make loop, job queues, the done check, workers, provenance."""

__all__: list[str] = []  # a layer folder: import its modules by name
