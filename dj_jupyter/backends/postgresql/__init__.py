"""PostgreSQL: the dialect's fast paths."""
