"""The lowest layer: connection, transactions and execution; one folder per dialect."""

__all__: list[str] = []  # a layer folder: import its modules by name
