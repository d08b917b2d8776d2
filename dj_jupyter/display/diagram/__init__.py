"""Diagrams without Jupyter: the model, static renderings, the mime bundle."""
