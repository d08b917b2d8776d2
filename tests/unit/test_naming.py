"""Class names <-> SQL table names, and tiers read back from names."""

import warnings

import pytest

from dj_jupyter.catalog.naming import (
    MAX_TABLE_NAME,
    TIER_PREFIXES,
    check_table_name_length,
    class_name_of,
    from_camel_case,
    master_of,
    table_name,
    tier_of,
    to_camel_case,
)
from dj_jupyter.errors import DataJointError, DefinitionError


@pytest.mark.parametrize(
    ("camel", "snake"),
    [
        ("Session", "session"),
        ("SessionTrial", "session_trial"),
        ("ProcessedEMG", "processed_e_m_g"),
        ("Trial2", "trial2"),
        ("Scan3D", "scan3_d"),
        ("A", "a"),
    ],
)
def test_from_camel_case_splits_at_every_capital(camel, snake):
    assert from_camel_case(camel) == snake
    assert to_camel_case(snake) == camel


@pytest.mark.parametrize("bad", ["session", "2Session", "Session-Trial", "Séance", "", "_"])
def test_from_camel_case_rejects_invalid_class_names(bad):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DefinitionError, match="starts with a capital letter"):
            from_camel_case(bad)


def test_underscores_in_class_names_are_stripped_with_a_warning():
    with pytest.warns(UserWarning, match="underscores.*'SessionTrial'"):
        assert from_camel_case("Session_Trial") == "session_trial"


def test_camel_case_without_underscores_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from_camel_case("SessionTrial")


@pytest.mark.parametrize(
    ("tier", "name"),
    [
        ("Manual", "subject_type"),
        ("Lookup", "#subject_type"),
        ("Imported", "_subject_type"),
        ("Computed", "__subject_type"),
    ],
)
def test_table_name_uses_the_tier_prefix(tier, name):
    assert TIER_PREFIXES[tier] + "subject_type" == name
    assert table_name(tier, "SubjectType") == name
    assert tier_of(name) == tier
    assert master_of(name) is None
    assert class_name_of(name) == "SubjectType"


@pytest.mark.parametrize("master", ["manual", "#lookup", "_imported", "__computed", "__analysis"])
def test_part_table_names_round_trip(master):
    name = table_name("Part", "UnitSpike", master)
    assert name == f"{master}__unit_spike"
    assert tier_of(name) == "Part"
    assert master_of(name) == master
    assert class_name_of(name) == "UnitSpike"


def test_the_master_of_a_part_keeps_its_own_tier():
    assert tier_of(master_of("__computed__part")) == "Computed"
    assert tier_of(master_of("#lookup__part")) == "Lookup"
    assert tier_of(master_of("_imported__part")) == "Imported"
    assert tier_of(master_of("manual__part")) == "Manual"


def test_class_name_of_a_part_is_its_last_component():
    assert class_name_of("__analysis__unit") == "Unit"
    assert class_name_of("#subject_type") == "SubjectType"


def test_part_needs_a_master_name():
    with pytest.raises(DefinitionError, match="master"):
        table_name("Part", "Unit")


def test_unknown_tier_is_refused():
    with pytest.raises(DefinitionError, match="Manual, Lookup, Imported, Computed, Part"):
        table_name("Automatic", "Unit")


@pytest.mark.parametrize("hidden", ["~lineage", "~~__computed", "~log"])
def test_hidden_tables_have_no_tier(hidden):
    with pytest.raises(DataJointError, match="hidden"):
        tier_of(hidden)
    with pytest.raises(DataJointError, match="hidden"):
        master_of(hidden)


@pytest.mark.parametrize(
    "malformed",
    ["", "Session", "___x", "a__b__c", "x_", "_", "#", "a__", "#a__#b", "a___b", "1abc", "a b"],
)
def test_malformed_names_are_refused(malformed):
    with pytest.raises(DataJointError, match="not a DataJoint table name"):
        tier_of(malformed)


def test_table_name_length_limit():
    assert check_table_name_length("a" * MAX_TABLE_NAME) == "a" * MAX_TABLE_NAME
    with pytest.raises(DefinitionError, match="64 characters; the limit is 63"):
        check_table_name_length("a" * 64)
    with pytest.raises(DefinitionError, match="shorter class name"):
        table_name("Computed", "A" + "b" * 61)
    assert table_name("Computed", "A" + "b" * 60) == "__a" + "b" * 60
