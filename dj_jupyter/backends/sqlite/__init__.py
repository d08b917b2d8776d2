"""SQLite: the functions portable fragments need, registered on each connection."""

__all__: list[str] = []  # a layer folder: import its modules by name
