"""MkDocs hooks: the README as the home page, and the tutorials executed before the build.

- The home page is the README, whose links are relative to the repository root: ``docs/x.md`` is
  ``x.md`` on the site and ``notebooks/x.ipynb`` is ``tutorials/x.ipynb``; any other relative link
  stays, so ``--strict`` reports it.
- Each notebook of ``notebooks/`` is executed (nbclient, in a scratch folder, on the embedded
  default) into ``docs/tutorials/`` before the pages are collected. Widget state is not stored,
  so every widget output shows its static fallback (a picture or a table), as on GitHub.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

_ROOT_LINK = re.compile(r"\]\((docs|notebooks)/")
_SITE_FOLDER = {"docs": "", "notebooks": "tutorials/"}


def on_pre_build(config) -> None:
    root = Path(config["config_file_path"]).parent
    target = Path(config["docs_dir"]) / "tutorials"
    target.mkdir(exist_ok=True)
    for source in sorted((root / "notebooks").glob("*.ipynb")):
        (target / source.name).write_text(nbformat.writes(_executed(source)))


def _executed(source: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(source, as_version=4)
    with tempfile.TemporaryDirectory(prefix="dj-docs-") as folder:
        NotebookClient(notebook, timeout=300, kernel_name="python3", store_widget_state=False,
                       resources={"metadata": {"path": folder}}).execute()
    return notebook


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri != "index.md":
        return markdown
    readme = Path(config["config_file_path"]).parent / "README.md"
    return _ROOT_LINK.sub(lambda m: "](" + _SITE_FOLDER[m.group(1)], readme.read_text())
