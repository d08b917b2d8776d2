"""MySQL/MariaDB: the dialect's fast paths."""
