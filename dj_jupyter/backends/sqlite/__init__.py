"""SQLite: the functions portable fragments need, registered on each connection."""
