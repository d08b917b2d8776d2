"""MySQL and MariaDB: portable fragments are written in MySQL's own forms (the base rules)."""

from __future__ import annotations

from ..fragment_rules import FragmentRules

__all__ = ["MySQLFragmentRules"]


class MySQLFragmentRules(FragmentRules):
    """The reference dialect: nothing differs."""
