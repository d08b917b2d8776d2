"""Notebook magics: ``%dj_connect``, ``%dj_schema`` and ``%%dj_table``.

Loaded by ``%load_ext dj_jupyter``; nothing else imports this module.

``%dj_connect [url]``
    Connect to ``url`` (a SQLAlchemy URL, e.g. ``sqlite:///lab.db``), or without one use the
    default ``dj.conn()`` built from ``dj.config`` (embedded SQLite by default). Connecting
    forgets the active schema.
``%dj_schema name [--as variable]``
    Create (if needed) and activate the schema ``name`` on that connection; it becomes the
    active schema of the cells below and is bound as ``schema`` in the notebook (the name
    DataJoint code gives it: ``schema = dj.Schema(name)``), or as ``variable`` with
    ``--as``. Returns the ``dj.Schema``.
``%%dj_table ClassName [manual|lookup|imported|computed] [--schema name]``
    Declare a table from the cell. The cell body is the definition text. Optionally, after a
    line ``# --- python ---``, Python lines form the body of the class (``make``,
    ``key_source``, ``contents``, ...)::

        %%dj_table Squared computed
        -> Number
        ---
        squared : int64
        # --- python ---
        def make(self, key):
            n = (Number & key).fetch1("n")
            self.insert1({**key, "squared": n * n})

    The class is executed in the user namespace, declared in the schema, bound to
    ``ClassName`` there and returned (it shows as a small card). Re-running an unchanged cell
    is a no-op (the Python body is refreshed; rows stay). A changed definition alters
    nothing by itself: the cell shows the whole definition with the changes marked and, in a
    notebook, a button — *Apply* (ALTER, rows kept) for secondary attributes and the table
    comment, *Drop and re-declare* (with the rows it would delete, asked again with
    ``safemode``) for anything else. In a plain shell the cell reports the difference and
    how to apply it in code.

In a kernel, ``%load_ext dj_jupyter`` also makes safemode's delete/drop question a widget
(:mod:`.confirm_ui`): ``delete()`` and ``drop()`` show the rows per table and return; the
widget's button does exactly that.

``%dj_export path.py [--schema name]``
    Write the active schema's tables (or those of ``name``) — the cells' classes and what
    their code uses from the notebook — as an importable module, for workers on other
    machines: ``dj-jupyter populate path.py:ClassName --reserve-jobs``. (``populate(processes=N)``
    and ``executor=`` need no export: they ship the same module to their workers.)

Inside a ``%%dj_table`` cell, Tab completes table names after ``->`` and types after ``:``
(see :mod:`.completion`).
"""

from __future__ import annotations

import linecache
import shlex
import textwrap
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from ..catalog.alter import NotAlterableError, apply_alter, declared_definition
from ..catalog.catalog import catalog_of
from ..definition.parser import parse_definition
from ..errors import DataJointError, DefinitionError
from ..pipeline.schema import Schema
from ..pipeline.tiers import Computed, Imported, Lookup, Manual
from ..populate.autopopulate import AutoPopulate
from ..populate.export import class_statement, export_module
from ..tables.alter import plan_for
from ..tables.cascade import drop_as_shown
from . import completion
from .cells import PYTHON_MARKER
from .formatters import register as register_formatters
from .populate_panel import PopulatePanel

__all__ = ["DataJointMagics", "TableCard", "PYTHON_MARKER", "load_ipython_extension"]

TIERS = {"manual": Manual, "lookup": Lookup, "imported": Imported, "computed": Computed}
_SCHEMA_USAGE = "usage: %dj_schema name [--as variable]"
_EXPORT_USAGE = "usage: %dj_export path.py [--schema name]"
_TABLE_USAGE = ("usage: %%dj_table ClassName [manual|lookup|imported|computed] "
                "[--schema name]")


class TableCard:
    """What ``%%dj_table`` returns: the declared class, shown as a card.

    In a notebook with widgets, the card of a Computed or Imported table is a populate
    panel (Start, Stop, counts, errors) drawn under the card.
    """

    def __init__(self, table_class: type, widgets: bool = False):
        self.table_class = table_class
        self.widgets = widgets

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        """A Computed/Imported table's card with its populate panel (in a widget frontend),
        else the live card (it refreshes itself) with its HTML snapshot; None without
        anywidget (``_repr_html_`` then shows the snapshot)."""
        if not self.widgets or not issubclass(self.table_class, AutoPopulate):
            return self._live_card()
        card = self._repr_html_()
        shown = PopulatePanel(self.table_class, card_html=card)._repr_mimebundle_()
        if shown is None:
            return None
        data, metadata = shown
        data["text/html"] = card + data["text/html"]
        return data, metadata

    def __repr__(self) -> str:
        return f"<{self.table_class.__name__}: {self.table_class().full_name}>"

    def _repr_html_(self) -> str:
        from ..display.table_card import table_card_html

        return table_card_html(self.table_class())

    def _live_card(self) -> Any:
        try:
            from .table_card import TableCardWidget
        except ImportError:  # no anywidget: _repr_html_ shows the snapshot
            return None
        return TableCardWidget(self.table_class)._repr_mimebundle_()


@magics_class
class DataJointMagics(Magics):
    """The magics and their state: the connection and the active schema.

    ``widgets`` says whether a changed cell shows buttons (a widget frontend) or a text
    report; ``None`` decides by whether the shell runs in a kernel.
    """

    def __init__(self, shell: Any):
        super().__init__(shell)
        self.connection: Any = None
        self.schema: Schema | None = None
        self.widgets: bool | None = None

    # -- %dj_connect, %dj_schema --------------------------------------------------------------
    @line_magic
    def dj_connect(self, line: str) -> Any:
        """%dj_connect [url]: connect to url, or to the default dj.conn() from dj.config."""
        self.connection = _connect(line.strip())
        self.schema = None
        return self.connection

    @line_magic
    def dj_schema(self, line: str) -> Schema:
        """%dj_schema name [--as variable]: create/activate a schema, bound as ``schema`` (or
        ``variable``); the cells below declare tables in it."""
        words = line.split()
        variable = "schema"
        if len(words) == 3 and words[1] == "--as":
            variable = words[2]
            del words[1:]
        if len(words) != 1 or not variable.isidentifier():
            raise UsageError(_SCHEMA_USAGE)
        self.schema = self._schema_named(words[0])
        self._user_ns()[variable] = self.schema
        return self.schema

    @line_magic
    def dj_export(self, line: str) -> None:
        """%dj_export path.py [--schema name]: write the schema's tables as a module (and
        say how to start a worker on it)."""
        words = shlex.split(line)
        schema = self.schema
        if len(words) == 3 and words[1] == "--schema":
            schema = self._schema_named(words[2])
            del words[1:]
        if len(words) != 1:
            raise UsageError(_EXPORT_USAGE)
        if schema is None:
            raise UsageError("%dj_export: no active schema; run %dj_schema name first (or pass "
                             "--schema name)")
        try:
            path = export_module(schema, words[0], self._user_ns())
        except DataJointError as error:
            raise UsageError(f"%dj_export: {error}") from None
        first = next((v.__name__ for v in self._user_ns().values() if isinstance(v, type)
                      and issubclass(v, AutoPopulate) and v.__dict__.get("_schema") is schema),
                     "ClassName")
        print(f"wrote {path}; on any machine that reaches the database run:\n"
              f"  dj-jupyter populate {path}:{first} --reserve-jobs")

    def _schema_named(self, name: str) -> Schema:
        connection = self._connection()
        known = catalog_of(connection).schemas.get(name)
        if isinstance(known, Schema):
            return known
        try:
            return Schema(name, connection=connection)
        except DataJointError as error:
            raise UsageError(f"%dj_schema {name}: {error}") from None

    def _connection(self) -> Any:
        if self.connection is None:
            self.connection = _connect("")
        return self.connection

    # -- %%dj_table ---------------------------------------------------------------------------
    @cell_magic
    def dj_table(self, line: str, cell: str) -> Any:
        """``%%dj_table ClassName [tier] [--schema name]``: declare a table from the cell."""
        name, tier, schema_name = _parse_table_line(line)
        schema = self._schema_named(schema_name) if schema_name else self.schema
        if schema is None:
            raise UsageError(f"%%dj_table {name}: no active schema; run %dj_schema name first "
                             "(or pass --schema name)")
        definition_text, python_body = _split_cell(cell)
        try:
            parsed = parse_definition(definition_text)
        except DefinitionError as error:
            raise UsageError(_definition_message(name, error, definition_text)) from None
        cls = self._make_class(name, TIERS[tier], definition_text, python_body,
                               cell=f"%%dj_table {line}\n{cell}")
        user_ns = self._user_ns()
        context = dict(user_ns)
        cls._schema = schema
        if cls().is_declared:
            report = self._change(cls, parsed, context, definition_text)
            if report is not None:
                return self._offer(report, cls, schema, context, definition_text)
        return self._bind(cls, schema, context, definition_text)

    def _bind(self, cls: type, schema: Schema, context: dict, definition_text: str) -> TableCard:
        """Declare (or just bind, if declared) ``cls`` and put it in the user namespace."""
        name = cls.__name__
        try:
            schema(cls, context=context)
        except DefinitionError as error:
            raise UsageError(_definition_message(name, error, definition_text)) from None
        except DataJointError as error:
            raise UsageError(f"%%dj_table {name}: {error}") from None
        self._user_ns()[name] = cls
        return TableCard(cls, widgets=self._has_widgets())

    def _change(self, cls: type, parsed: Any, context: dict, definition_text: str) -> Any:
        """None when the cell matches the declared table, else a :class:`ChangeReport`."""
        from .alter_ui import change_report

        reason = ""
        try:
            if plan_for(cls(), context).is_empty:
                return None
        except NotAlterableError as error:
            reason = str(error)
        except DefinitionError as error:
            raise UsageError(_definition_message(cls.__name__, error, definition_text)) from None
        except DataJointError as error:
            raise UsageError(f"%%dj_table {cls.__name__}: {error}") from None
        return change_report(cls, declared_definition(cls(), context), parsed, reason)

    def _offer(self, report: Any, cls: type, schema: Schema, context: dict,
               definition_text: str) -> Any:
        """Buttons in a notebook; in a plain shell, the report as a short UsageError."""
        if not self._has_widgets():
            raise UsageError(report.text())
        from .alter_ui import AlterPanel

        def apply() -> str:
            table = cls()
            if report.alterable:
                apply_alter(table, plan_for(table, context))
            else:  # exactly the tables and rows the panel showed, else nothing
                drop_as_shown(table, report.drop_counts)
            return self._bind(cls, schema, context, definition_text)._repr_html_()

        return AlterPanel(report, apply)

    def _has_widgets(self) -> bool:
        if self.widgets is not None:
            return self.widgets
        return getattr(self.shell, "kernel", None) is not None

    def _make_class(self, name: str, tier: type, definition: str, body: str, cell: str) -> Any:
        """Execute ``class Name(Tier): definition = ...; <body>`` in the user namespace.

        The code is compiled so that each line of the body has its line number in the cell
        (line 1 is the ``%%dj_table`` line), and registered with :mod:`linecache` under
        ``<%%dj_table Name In[n]>``: tracebacks, ``inspect`` and debuggers show the cell's
        lines, at the right place.
        """
        header = definition.count("\n")  # the class line goes here, the body starts 2 below
        indented = textwrap.indent(textwrap.dedent(body), "    ")
        source = ("\n" * header + f"class {name}(__dj_tier__):\n    definition = {definition!r}\n"
                  f"{indented}\n")
        # IPython counts the running cell before it runs: its prompt number is one less
        number = max(1, getattr(self.shell, "execution_count", 1) - 1)
        filename = register_cell_source(name, cell, source, header + 2, number)
        local: dict[str, Any] = {"__dj_tier__": tier}
        try:
            code = compile(source, filename, "exec")
        except SyntaxError as error:
            raise UsageError(f"%%dj_table {name}: cell line {error.lineno}: Python syntax error: "
                             f"{error.msg}") from None
        exec(code, self._user_ns(), local)
        cls = local[name]
        # the class as a module would write it (see populate/export.py)
        cls._dj_source = class_statement(name, tier.__name__, definition, indented)
        return cls

    def _user_ns(self) -> dict[str, Any]:
        assert self.shell is not None, "DataJointMagics needs a shell"
        return self.shell.user_ns


def register_cell_source(name: str, cell: str, source: str, cell_lines: int,
                         number: int) -> str:
    """Register a ``%%dj_table`` cell's code with :mod:`linecache`; returns its file name.

    The first ``cell_lines`` lines are the cell's own (magic line, definition, marker), the
    rest the compiled body as it runs (so column markers in tracebacks line up).
    """
    filename = f"<%%dj_table {name} In[{number}]>"
    lines = cell.splitlines()[:cell_lines] + source.splitlines()[cell_lines:]
    text = [f"{line}\n" for line in lines]
    linecache.cache[filename] = (sum(map(len, text)), None, text, filename)
    return filename


def _connect(url: str) -> Any:
    """A connection to ``url``, or the default ``dj.conn()`` when ``url`` is empty."""
    from ..backends.connection import Connection, conn

    try:
        return Connection(url) if url else conn()
    except DataJointError as error:
        raise UsageError(f"%dj_connect: {error}") from None


def _parse_table_line(line: str) -> tuple[str, str, str | None]:
    words = shlex.split(line)
    schema_name = None
    if "--schema" in words:
        at = words.index("--schema")
        if at + 1 >= len(words):
            raise UsageError(_TABLE_USAGE)
        schema_name = words[at + 1]
        del words[at:at + 2]
    if not 1 <= len(words) <= 2 or not words[0].isidentifier():
        raise UsageError(_TABLE_USAGE)
    tier = words[1].lower() if len(words) == 2 else "manual"
    if tier not in TIERS:
        raise UsageError(f"%%dj_table {words[0]}: unknown tier {words[1]!r}; use one of "
                         f"{', '.join(TIERS)}")
    return words[0], tier, schema_name


def _split_cell(cell: str) -> tuple[str, str]:
    """The definition text and the Python body (after the marker line, if any)."""
    lines = cell.splitlines()
    for number, text in enumerate(lines):
        if text.strip() == PYTHON_MARKER:
            return "\n".join(lines[:number]) + "\n", "\n".join(lines[number + 1:])
    return cell, ""


def _definition_message(name: str, error: DefinitionError, definition: str) -> str:
    """A definition error, its line counted in the cell (line 1 is the %%dj_table line)."""
    lines = definition.splitlines()
    if error.line is None or not 1 <= error.line <= len(lines):
        return f"%%dj_table {name}: {error}"
    _, _, reason = str(error).partition("\n")
    reason = reason or str(error)
    where = f"cell line {error.line + 1}: {lines[error.line - 1].strip()!r}"
    return f"%%dj_table {name}: {where}\n{reason}"


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics, their completion, the display formatters, the populate panel
    and (in a kernel) the comm target of JupyterLab's pipeline sidebar and the widget that
    confirms deletes."""
    from . import confirm_ui, pipeline_comm, populate_display

    ipython.register_magics(DataJointMagics)
    magics = ipython.magics_manager.registry["DataJointMagics"]
    completion.register(ipython, magics)
    pipeline_comm.register(ipython, magics)
    register_formatters(ipython)
    populate_display.register(ipython)
    confirm_ui.install(ipython)
