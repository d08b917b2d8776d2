"""Presentation of query results (text and plain HTML); no Jupyter imports here."""
