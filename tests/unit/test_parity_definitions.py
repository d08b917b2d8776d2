"""MySQL-style type modifiers as DataJoint 2.x accepts them in definitions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dj_jupyter.definition.types import is_auto_increment, parse_type
from dj_jupyter.errors import DefinitionError

pytestmark = pytest.mark.filterwarnings("ignore:native type:UserWarning")

NATIVE_INTS = ["tinyint", "smallint", "mediumint", "int", "integer", "bigint"]


@given(name=st.sampled_from(NATIVE_INTS), width=st.sampled_from(["", "(11)"]),
       unsigned=st.booleans(), auto=st.booleans())
def test_native_integers_take_unsigned_then_auto_increment(name, width, unsigned, auto):
    text = f"{name}{width}" + (" unsigned" if unsigned else "") + (" auto_increment" if auto
                                                                    else "")
    spec = parse_type(text)
    assert spec.is_native and is_auto_increment(spec) is auto
    assert spec.args[0].startswith("int")
    assert parse_type(spec.text) == spec  # the recorded text reads back the same


@pytest.mark.parametrize("text, core", [("float unsigned", "float32"),
                                        ("double unsigned", "float64"),
                                        ("decimal(5,2) unsigned", "decimal(5,2)")])
def test_unsigned_numbers_are_native_types(text, core):
    spec = parse_type(text)
    assert spec.is_native and spec.args == (core,) and spec.text == text
    assert not is_auto_increment(spec)


@pytest.mark.parametrize("text, message", [
    ("int auto_increment unsigned", "only 'unsigned' and then 'auto_increment'"),
    ("int32 auto_increment", "unexpected"),
    ("int32 unsigned", "unsigned types do not exist"),
    ("varchar(8) auto_increment", "unexpected"),
])
def test_misplaced_modifiers_are_refused(text, message):
    with pytest.raises(DefinitionError, match=message):
        parse_type(text)
