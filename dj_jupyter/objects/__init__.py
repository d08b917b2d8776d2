"""Large values: codecs, object stores, the object lifecycle and garbage collection."""

__all__: list[str] = []  # a layer folder: import its modules by name
