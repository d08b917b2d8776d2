"""How class names become SQL table names, and back.

A table's tier is written into its SQL name as a prefix (``#`` Lookup, ``_``
Imported, ``__`` Computed, none for Manual; parts append ``__<part>`` to their
master's name), so the tier of an existing table can be recovered from the name
alone, which is what lets us rebuild classes for a schema we did not declare.
"""

from __future__ import annotations

import re
import warnings

from dj_jupyter.definition.limits import MAX_IDENTIFIER
from dj_jupyter.errors import DataJointError, DefinitionError

__all__ = [
    "MAX_TABLE_NAME",
    "TIER_PREFIXES",
    "TIER_REGEXPS",
    "check_table_name_length",
    "class_name_of",
    "from_camel_case",
    "master_of",
    "table_name",
    "tier_of",
    "to_camel_case",
]

MAX_TABLE_NAME = MAX_IDENTIFIER  # PostgreSQL's identifier limit, the stricter of the backends

TIER_PREFIXES = {"Manual": "", "Lookup": "#", "Imported": "_", "Computed": "__"}

_CLASS_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")
_BASE = r"[a-z][a-z0-9]*(?:_[a-z][a-z0-9]*)*"
_TIER_PATTERNS = {
    tier: re.compile(re.escape(prefix) + f"(?P<base>{_BASE})")
    for tier, prefix in TIER_PREFIXES.items()
}
_PART_PATTERN = re.compile(f"(?P<master>(?:__|_|#)?{_BASE})__(?P<base>{_BASE})")

# DataJoint's ``Tier.tier_regexp``: the table names of each tier, as pattern text with the
# tier's name as its group (a part's name is its master's, ``__``, and its own)
TIER_REGEXPS = {
    tier: f"(?P<{tier.lower()}>{re.escape(prefix)}{_BASE})"
    for tier, prefix in TIER_PREFIXES.items()
}
TIER_REGEXPS["Part"] = (f"(?P<master>{'|'.join(TIER_REGEXPS.values())})"
                        f"__(?P<part>{_BASE})")


def from_camel_case(name: str) -> str:
    """``SessionTrial`` -> ``session_trial``: every capital letter starts a new word."""
    if "_" in name:
        stripped = name.replace("_", "")
        warnings.warn(
            f"class name {name!r} contains underscores; they are removed ({stripped!r}) "
            "because underscores in table names separate words and tiers",
            UserWarning,
            stacklevel=2,
        )
        name = stripped
    if not _CLASS_NAME.fullmatch(name):
        raise DefinitionError(
            f"invalid class name {name!r}: a table class name starts with a capital letter "
            "and contains only letters and digits, e.g. SessionTrial"
        )
    return re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), name).lstrip("_")


def to_camel_case(snake: str) -> str:
    """``session_trial`` -> ``SessionTrial`` (the inverse of :func:`from_camel_case`)."""
    return "".join(word[:1].upper() + word[1:] for word in snake.split("_") if word)


def check_table_name_length(name: str) -> str:
    """Return ``name`` unchanged, or raise if no backend could hold it."""
    if len(name) > MAX_TABLE_NAME:
        raise DefinitionError(
            f"table name {name!r} has {len(name)} characters; the limit is {MAX_TABLE_NAME}. "
            "Choose a shorter class name."
        )
    return name


def table_name(tier: str, class_name: str, master_table_name: str | None = None) -> str:
    """The SQL table name of a class of the given tier."""
    base = from_camel_case(class_name)
    if tier == "Part":
        if not master_table_name:
            raise DefinitionError(f"part table {class_name} needs its master's table name")
        return check_table_name_length(f"{master_table_name}__{base}")
    if tier not in TIER_PREFIXES:
        tiers = ", ".join([*TIER_PREFIXES, "Part"])
        raise DefinitionError(f"unknown tier {tier!r}: use one of {tiers}")
    if tier in ("Imported", "Computed"):  # its job table, ``~~<base>``, must fit too
        check_table_name_length("~~" + base)
    return check_table_name_length(TIER_PREFIXES[tier] + base)


def _classify(name: str) -> tuple[str, re.Match[str]]:
    """The tier of a table name and the match that recognised it."""
    if name.startswith("~"):
        raise DataJointError(f"{name!r} is a hidden system table, not a user table")
    for tier, pattern in _TIER_PATTERNS.items():
        match = pattern.fullmatch(name)
        if match:
            return tier, match
    match = _PART_PATTERN.fullmatch(name)
    if match:
        return "Part", match
    raise DataJointError(
        f"{name!r} is not a DataJoint table name: expected an optional tier prefix "
        "(#, _ or __), lower-case words joined by single underscores, and __<part> for parts"
    )


def tier_of(table_name: str) -> str:
    """``Manual``, ``Lookup``, ``Imported``, ``Computed`` or ``Part``, read from the name."""
    return _classify(table_name)[0]


def master_of(table_name: str) -> str | None:
    """The SQL name of a part table's master; ``None`` for a table that is not a part."""
    tier, match = _classify(table_name)
    return match.group("master") if tier == "Part" else None


def class_name_of(table_name: str) -> str:
    """The class name for a table: ``__analysis__unit`` -> ``Unit``."""
    return to_camel_case(_classify(table_name)[1].group("base"))


def master_of_full_name(full_name: str) -> str | None:
    """``schema.master`` for a part's ``schema.master__part``; None for anything else."""
    schema, _, table = full_name.partition(".")
    try:
        master = master_of(table)
    except DataJointError:
        return None
    return f"{schema}.{master}" if master else None
