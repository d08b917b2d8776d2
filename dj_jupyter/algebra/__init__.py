"""Pure relational algebra: headings, frozen nodes, conditions, the SQLAlchemy compiler."""
