"""Cascading delete and drop.

A delete is planned before anything is touched: the restriction propagates
from the table to every descendant through the query algebra (a child is
restricted by each restricted parent's primary key, renamed as its foreign
key renames it, OR-ed where paths meet). The plan gives the per-table counts,
which are shown and confirmed *before* the transaction opens; then one
transaction deletes children before parents. The confirmation binds the delete:
should another session have changed what matches since the counts were shown,
the transaction is rolled back and nothing is deleted (:class:`ChangedSinceShown`).
Without a terminal to ask on (no stdin) a prompt is a :class:`DataJointError`,
never a raw ``EOFError``.

Who asks is a hook (:func:`set_confirm`): a callable taking a :class:`Confirmation` (what
goes, per table, and ``proceed`` — the bound action) and answering ``True`` (go now),
``False`` (cancelled) or ``None`` (deferred: the question is shown elsewhere, e.g. a
notebook widget, which calls ``proceed`` itself on a later click). The default asks on the
terminal. The notebook layer installs its widget when ``%load_ext dj_jupyter`` runs in a
kernel; core never imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ..algebra.compiler import compile_delete
from ..algebra.conditions import Exists
from ..algebra.nodes import base_table, selected_table
from ..catalog.catalog import catalog_of, graph_for
from ..catalog.declare import forget_table
from ..catalog.events import CatalogEvent
from ..catalog.naming import master_of_full_name
from ..errors import DataJointError, IntegrityError, RestrictionError, TransactionError
from ..query.expression import QueryExpression
from ..settings import config
from ..utils import user_choice
from .gc import referenced_objects, remove_objects
from .upward import master_rows

if TYPE_CHECKING:
    from .table import Table

__all__ = ["confirm", "prompting", "DeletePlan", "plan_delete", "as_restriction",
           "check_part_integrity", "PartIntegrityError", "delete", "delete_quick", "drop",
           "drop_quick", "drop_as_shown", "drop_preview", "ChangedSinceShown", "Confirmation",
           "set_confirm", "ask"]

logger = logging.getLogger("dj_jupyter")

PART_INTEGRITY = ("enforce", "ignore", "cascade")


@dataclass
class DeletePlan:
    """Restricted queries per table (parents first) and the rows each would lose."""

    queries: dict[str, QueryExpression] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        lines = [f"  {name}: {count} row{'s' if count != 1 else ''}"
                 for name, count in self.counts.items() if count]
        return "\n".join(lines) or "  nothing"


def _free(origin: Any, name: str) -> Any:
    """The table called ``name``, on the connection of ``origin`` (a table or a restriction of
    one): built by the tables module, which this one never imports."""
    return getattr(origin, "table", origin).table_named(name)


def _root_name(query: Any) -> str:
    table = getattr(query, "table", query)
    return table.full_name


class PartIntegrityError(RestrictionError, ValueError):
    """An unknown ``part_integrity`` value (a ValueError too, as in DataJoint)."""


def check_part_integrity(part_integrity: str, action: str = "delete") -> None:
    """Refuse an unknown ``part_integrity`` before anything is read or written."""
    allowed = PART_INTEGRITY if action == "delete" else PART_INTEGRITY[:2]
    if part_integrity not in allowed:
        raise PartIntegrityError(
            f"part_integrity must be one of {', '.join(map(repr, allowed))} for {action}, "
            f"got {part_integrity!r}"
            + (" ('cascade' re-derives rows: it applies to delete only)" if action == "drop"
               else ""))


def as_restriction(query: Any) -> Any:
    """``query`` as a restriction of its stored table. A ``dj.Top`` selects rows by order and
    count, which a DELETE cannot express on every backend: its primary keys are read first and
    the table is restricted to them (none selected: nothing matches)."""
    if base_table(query.node) is not None:
        return query
    if selected_table(query.node) is None or not hasattr(query, "table"):
        raise RestrictionError(
            "only a table or a restriction of a table (also with dj.Top) can be deleted from; "
            "restrict the table itself, e.g. Session & (query).proj()")
    return query.table.restrict(query.keys(), semantic_check=False)


def plan_delete(query: Any, part_integrity: str = "enforce") -> DeletePlan:
    """The rows a delete of ``query`` would remove, per table; nothing is removed.

    Deleted part rows need their master rows to go too (``part_integrity='enforce'`` refuses
    otherwise, ``'cascade'`` adds those master rows and so all their parts; ``'ignore'`` lets
    the parts go alone). Which master rows a part row belongs to follows the part's foreign
    keys up to the master, through other parts and renames (:func:`.upward.master_rows`).
    """
    check_part_integrity(part_integrity)
    query = as_restriction(query)
    connection = query.connection
    roots: dict[str, list[QueryExpression]] = {_root_name(query): [query]}
    while True:
        plan = _propagate(connection, roots)
        if part_integrity == "ignore":
            return plan
        missing = _masters_left_behind(query, plan, part_integrity == "cascade")
        if not missing:
            return plan
        if part_integrity == "enforce":
            part, master, _ = missing[0]
            raise DataJointError(
                f"deleting rows of part table {part} before its master {master}: their master "
                "rows would stay incomplete. Delete from the master instead, or pass "
                "part_integrity='cascade' (also delete those masters) or "
                "part_integrity='ignore'.")
        for _, master, keys in missing:
            # keys read now: deleting the parts first (children before parents) would
            # otherwise empty a restriction that refers to those parts
            roots.setdefault(master, []).append(
                _free(query, master).restrict(keys, semantic_check=False))


def _masters_left_behind(origin: Any, plan: DeletePlan, lifting: bool
                         ) -> list[tuple[str, str, list[dict]]]:
    """(part, master, master keys) where rows of the part go but the master rows they belong
    to do not. ``lifting`` (part_integrity='cascade'): every restricted part counts, also one
    with no rows, so its master joins the plan (with no rows) as DataJoint's does."""
    graph = graph_for(origin.connection, list(plan.queries))
    found = []
    for name, query in plan.queries.items():
        master = master_of_full_name(name)
        if not master or master not in graph.tables or not (plan.counts[name] or lifting):
            continue
        belonging = master_rows(name, query, graph)
        if belonging is None:  # no foreign key leads from the part to its master
            continue
        if master in plan.queries:
            belonging = belonging - plan.queries[master].proj()
        elif not lifting:
            found.append((name, master, []))
            continue
        keys = belonging.keys()
        if keys or (lifting and master not in plan.queries):
            found.append((name, master, keys))
    return found


def _propagate(connection, roots: dict[str, list[QueryExpression]]) -> DeletePlan:
    origin = next(q for queries in roots.values() for q in queries)
    dependencies = graph_for(connection, roots)
    plan = DeletePlan()
    for name in dependencies.descendants(roots):
        own = roots.get(name, [])
        inherited = []
        for fk in dependencies.parents_of.get(name, []):
            parent = plan.queries.get(fk.parent)
            if parent is not None:
                renames = {child: old for child, old in fk.attr_map if child != old}
                inherited.append(parent.proj(**renames))
        if len(own) == 1 and not inherited:
            plan.queries[name] = own[0]
        elif own or inherited:
            operands = [_same_rows(q) for q in own] + inherited
            plan.queries[name] = _free(origin, name).restrict(operands, semantic_check=False)
    for name, query in plan.queries.items():
        plan.counts[name] = len(query)
    return plan


def _same_rows(query: QueryExpression):
    """A restriction of table T as a condition on T: rows whose key is among the query's."""
    return Exists(query.node, tuple(query.heading.primary_key))


class ChangedSinceShown(DataJointError):
    """What a confirmed delete or drop would touch changed after it was shown."""


@dataclass(frozen=True)
class Confirmation:
    """One question safemode asks before a delete or drop.

    ``counts`` are the rows per table that go (parents first), ``text`` the same for a
    terminal, ``proceed`` runs exactly what was shown (else :class:`ChangedSinceShown`) and
    returns what the action returns.
    """

    action: str  # "delete", "drop" or "drop schema"
    question: str
    text: str
    counts: dict[str, int]
    proceed: Callable[[], Any]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


ConfirmHook = Callable[[Confirmation], "bool | None"]


def terminal_confirm(request: Confirmation) -> bool:
    """Show ``request.text`` and ask ``request.question`` on stdin; True for yes.

    A process without a terminal (a script or CI with no stdin, a notebook front end that
    does not forward input) cannot answer: that is an error naming the way out, not a hang
    or a raw ``EOFError``.
    """
    question = request.question
    print(request.text)
    try:
        answer = user_choice(question, ("yes", "no"), default="no")
    except (EOFError, OSError, RuntimeError, NotImplementedError):
        # EOFError: stdin closed; OSError: stdin not readable (pytest, daemons); RuntimeError:
        # sys.stdin is None; NotImplementedError: IPython's StdinNotImplementedError
        raise DataJointError(
            f"{question} — safemode asks for confirmation, but there is no terminal to answer "
            "on (no stdin: a script, CI, or a notebook front end without input). Look at what "
            "would go (e.g. delete_preview()), then pass prompt=False to confirm in code, or "
            "run it where you can answer (the notebook with input enabled).") from None
    return answer == "yes"


_hook: list[ConfirmHook] = [terminal_confirm]


def confirm(question: str, text: str) -> bool:
    """A yes/no question on the terminal (alter's prompt; it has no notebook flow)."""
    return terminal_confirm(Confirmation("alter", question, text, {}, lambda: None))


def set_confirm(hook: ConfirmHook | None) -> ConfirmHook:
    """Install who asks safemode's questions (``None``: the terminal); returns the previous."""
    previous = _hook[0]
    _hook[0] = hook or terminal_confirm
    return previous


def ask(request: Confirmation) -> bool | None:
    """Ask through the installed hook: True go, False cancelled, None deferred."""
    return _hook[0](request)


def prompting(prompt: bool | None) -> bool:
    """Whether to ask: ``prompt`` if given, else ``dj.config["safemode"]``."""
    return config["safemode"] if prompt is None else prompt


def delete(query: Any, *, transaction: bool = True, prompt: bool | None = None,
           part_integrity: str = "enforce") -> int:
    """Delete ``query``'s rows and their dependents; return the rows deleted from ``query``."""
    connection = query.connection
    asking = prompting(prompt)
    if asking and connection.in_transaction:
        raise TransactionError(
            "delete would ask for confirmation while a transaction is open; pass prompt=False "
            "or delete outside the transaction")
    plan = plan_delete(query, part_integrity)
    root = _root_name(query)
    if not plan.total:
        logger.info("Nothing to delete.")
        return 0
    if asking:
        shown = dict(plan.counts)
        request = Confirmation("delete", "Delete these rows?",
                               "About to delete:\n" + plan.describe(), shown,
                               lambda: _delete_as_shown(connection, plan, shown, root))
        answer = ask(request)
        if answer is None:
            logger.info("Nothing deleted yet: confirm where the rows are shown.")
            return 0
        if not answer:
            logger.info("Delete cancelled; nothing was deleted.")
            return 0
        return request.proceed()
    own = transaction and not connection.in_transaction
    return _report(_execute(connection, plan, own), root)


def _delete_as_shown(connection, plan: DeletePlan, shown: dict[str, int], root: str) -> int:
    """A confirmed delete: its own transaction, rolled back unless exactly ``shown`` goes."""
    if connection.in_transaction:
        raise TransactionError("a confirmed delete runs in its own transaction; commit or "
                               "cancel the open transaction first")
    return _report(_execute(connection, plan, True, shown), root)


def _report(deleted: dict[str, int], root: str) -> int:
    logger.info("Deleted:\n%s", "\n".join(f"  {n}: {c}" for n, c in deleted.items() if c))
    return deleted.get(root, 0)


def _execute(connection, plan: DeletePlan, own_transaction: bool,
             shown: dict[str, int] | None = None) -> dict[str, int]:
    """Delete the plan's rows, children first; with ``shown``, exactly those counts or none."""
    deleted: dict[str, int] = {}
    order = list(reversed(plan.queries))
    objects: set[tuple[str, str]] = set()

    def run() -> None:
        objects.clear()
        for name in order:
            # the objects of the rows about to go, read in the same transaction
            objects.update(referenced_objects(plan.queries[name]))
            statement = compile_delete(plan.queries[name].node, connection.dialect)
            deleted[name] = connection.execute(statement).rowcount
            if shown is not None and deleted[name] != shown.get(name, 0):
                raise _changed(name, shown.get(name, 0), deleted[name])
        if objects:  # removed only once the rows are gone for good (now, or at commit)
            connection.after_commit(lambda: remove_objects(set(objects)))

    try:
        if own_transaction:
            with connection.transaction:
                run()
        else:
            run()
    except (sa.exc.DBAPIError, *connection._driver_errors()) as error:
        raise IntegrityError(
            f"delete failed and was rolled back: {getattr(error, 'orig', error)}. A table in a "
            "schema this connection cannot see may depend on these rows.") from None
    return {name: deleted[name] for name in plan.queries}


def _changed(name: str, shown: int, now: int) -> ChangedSinceShown:
    return ChangedSinceShown(
        f"nothing was deleted: {name} had {shown} matching row{'s' if shown != 1 else ''} when "
        f"you confirmed, but {now} when the delete ran (another session changed the data "
        "meanwhile). Look again and delete again.")


def delete_quick(query: Any) -> int:
    """Delete only ``query``'s rows (no cascade); dependent rows make it fail."""
    query = as_restriction(query)
    statement = compile_delete(query.node, query.connection.dialect)
    try:
        return query.connection.execute(statement).rowcount
    except (sa.exc.DBAPIError, *query.connection._driver_errors()) as error:
        raise IntegrityError(
            f"{_root_name(query)}: rows are referenced by other tables "
            f"({getattr(error, 'orig', error)}); use delete() to cascade") from None


def drop(table: Table, *, prompt: bool | None = None, part_integrity: str = "enforce") -> None:
    """Drop ``table`` and every table downstream of it, children first.

    With a prompt, the tables and row counts are read again after the answer: if another
    session changed them meanwhile, nothing is dropped (:class:`ChangedSinceShown`).
    """
    check_part_integrity(part_integrity, "drop")
    connection = table.connection
    if connection.in_transaction:
        raise TransactionError("tables cannot be dropped inside a transaction")
    counts = _drop_plan(table, part_integrity)
    text = "About to drop:\n" + "\n".join(f"  {n} ({c} rows)" for n, c in counts.items())
    if not prompting(prompt):
        _drop_tables(table, list(counts))
        return
    answer = ask(Confirmation("drop", "Drop these tables?", text, counts,
                              lambda: drop_as_shown(table, counts, part_integrity)))
    if answer is None:
        logger.info("Nothing dropped yet: confirm where the tables are shown.")
    elif not answer:
        logger.info("Drop cancelled.")
    else:
        drop_as_shown(table, counts, part_integrity)


def drop_as_shown(table: Table, shown: dict[str, int], part_integrity: str = "enforce") -> None:
    """Drop ``table`` and its descendants if they and their row counts are still ``shown``.

    The tables are read again first (other sessions may have declared or filled some): on
    any difference nothing is dropped (:class:`ChangedSinceShown`).
    """
    connection = table.connection
    if connection.in_transaction:
        raise TransactionError("tables cannot be dropped inside a transaction")
    catalog_of(connection).changed()  # see tables other sessions declared meanwhile
    now = _drop_plan(table, part_integrity)
    if now != shown:
        raise ChangedSinceShown(
            "nothing was dropped: the tables or their row counts changed after they were "
            "shown (another session changed them). Now:\n"
            + "\n".join(f"  {n} ({c} rows)" for n, c in now.items())
            + "\nLook again and drop again.")
    _drop_tables(table, list(now))
    for name in now:  # a drop confirmed later (a widget's click) still reaches live diagrams
        schema, _, table_name = name.partition(".")
        catalog_of(connection).changed(CatalogEvent("drop", schema, table_name))


def _drop_tables(origin: Any, names: list[str]) -> None:
    for name in reversed(names):
        drop_quick(_free(origin, name))
    logger.info("Dropped %d table(s).", len(names))


def drop_preview(table: Table, part_integrity: str = "enforce") -> dict[str, int]:
    """Rows per table (parents first) that dropping ``table`` removes; drops nothing."""
    check_part_integrity(part_integrity, "drop")
    return _drop_plan(table, part_integrity)


def _drop_plan(table: Table, part_integrity: str) -> dict[str, int]:
    """Rows per table that dropping ``table`` removes (it and its descendants, parents
    first); a part whose master stays is refused unless ``part_integrity='ignore'``."""
    connection = table.connection
    names = graph_for(connection, [table.full_name]).descendants([table.full_name])
    if part_integrity == "enforce":
        for name in names:
            master = master_of_full_name(name)
            if master and master not in names:
                raise DataJointError(f"{name} is a part of {master}, which is not being dropped; "
                                     "drop the master, or pass part_integrity='ignore'")
    return {n: len(_free(table, n)) for n in names}


def drop_quick(table: Table) -> None:
    """Drop one table (no cascade) and its lineage and comment rows."""
    connection = table.connection
    dialect = connection.dialect
    sa_schema, address = dialect.table_address(table.database, table.table_name)
    target = sa.Table(address, sa.MetaData(), schema=sa_schema)
    forget = forget_table(connection, table.database, table.table_name)
    try:
        connection.call(lambda c: (forget(c), dialect.drop_table(c, target)))
    except (sa.exc.DBAPIError, *connection._driver_errors()) as error:
        raise IntegrityError(f"cannot drop {table.full_name}: {getattr(error, 'orig', error)}. "
                             "Drop the tables that depend on it first (use drop()).") from None
    finally:
        catalog_of(connection).changed()
