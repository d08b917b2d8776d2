"""PostgreSQL: the dialect's fast paths."""

__all__: list[str] = []  # a layer folder: import its modules by name
