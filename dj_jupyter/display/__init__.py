"""Presentation of query results: one place that fetches a page (``page``), text and HTML."""
