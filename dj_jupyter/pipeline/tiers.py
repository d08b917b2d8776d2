"""The table tiers users subclass: Manual, Lookup, Imported, Computed and Part."""

from __future__ import annotations

from typing import Any, ClassVar

from ..catalog.naming import TIER_REGEXPS
from ..errors import DataJointError, RestrictionError
from ..populate.autopopulate import AutoPopulate
from ..tables.table import Table

__all__ = ["UserTable", "Manual", "Lookup", "Imported", "Computed", "Part", "Entry", "Ingest",
           "Compute"]


class UserTable(Table):
    """The base of every tier a user subclasses (DataJoint 2.x's ``UserTable``): a table
    bound to a class, as opposed to a ``FreeTable`` named at run time."""


class Manual(UserTable):
    """Rows entered by people or by scripts."""

    _tier = "Manual"
    tier_regexp: ClassVar[str] = TIER_REGEXPS["Manual"]  # its table names, as in DataJoint


class Lookup(UserTable):
    """Reference rows, often listed in ``contents`` and inserted when declared."""

    _tier = "Lookup"
    tier_regexp: ClassVar[str] = TIER_REGEXPS["Lookup"]  # its table names, as in DataJoint
    contents: ClassVar[Any] = ()


class Imported(AutoPopulate, UserTable):
    """Rows made by ``make`` from data outside the database (filled by ``populate``)."""

    _tier = "Imported"
    tier_regexp: ClassVar[str] = TIER_REGEXPS["Imported"]  # its table names, as in DataJoint
    _allow_insert = False


class Computed(AutoPopulate, UserTable):
    """Rows computed by ``make`` from other tables (filled by ``populate``)."""

    _tier = "Computed"
    tier_regexp: ClassVar[str] = TIER_REGEXPS["Computed"]  # its table names, as in DataJoint
    _allow_insert = False


class Part(UserTable):
    """Rows belonging to one master row; declared as a class nested in the master."""

    _tier = "Part"
    tier_regexp: ClassVar[str] = TIER_REGEXPS["Part"]  # its table names, as in DataJoint

    @property
    def master(self) -> type:
        return type(self)._master

    def delete(self, transaction: bool = True, prompt: bool | None = None,
               part_integrity: str = "enforce") -> int:
        """Parts are deleted through their master; see ``part_integrity``."""
        if part_integrity == "enforce":
            raise DataJointError(
                f"{type(self).__name__} is a part of {self.master.__name__}: delete from the "
                "master so that master and parts stay whole, or pass part_integrity='ignore' "
                "(parts only) or part_integrity='cascade' (also the masters of the deleted parts)")
        return super().delete(transaction=transaction, prompt=prompt,
                              part_integrity=part_integrity)

    def drop(self, prompt: bool | None = None, part_integrity: str = "enforce") -> None:
        if part_integrity != "ignore":
            raise RestrictionError(f"{type(self).__name__} is a part table: drop its master "
                                   f"{self.master.__name__}, or pass part_integrity='ignore'")
        super().drop(prompt=prompt, part_integrity=part_integrity)


# DataJoint 2.x's other names of the tiers
Entry = Manual
Ingest = Imported
Compute = Computed
