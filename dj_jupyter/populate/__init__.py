"""Populate: the make loop, job queues, the done check, workers, provenance."""
