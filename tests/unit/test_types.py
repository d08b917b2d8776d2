"""Type text -> TypeSpec: core types, codecs, native SQL types, and the errors."""

import re
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dj_jupyter.definition.model import TypeSpec
from dj_jupyter.definition.types import CORE_TYPES, is_blob_like, parse_type
from dj_jupyter.errors import DefinitionError


def parse_quietly(text: str) -> TypeSpec:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse_type(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("int8", TypeSpec("int8", (), "int8")),
        ("INT64", TypeSpec("int64", (), "int64")),
        ("float32", TypeSpec("float32", (), "float32")),
        ("Float64", TypeSpec("float64", (), "float64")),
        ("bool", TypeSpec("bool", (), "bool")),
        ("date", TypeSpec("date", (), "date")),
        ("json", TypeSpec("json", (), "json")),
        ("uuid", TypeSpec("uuid", (), "uuid")),
        ("bytes", TypeSpec("bytes", (), "bytes")),
        ("decimal(5,2)", TypeSpec("decimal", (5, 2), "decimal(5,2)")),
        ("DECIMAL( 65 , 0 )", TypeSpec("decimal", (65, 0), "decimal(65,0)")),
        ("char(1)", TypeSpec("char", (1,), "char(1)")),
        ("varchar (32)", TypeSpec("varchar", (32,), "varchar(32)")),
        ("varchar(65535)", TypeSpec("varchar", (65535,), "varchar(65535)")),
        ("datetime", TypeSpec("datetime", (), "datetime")),
        ("datetime(3)", TypeSpec("datetime", (3,), "datetime(3)")),
        ("datetime(0)", TypeSpec("datetime", (0,), "datetime(0)")),
        ("enum('a','b')", TypeSpec("enum", ("a", "b"), "enum('a','b')")),
        ('ENUM("A", \'b c\' )', TypeSpec("enum", ("A", "b c"), "enum('A','b c')")),
        ("  int32  ", TypeSpec("int32", (), "int32")),
    ],
)
def test_core_types_resolve_to_canonical_specs(text, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # core types never warn
        assert parse_type(text) == expected


def test_enum_values_keep_quotes_commas_and_hashes():
    spec = parse_type("""enum('it''s', "a,b", 'x#y', 'back\\'slash', '(p)')""")
    assert spec.args == ("it's", "a,b", "x#y", "back'slash", "(p)")
    assert parse_type(spec.text) == spec


@given(st.lists(st.text(min_size=0, max_size=8), min_size=1, max_size=5, unique=True))
def test_enum_canonical_text_round_trips(values):
    def sql_quote(value: str) -> str:  # independent of the module's own quoting
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"

    spec = parse_type("enum(" + ", ".join(sql_quote(v) for v in values) + ")")
    assert spec.args == tuple(values)
    assert parse_type(spec.text) == spec


@pytest.mark.parametrize(
    ("text", "codec", "store"),
    [("<blob>", "blob", None), ("<blob@>", "blob", ""), ("<blob@cold>", "blob", "cold"),
     ("<my_codec2@store_1>", "my_codec2", "store_1"), (" <npy@> ", "npy", "")],
)
def test_codecs(text, codec, store):
    spec = parse_type(text)
    assert spec == TypeSpec("codec", (codec, store), text.strip())
    assert spec.is_codec and not spec.is_native


@pytest.mark.parametrize("bad", ["<Blob>", "<blob@-cold>", "<>", "<blob", "<1blob>", "<blob@@>",
                                 "<blob cold>", "<blob@cold@x>"])
def test_malformed_codecs_explain_the_syntax(bad):
    with pytest.raises(DefinitionError, match="<codec>, <codec@> or <codec@store>"):
        parse_type(bad)


@pytest.mark.parametrize(
    ("text", "core", "canonical"),
    [
        ("tinyint", "int8", "tinyint"),
        ("tinyint unsigned", "int16", "tinyint unsigned"),
        ("smallint", "int16", "smallint"),
        ("smallint unsigned", "int32", "smallint unsigned"),
        ("mediumint", "int32", "mediumint"),
        ("mediumint unsigned", "int32", "mediumint unsigned"),
        ("int", "int32", "int"),
        ("INTEGER", "int32", "integer"),
        ("int(11)", "int32", "int"),
        ("int(10) UNSIGNED", "int64", "int unsigned"),
        ("bigint", "int64", "bigint"),
        ("bigint unsigned", "int64", "bigint unsigned"),
        ("float", "float32", "float"),
        ("float(53)", "float64", "float(53)"),
        ("real", "float32", "real"),
        ("double", "float64", "double"),
        ("double  precision", "float64", "double precision"),
        ("boolean", "bool", "boolean"),
        ("text", "text", "text"),
        ("longtext", "text", "longtext"),
        ("mediumtext", "text", "mediumtext"),
        ("blob", "bytes", "blob"),
        ("longblob", "bytes", "longblob"),
        ("mediumblob", "bytes", "mediumblob"),
        ("tinyblob", "bytes", "tinyblob"),
        ("timestamp", "datetime", "timestamp"),
        ("timestamp(6)", "datetime(6)", "timestamp(6)"),
        ("numeric(8,3)", "decimal(8,3)", "numeric(8,3)"),
        ("time", "time", "time"),
        ("year", "int16", "year"),
    ],
)
def test_native_types_warn_and_map_to_a_core_type(text, core, canonical):
    expected = re.escape(f"native type {canonical} is not portable; use ")
    with pytest.warns(UserWarning, match=expected):
        spec = parse_type(text)
    assert spec == TypeSpec("native", (core,), canonical)
    assert spec.is_native
    assert parse_quietly(spec.text) == spec


def test_native_warning_names_the_portable_replacement():
    with pytest.warns(UserWarning, match="use int64$"):
        parse_type("int unsigned")
    with pytest.warns(UserWarning, match="use bytes or <blob>"):
        parse_type("longblob")
    with pytest.warns(UserWarning, match=r"use decimal\(8,3\)"):
        parse_type("numeric(8,3)")


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("uint8", "use int16 (the next larger signed type)"),
        ("UINT16", "use int32 (the next larger signed type)"),
        ("uint32", "use int64 (the next larger signed type)"),
        ("uint64", "use int64"),
        ("int8 unsigned", "use int16"),
    ],
)
def test_unsigned_core_types_do_not_exist(text, fix):
    with pytest.raises(DefinitionError) as e:
        parse_type(text)
    assert "unsigned types do not exist in DataJoint 2.x" in str(e.value)
    assert fix in str(e.value)


@pytest.mark.parametrize(
    ("text", "fix"),
    [
        ("varchar", "varchar needs a length: write varchar(255)"),
        ("char", "char needs a length: write char(1)"),
        ("varchar(0)", "between 1 and 65535, not 0"),
        ("varchar(65536)", "between 1 and 65535"),
        ("char(256)", "between 1 and 255"),
        ("varchar(a)", "varchar(length)"),
        ("varchar(3,2)", "varchar(length)"),
        ("decimal", "decimal(precision,scale)"),
        ("decimal(5)", "decimal(precision,scale)"),
        ("decimal(0,0)", "between 1 and 65, not 0"),
        ("decimal(66,2)", "between 1 and 65, not 66"),
        ("decimal(5,6)", "scale must be between 0 and the precision (5)"),
        ("datetime(7)", "between 0 and 6, not 7"),
        ("datetime(a)", "datetime(n)"),
        ("enum", "enum needs at least one value"),
        ("enum()", "enum needs at least one value"),
        ("enum(a, b)", "enum values must be quoted strings"),
        ("enum('a' 'b')", "separate enum values with commas"),
        ("enum('a',)", "enum values must be quoted strings"),
        ("enum('a', 'b', 'a')", "enum lists 'a' more than once"),
        ("enum('a)", "unterminated string"),
        ("int32(4)", "int32 takes no parameters: write int32"),
        ("json(2)", "json takes no parameters"),
        ("bool unsigned", "unexpected 'unsigned' after bool"),
        ("int unsigned zerofill", "only 'unsigned' and then 'auto_increment' may follow it"),
        ("text(20)", "text takes no parameters"),
        ("double foo", "unexpected 'foo' after double"),
    ],
)
def test_invalid_parameters_say_how_to_fix_them(text, fix):
    with pytest.raises(DefinitionError) as e:
        parse_quietly(text)
    assert fix in str(e.value)


@pytest.mark.parametrize("text", ["", "foo", "string", "int128", "(5)", "varchar2(3)", "123"])
def test_unknown_types_list_the_core_types_and_codec_syntax(text):
    with pytest.raises(DefinitionError) as e:
        parse_type(text)
    message = str(e.value)
    assert "int8, int16, int32, int64, float32, float64, bool, decimal" in message
    assert "<codec>, <codec@> or <codec@store>" in message


def test_unknown_type_suggests_a_close_core_type():
    with pytest.raises(DefinitionError, match="Did you mean float32"):
        parse_type("flaot32")


def test_errors_carry_the_line_number_and_text():
    with pytest.raises(DefinitionError) as e:
        parse_type("varchar", line=7, line_text="  name : varchar  ")
    assert e.value.line == 7
    assert str(e.value).startswith("line 7: 'name : varchar'")


def test_errors_without_a_line_number_do_not_invent_one():
    with pytest.raises(DefinitionError) as e:
        parse_type("varchar")
    assert e.value.line is None
    assert "line" not in str(e.value).split(":")[0]


def test_core_types_tuple():
    assert CORE_TYPES == ("int8", "int16", "int32", "int64", "float32", "float64", "bool",
                          "decimal", "char", "varchar", "enum", "date", "datetime", "json",
                          "uuid", "bytes")


@pytest.mark.parametrize(
    ("text", "blob_like"),
    [("json", True), ("bytes", True), ("<blob>", True), ("<attach@cold>", True),
     ("longblob", True), ("text", True), ("longtext", True), ("int32", False),
     ("varchar(3)", False), ("uuid", False), ("datetime", False), ("int", False),
     ("enum('a')", False)],
)
def test_is_blob_like(text, blob_like):
    assert is_blob_like(parse_quietly(text)) is blob_like


@pytest.mark.parametrize("name, keeps", [("object", "keeps files in"), ("hash", "keeps bytes in"),
                                         ("npy", "keeps arrays in"),
                                         ("filepath", "names a file in")])
def test_store_only_codecs_refuse_a_table_column(name, keeps):
    from dj_jupyter.objects.codecs import get_codec

    codec = get_codec(name)
    assert codec.get_dtype(True) == "json"
    with pytest.raises(DefinitionError) as refused:
        codec.get_dtype(False)
    assert str(refused.value) == (f"<{name}> requires @: it {keeps} an object store; write "
                                  f"<{name}@> (the default store) or <{name}@name>")
