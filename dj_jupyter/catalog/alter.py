"""``Table.alter()``: change a declared table to match its class's ``definition``.

Only what ALTER can do without losing the table's identity is changed: secondary
attributes are added, modified (type, default, nullability, comment), renamed or dropped,
and the table comment is replaced. As in DataJoint, an attribute whose comment opens with
``{old_name}`` is ``old_name`` renamed (its values kept, converted if the rename changes its
type, default or nullability too, in the same step); the marker is not stored, so the
same definition altered again changes nothing. Anything else — the primary key, foreign keys,
indexes, or a rename that reads as a drop plus an add — is refused with
:class:`NotAlterableError`, which says to drop and re-declare. :func:`plan_alter` is
pure; :func:`apply_alter` runs the plan (PostgreSQL and MySQL alter in place, SQLite
rebuilds the table) and keeps the comment markers and lineage in step.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from ..definition.model import AttributeSpec, ForeignKeySpec, TableDefinition
from ..definition.render import render_definition, strip_lines
from ..errors import DataJointError, DefinitionError, NotAlterableError, TransactionError
from . import metadata as catalog
from .catalog import catalog_of
from .declare import ResolvedParent, plan_table, python_default
from .describe import stored_definition
from .events import CatalogEvent

__all__ = ["AttributeChange", "AlterPlan", "NotAlterableError", "plan_alter", "apply_alter",
           "declared_definition"]

# A stored table (the tables layer, above this one): only its names, heading, connection and
# class are read here.
Table = Any

logger = logging.getLogger("dj_jupyter")

Item = AttributeSpec | ForeignKeySpec


@dataclass(frozen=True)
class AttributeChange:
    """One secondary attribute to add, modify, re-comment or drop."""

    kind: str  # "add", "modify", "comment", "rename" (``name`` is the new name) or "drop"
    name: str
    old: AttributeSpec | None = None
    new: AttributeSpec | None = None

    def describe(self) -> str:
        old = _attribute_line(self.old) if self.old else ""
        new = _attribute_line(self.new) if self.new else ""
        if self.kind == "add":
            return f"  + add    {new}"
        if self.kind == "drop":
            return f"  - drop   {old}  (its values are lost)"
        if self.kind == "rename" and self.old is not None:
            if self.changes_column:
                return f"  ~ rename {old}  →  {new}  (its values are kept and converted)"
            return f"  ~ rename {self.old.name} → {new}  (its values are kept)"
        return f"  ~ {self.kind:<6} {old}  →  {new}"

    @property
    def changes_column(self) -> bool:
        """Whether the column's type, default or nullability change (a rename may, too)."""
        if self.kind in ("add", "drop", "modify"):
            return True
        if self.kind != "rename" or self.old is None or self.new is None:
            return False
        return not _same_attribute(replace(self.old, name=self.new.name,
                                           comment=self.new.comment), self.new)


@dataclass(frozen=True)
class AlterPlan:
    """What :func:`apply_alter` will change in ``table`` (a ``schema.table`` name)."""

    table: str
    changes: tuple[AttributeChange, ...] = ()
    comment: tuple[str, str] | None = None  # (old, new) table comment
    target: TableDefinition | None = None  # the definition the table will have

    @property
    def is_empty(self) -> bool:
        return not self.changes and self.comment is None

    def names(self, kind: str) -> list[str]:
        return [c.name for c in self.changes if c.kind == kind]

    def describe(self) -> str:
        lines = [f"Alter {self.table}:"] + [c.describe() for c in self.changes]
        if self.comment is not None:
            lines.append(f"  ~ table comment {self.comment[0]!r}  →  {self.comment[1]!r}")
        return "\n".join(lines if not self.is_empty else [f"{self.table}: nothing to alter"])


# -- planning (pure) ------------------------------------------------------------------------


def plan_alter(table: str, stored: TableDefinition, new: TableDefinition,
               same_parent: Any = None) -> AlterPlan:
    """The changes from ``stored`` to ``new``; raise :class:`NotAlterableError` if ALTER cannot.

    ``same_parent(a, b)`` tells whether two foreign keys name the same parent table
    (default: the same text).
    """
    stored, new = strip_lines(stored), strip_lines(new)
    same = same_parent or (lambda a, b: a.ref == b.ref)
    _check_same_items(table, [i for i in stored.items if i.in_key],
                      [i for i in new.items if i.in_key], same, "the primary key")
    old_side = [i for i in stored.items if not i.in_key]
    new_side = [i for i in new.items if not i.in_key]
    _check_same_items(table, [i for i in old_side if isinstance(i, ForeignKeySpec)],
                      [i for i in new_side if isinstance(i, ForeignKeySpec)], same,
                      "the foreign keys")
    if stored.indexes != new.indexes:
        raise _refusal(table, "the indexes changed")
    old_attrs = {i.name: i for i in old_side if isinstance(i, AttributeSpec)}
    new_side, renamed = _renames(table, old_attrs, new_side)
    new_attrs = {i.name: i for i in new_side if isinstance(i, AttributeSpec)}
    dropped = [n for n in old_attrs if n not in new_attrs and n not in renamed.values()]
    added = [n for n in new_attrs if n not in old_attrs and n not in renamed]
    if dropped and added:
        raise _refusal(table, f"{', '.join(dropped)} removed and {', '.join(added)} added at "
                              "once: a rename cannot be told from a drop and an add (to rename, "
                              f"open the new attribute's comment with {{{dropped[0]}}}, as in "
                              "DataJoint; or alter in two steps: first the drop, then the add)")
    _check_order(table, old_side, new_side, dropped, added, renamed)
    changes = [AttributeChange("drop", n, old=old_attrs[n]) for n in dropped]
    changes += [AttributeChange("rename", new, old=old_attrs[old], new=new_attrs[new])
                for new, old in renamed.items()]
    for name, old in old_attrs.items():
        target = new_attrs.get(name)
        if target is not None and not _same_attribute(old, target):
            changes.append(_modification(table, old, target))
    changes += [AttributeChange("add", n, new=new_attrs[n]) for n in added]
    comment = (stored.comment, new.comment) if stored.comment != new.comment else None
    return AlterPlan(table, tuple(changes), comment, new)


RENAME_MARKER = re.compile(r"^\{\s*(?P<name>\w+)\s*\}\s*")


def _renames(table: str, old_attrs: dict[str, AttributeSpec], new_side: list[Item],
             ) -> tuple[list[Item], dict[str, str]]:
    """The new side without ``{old_name}`` comment markers, and the renames they ask for
    (new name -> old name). A marker on an attribute that already has its new name (the
    rename was done) changes nothing."""
    items: list[Item] = []
    renamed: dict[str, str] = {}
    for item in new_side:
        marker = RENAME_MARKER.match(item.comment) if isinstance(item, AttributeSpec) else None
        if marker is None:
            items.append(item)
            continue
        item = replace(item, comment=item.comment[marker.end():])
        old = marker.group("name")
        items.append(item)
        if item.name in old_attrs:
            continue
        if old not in old_attrs:
            raise NotAlterableError(
                f"{table}: the comment of {item.name!r} opens with {{{old}}}, which renames "
                f"attribute {old!r}, but the table has no secondary attribute {old!r}; correct "
                "the name in braces, or remove the braces")
        if old in renamed.values():
            raise NotAlterableError(f"{table}: attribute {old!r} is renamed twice; give "
                                    f"{{{old}}} to one attribute only")
        previous = replace(old_attrs[old], name=item.name, comment=item.comment)
        if not _same_attribute(previous, item):
            _modification(table, previous, item)  # the change alone must be alterable
        renamed[item.name] = old
    return items, renamed


def _check_same_items(table: str, old: list[Item], new: list[Item], same: Any,
                      what: str) -> None:
    def equal(a: Item, b: Item) -> bool:
        if isinstance(a, ForeignKeySpec) and isinstance(b, ForeignKeySpec):
            return same(a, b) and replace(a, ref="") == replace(b, ref="")
        return a == b

    if len(old) != len(new) or not all(equal(a, b) for a, b in zip(old, new)):
        raise _refusal(table, f"{what} changed")


def _check_order(table: str, old_side: list[Item], new_side: list[Item], dropped: list[str],
                 added: list[str], renamed: dict[str, str] | None = None) -> None:
    """Kept attributes stay in order and new ones come last (where ALTER puts them)."""
    new_name = {old: new for new, old in (renamed or {}).items()}

    def label(item: Item) -> str:
        return item.name if isinstance(item, AttributeSpec) else f"-> {item.ref}"

    kept_old = [new_name.get(label(i), label(i)) for i in old_side if label(i) not in dropped]
    new_labels = [label(i) for i in new_side]
    if added and new_labels[-len(added):] != added:
        raise NotAlterableError(
            f"{table}: ALTER adds new attributes after the existing ones; move "
            f"{', '.join(added)} to the end of the definition, or drop and re-declare the table")
    kept_new = new_labels[:len(new_labels) - len(added)]
    if [n for n in kept_new if n in kept_old] != kept_old or len(kept_new) != len(kept_old):
        raise _refusal(table, "the secondary attributes were reordered")


def _same_attribute(old: AttributeSpec, new: AttributeSpec) -> bool:
    """Equal, counting defaults of equal value as equal (``0`` and ``0.0`` for a float)."""
    if old.default is not None and new.default is not None and old.type == new.type \
            and not old.default.is_expression and not new.default.is_expression:
        try:
            same = python_default(old.name, old.type, old.default) == python_default(
                new.name, new.type, new.default)
        except DataJointError:
            same = False
        if same:
            return replace(old, default=new.default) == new
    return old == new


def _modification(table: str, old: AttributeSpec, new: AttributeSpec) -> AttributeChange:
    if replace(old, comment=new.comment) == new:
        return AttributeChange("comment", old.name, old=old, new=new)
    if old.type != new.type and (old.type.is_codec or new.type.is_codec):
        raise _refusal(table, f"attribute {old.name!r} changes between {old.type.text} and "
                              f"{new.type.text}, which would not convert its stored values")
    return AttributeChange("modify", old.name, old=old, new=new)


def _refusal(table: str, reason: str) -> NotAlterableError:
    return NotAlterableError(f"{table}: {reason}; ALTER cannot do that — drop and re-declare "
                             "the table (drop() deletes its rows and its dependents' rows)")


def _attribute_line(attribute: AttributeSpec) -> str:
    text = render_definition(TableDefinition(items=(replace(attribute, in_key=True),)))
    return text.splitlines()[0]


# -- reading both sides -----------------------------------------------------------------------


def declared_definition(table: Table, context: dict | None = None) -> TableDefinition:
    """The stored definition, compared line by line (hidden columns, such as a key-less
    table's ``_singleton``, are not in the heading it is read from)."""
    return strip_lines(stored_definition(table, context))


def apply_alter(table: Table, plan: AlterPlan) -> None:
    """Run ``plan`` on the database (outside any transaction); nothing is asked."""
    connection = table.connection
    if connection.in_transaction:
        raise TransactionError("alter() is not allowed inside a transaction; commit or cancel "
                               "the transaction first")
    if plan.is_empty:
        return
    _check_rows_allow(table, plan)
    target_definition = _target_definition(table, plan)
    parents = _stored_parents(table, target_definition)
    target = plan_table(connection, table.database, table.table_name, target_definition, parents)
    finish = _catalogue_step(table, plan, target)
    altered = None  # the event, once the change is made (a failed one is reported by no one)
    try:
        if _columns_change(plan) and not connection.dialect.alters_in_place:
            _rebuild(table, plan, target_definition, parents, target.table, finish)
        else:
            _alter_in_place(table, plan, target.table, finish)
        altered = CatalogEvent("alter", table.database, table.table_name)
    except (sa.exc.DBAPIError, *connection._driver_errors()) as error:
        raise DataJointError(
            f"{table.full_name}: the database refused the change and the table is unchanged: "
            f"{getattr(error, 'orig', error)}. Fix the values (e.g. fill NULLs with update1) "
            "or change the definition.") from None
    finally:
        catalog_of(connection).changed(altered)
    logger.info("%s", plan.describe())


def _columns_change(plan: AlterPlan) -> bool:
    """Whether columns change beyond what every backend does in place (comments, renames)."""
    return any(c.changes_column for c in plan.changes)


def _renamed(plan: AlterPlan) -> dict[str, str]:
    """New name -> old name of every renamed attribute."""
    return {c.name: c.old.name for c in plan.changes if c.kind == "rename" and c.old}


def _check_rows_allow(table: Table, plan: AlterPlan) -> None:
    required = [c.name for c in plan.changes if c.kind == "add" and c.new is not None
                and not c.new.nullable and c.new.default is None]
    if required and len(table):
        name = required[0]
        raise DefinitionError(
            f"{table.full_name} has rows, so the new attribute {name!r} needs a value for them: "
            f"give it a default (`{name} = <value> : type`) or make it nullable "
            f"(`{name} = null : type`)")


def _target_definition(table: Table, plan: AlterPlan) -> TableDefinition:
    """The stored definition with the plan's changes (foreign keys exactly as stored)."""
    stored = declared_definition(table)
    by_name = {c.old.name if c.kind == "rename" and c.old else c.name: c for c in plan.changes}
    items: list[Item] = []
    for item in stored.items:
        change = by_name.get(getattr(item, "name", ""))
        if isinstance(item, AttributeSpec) and change is not None:
            if change.kind != "drop" and change.new is not None:
                items.append(change.new)
            continue
        items.append(item)
    items += [c.new for c in plan.changes if c.kind == "add" and c.new is not None]
    comment = plan.comment[1] if plan.comment is not None else stored.comment
    return TableDefinition(comment, tuple(items), stored.indexes)


def _stored_parents(table: Table, definition: TableDefinition) -> list[ResolvedParent]:
    """Each stored foreign key of ``definition`` with its parent's info, in the same order."""
    info = table.info
    owner: dict[str, Any] = {}
    for fk in info.foreign_keys:
        for child, _ in fk.attr_map:
            owner.setdefault(child, fk)
    ordered: list[Any] = []
    for attribute in info.heading.attributes_:
        fk = owner.get(attribute.name)
        if fk is not None and all(fk is not seen for seen in ordered):
            ordered.append(fk)
    parents = []
    for spec, fk in zip(definition.foreign_keys, ordered):
        schema, _, name = fk.parent.partition(".")
        parents.append(ResolvedParent(spec, catalog_of(table.connection).table_info(schema, name)))
    return parents


def _catalogue_step(table: Table, plan: AlterPlan, target: Any) -> Any:
    """Comment rows (SQLite) and lineage rows for the changed attributes, as one step."""
    connection = table.connection
    system = catalog.system_tables(connection, table.database)
    name = table.table_name
    renamed_from = [c.old.name for c in plan.changes if c.kind == "rename" and c.old]
    touched = {c.name for c in plan.changes} | set(renamed_from) | (
        {""} if plan.comment is not None else set())
    comment_rows = [r for r in target.comment_rows if r["attribute_name"] in touched
                    and r["attribute_name"] not in plan.names("drop")]
    lineage_rows = [r for r in target.lineage_rows
                    if r["attribute_name"] in (*plan.names("add"), *plan.names("rename"))]
    gone = [*plan.names("drop"), *renamed_from]

    def step(sa_connection: sa.Connection) -> None:
        lineage = system[0]
        if gone:
            sa_connection.execute(sa.delete(lineage).where(
                lineage.c.table_name == name, lineage.c.attribute_name.in_(gone)))
        if lineage_rows:
            sa_connection.execute(sa.insert(lineage), lineage_rows)
        if len(system) > 1 and touched:
            comments = system[1]
            sa_connection.execute(sa.delete(comments).where(
                comments.c.table_name == name, comments.c.attribute_name.in_(sorted(touched))))
            if comment_rows:
                sa_connection.execute(sa.insert(comments), comment_rows)

    return step


def _alter_in_place(table: Table, plan: AlterPlan, target: sa.Table, finish: Any) -> None:
    connection = table.connection
    dialect = connection.dialect
    # a renamed column keeps its values (converted if it changes too); its stored comment
    # (type marker) is written again
    changed_renames = [c.name for c in plan.changes if c.kind == "rename" and c.changes_column]
    modified = [*plan.names("modify"), *changed_renames]
    recommented = [n for n in (*plan.names("comment"), *plan.names("rename"))
                   if n not in changed_renames] if dialect.keeps_comments else []
    statements = dialect.alter_statements(
        target, plan.names("add"), plan.names("drop"), modified, recommented,
        table_comment=plan.comment is not None and dialect.keeps_comments,
        renamed=_renamed(plan))
    new_columns = [target.c[n] for n in (*plan.names("add"), *modified)]

    def work(sa_connection: sa.Connection) -> None:
        for column in new_columns:  # e.g. a PostgreSQL enum type the column needs
            if isinstance(column.type, sa.types.SchemaType):
                column.type.create(sa_connection, checkfirst=True)
        for statement in statements:
            sa_connection.execute(statement)
        finish(sa_connection)

    connection.call(work)


def _rebuild(table: Table, plan: AlterPlan, definition: TableDefinition,
             parents: list[ResolvedParent], target: sa.Table, finish: Any) -> None:
    connection = table.connection
    dialect = connection.dialect
    staging = plan_table(connection, table.database, f"~alter~{table.table_name}", definition,
                         parents).table
    kept = [c.name for c in target.columns if c.name not in plan.names("add")]
    sources = {new: old for new, old in _renamed(plan).items() if new in kept}
    sa_schema, address = dialect.table_address(table.database, table.table_name)
    current = sa.Table(address, sa.MetaData(), *[sa.Column(sources.get(n, n)) for n in kept],
                       schema=sa_schema)
    connection.call(lambda c: dialect.rebuild_table(c, current, target, staging, kept, finish,
                                                    sources))
