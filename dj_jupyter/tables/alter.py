"""``Table.alter()``: the user's side — the plan for a table class, shown and confirmed.

The catalogue layer (:mod:`dj_jupyter.catalog.alter`) compares two definitions and changes the
stored table; this module reads the class's ``definition`` in the namespace that declared it,
resolves its foreign keys to tables, asks, and applies.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..catalog.alter import AlterPlan, apply_alter, declared_definition, plan_alter
from ..definition.model import ForeignKeySpec
from ..definition.parser import parse_definition
from ..errors import DataJointError, TransactionError
from .cascade import confirm
from .resolve import caller_namespace, resolve_parent

if TYPE_CHECKING:
    from .table import Table

__all__ = ["alter", "plan_for"]

logger = logging.getLogger("dj_jupyter")


def plan_for(table: Table, context: dict | None = None) -> AlterPlan:
    """The plan that makes ``table``'s stored definition equal to its class's ``definition``."""
    new = parse_definition(type(table).definition)
    names = _context(table, context)
    stored = declared_definition(table, names)
    return plan_alter(table.full_name, stored, new, lambda a, b: _parent(a, names) ==
                      _parent(b, names))


def _context(table: Table, context: dict | None) -> dict:
    cls = type(table)
    names = dict(context) if context is not None else caller_namespace()
    names.setdefault(cls.__name__, cls)
    names["self"] = cls
    if getattr(cls, "_master", None) is not None:
        names["master"] = cls._master
    return names


def _parent(spec: ForeignKeySpec, names: dict) -> str:
    try:
        return resolve_parent(spec, names).full_name
    except DataJointError:
        return spec.ref


# -- applying -----------------------------------------------------------------------------


def alter(table: Table, prompt: bool = True, context: dict | None = None) -> AlterPlan:
    """Show the plan, ask (if ``prompt``), then apply it; return the plan."""
    if table.connection.in_transaction:
        raise TransactionError("alter() is not allowed inside a transaction; commit or cancel "
                               "the transaction first")
    plan = plan_for(table, context)
    if plan.is_empty:
        logger.info("%s: nothing to alter", table.full_name)
        return plan
    if prompt and not confirm("Apply these changes?", plan.describe()):
        logger.info("Alter cancelled; nothing was changed.")
        return plan
    apply_alter(table, plan)
    return plan
