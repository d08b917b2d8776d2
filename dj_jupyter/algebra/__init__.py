"""Pure relational algebra: headings, frozen nodes, conditions, the SQLAlchemy compiler."""

__all__: list[str] = []  # a layer folder: import its modules by name
