"""The lowest layer: connection, transactions and execution; one folder per dialect."""
