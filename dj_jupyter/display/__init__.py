"""Presentation of query results: one place that fetches a page (``page``), text and HTML."""

__all__: list[str] = []  # a layer folder: import its modules by name
