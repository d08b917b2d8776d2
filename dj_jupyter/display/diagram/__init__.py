"""Diagrams without Jupyter: the model, static renderings, the mime bundle."""

__all__: list[str] = []  # a layer folder: import its modules by name
