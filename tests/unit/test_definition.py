"""Definition text -> TableDefinition, the errors, and the render/parse round trip."""

import keyword
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dj_jupyter.definition import (
    AttributeSpec,
    Default,
    ForeignKeySpec,
    IndexSpec,
    TableDefinition,
    TypeSpec,
    parse_definition,
    parse_type,
    render_definition,
    strip_lines,
)
from dj_jupyter.errors import DefinitionError

INT32 = TypeSpec("int32", (), "int32")


def only_item(text: str):
    (item,) = parse_definition(text).items
    return item


def definition_error(text: str) -> DefinitionError:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DefinitionError) as e:
            parse_definition(text)
    return e.value


def assert_error(text: str, line: int, *fragments: str) -> None:
    error = definition_error(text)
    message = str(error)
    assert error.line == line
    assert message.startswith(f"line {line}: ")
    for fragment in fragments:
        assert fragment in message


# ---------------------------------------------------------------- layout


def test_full_layout_with_line_numbers():
    d = parse_definition(
        """
        # Recording sessions
        -> Subject
        session_id : int16  # session number
        ---
        session_date : date
        """
    )
    assert d.comment == "Recording sessions"
    assert d.items == (
        ForeignKeySpec(ref="Subject", in_key=True, line=3),
        AttributeSpec("session_id", TypeSpec("int16", (), "int16"), True,
                      comment="session number", line=4),
        AttributeSpec("session_date", TypeSpec("date", (), "date"), False, line=6),
    )
    assert d.indexes == ()
    assert [a.name for a in d.attributes] == ["session_id", "session_date"]
    assert [f.ref for f in d.foreign_keys] == ["Subject"]


def test_without_separator_every_attribute_is_primary():
    d = parse_definition("a : int32\nb : int32\n-> Other")
    assert all(item.in_key for item in d.items)
    assert len(d.items) == 3


@pytest.mark.parametrize("separator", ["---", "----", "------------", "--- secondary follows"])
def test_any_line_starting_with_three_dashes_separates(separator):
    d = parse_definition(f"a : int32\n{separator}\nb : int32")
    assert [(a.name, a.in_key) for a in d.attributes] == [("a", True), ("b", False)]


def test_only_secondary_attributes():
    d = parse_definition("---\nb : int32")
    assert d.items == (AttributeSpec("b", INT32, False, line=2),)


def test_blank_lines_and_later_comments_are_ignored():
    d = parse_definition("\n\n  # the table  \n\n# not a comment\na : int32\n   \n# x : int32")
    assert d.comment == "the table"
    assert d.items == (AttributeSpec("a", INT32, True, line=6),)


def test_a_comment_line_after_an_attribute_is_not_the_table_comment():
    d = parse_definition("a : int32\n# later")
    assert d.comment == ""


def test_empty_definition():
    assert parse_definition("") == TableDefinition()
    assert parse_definition("# only a comment") == TableDefinition(comment="only a comment")


def test_table_comment_must_not_start_with_colon():
    assert_error("\n# :int32: comment\na : int32", 2, "must not start with ':'")


def test_only_one_separator():
    assert_error("a : int32\n---\nb : int32\n---\nc : int32", 4, "only one --- line",
                 "line 2", "remove this one")


# ---------------------------------------------------------------- attributes


def test_attribute_comment_may_contain_colons_and_quotes():
    item = only_item("a : int32   # the subject's age: in days  ")
    assert item.comment == "the subject's age: in days"


def test_attribute_comment_must_not_start_with_colon():
    assert_error("a : int32  # :uh", 1, "must not start with ':'")


def test_type_text_may_contain_spaces_and_quotes():
    item = only_item("""kind : enum('a b', "c#d", 'e:f')  # kinds""")
    assert item.type == TypeSpec("enum", ("a b", "c#d", "e:f"), "enum('a b','c#d','e:f')")
    assert item.comment == "kinds"


def test_native_types_in_definitions_warn():
    with pytest.warns(UserWarning, match="native type int unsigned"):
        item = only_item("a : int unsigned")
    assert item.type == TypeSpec("native", ("int64",), "int unsigned")


def test_codec_attribute():
    item = only_item("---\nraw = null : <blob@cold>  # raw data")
    assert item.type == TypeSpec("codec", ("blob", "cold"), "<blob@cold>")
    assert item.nullable and item.default is None


@pytest.mark.parametrize(
    ("default_text", "nullable", "default"),
    [
        ("null", True, None),
        ("NULL", True, None),
        ("Null", True, None),
        ("5", False, Default("5")),
        ("-1", False, Default("-1")),
        ("1.5", False, Default("1.5")),
        ("1e-3", False, Default("1e-3")),
        ("true", False, Default("true")),
        ("'x'", False, Default("x")),
        ('"x"', False, Default("x")),
        ("''", False, Default("")),
        ("'null'", False, Default("null")),
        ("'it''s'", False, Default("it's")),
        ("'it\\'s'", False, Default("it's")),
        ('"say \\"hi\\""', False, Default('say "hi"')),
        ("'a # b : c'", False, Default("a # b : c")),
        ("'CURRENT_TIMESTAMP'", False, Default("CURRENT_TIMESTAMP")),
    ],
)
def test_defaults(default_text, nullable, default):
    item = only_item(f"---\nvalue = {default_text} : varchar(32)  # a value")
    assert (item.nullable, item.default, item.comment) == (nullable, default, "a value")
    assert item.type == TypeSpec("varchar", (32,), "varchar(32)")


@pytest.mark.parametrize(
    "default_text, default",
    [
        ("CURRENT_TIMESTAMP", Default("CURRENT_TIMESTAMP", is_expression=True)),
        ("current_timestamp", Default("CURRENT_TIMESTAMP", is_expression=True)),
        ("current_timestamp(3)", Default("CURRENT_TIMESTAMP(3)", is_expression=True)),
    ],
)
def test_current_timestamp_defaults(default_text, default):
    item = only_item(f"---\nat = {default_text} : datetime(3)  # a time")
    assert (item.nullable, item.default, item.comment) == (False, default, "a time")


@pytest.mark.parametrize("type_text", ["int32", "varchar(32)", "float64", "date"])
def test_current_timestamp_needs_a_datetime(type_text):
    with pytest.raises(DefinitionError, match="only for datetime"):
        parse_definition(f"---\nvalue = CURRENT_TIMESTAMP : {type_text}")


def test_defaults_are_allowed_in_the_primary_key():
    item = only_item("a = 3 : int32")
    assert item.in_key and item.default == Default("3")


@pytest.mark.parametrize(
    ("line", "fragments"),
    [
        ("a = : int32", ("empty default", "remove the '='")),
        ("a =   : int32", ("empty default",)),
        ("a = two words : varchar(9)", ("quote text defaults", '= "some text"')),
        ("a = 'x' 'y' : varchar(9)", ("a default is one value",)),
        ("a = 'x'y : varchar(9)", ("a default is one value",)),
        ("a = 'unterminated : varchar(9)", ("unterminated string", "close it with '")),
    ],
)
def test_invalid_defaults(line, fragments):
    assert_error(f"---\n{line}", 2, *fragments)


def test_null_is_forbidden_in_the_primary_key():
    assert_error("\na = null : int32", 2, "cannot default to null", "move the attribute below ---")


@pytest.mark.parametrize("type_text", ["json", "bytes", "<blob>", "<attach@>", "longblob", "text"])
def test_blob_like_types_cannot_be_primary(type_text):
    assert_error(f"a : {type_text}", 1, "cannot be in the primary key", "move 'a' below ---")


@pytest.mark.parametrize("type_text", ["json", "bytes", "<blob>", "longtext"])
def test_blob_like_types_accept_only_a_null_default(type_text):
    assert_error(f"---\na = '{{}}' : {type_text}", 2, "accepts only a null default")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert only_item(f"---\na = null : {type_text}").nullable


@pytest.mark.parametrize(
    ("line", "fragments"),
    [
        ("Subject_id : int32", ("attribute names are lower case: write subject_id",)),
        ("ID : int32", ("write id",)),
        ("_hidden : int32", ("names starting with _ are reserved", "write hidden")),
        ("__ : int32", ("names starting with _ are reserved",)),
        ("1a : int32", ("invalid attribute name '1a'", "name : type")),
        ("a-b : int32", ("invalid attribute name 'a-b'",)),
        ("a b : int32", ("invalid attribute name 'a b'",)),
        (": int32", ("missing attribute name", "name : type")),
        ("a int32", ("missing ':'", "an attribute is written `name : type  # comment`")),
        ("a = 'x:y' int32", ("missing ':'",)),
        ("a : int32 extra", ("unexpected 'extra' after int32",)),
        ("a : ", ("unknown type", "<codec@store>")),
        ("a : varchar  # name", ("varchar needs a length: write varchar(255)",)),
        ("a : uint8", ("use int16",)),
        ("what is this", ("missing ':'",)),
    ],
)
def test_invalid_attribute_lines(line, fragments):
    assert_error(f"# comment\n\n{line}", 3, *fragments)


def test_type_errors_quote_the_users_line():
    error = definition_error("\n   a : varchar   ")
    assert str(error).startswith("line 2: 'a : varchar'")


def test_duplicate_attributes_name_both_lines():
    assert_error("a : int32\n---\nb : int32\n\na : int16", 5, "'a' is declared twice",
                 "on line 1 and line 5")


def test_foreign_keys_do_not_count_as_duplicate_attributes():
    d = parse_definition("-> Subject\n-> Subject\nsubject_id : int32")
    assert len(d.items) == 3


# ---------------------------------------------------------------- foreign keys


@pytest.mark.parametrize("ref", ["Subject", "lab.Subject", "self", "master", "a.b.C", "_Private"])
def test_foreign_key_references(ref):
    assert only_item(f"->{ref}") == ForeignKeySpec(ref=ref, in_key=True, line=1)


def test_foreign_key_options_and_comment():
    item = only_item("---\n->  [ Nullable ,UNIQUE ]  lab.Rig   # where it ran")
    assert item == ForeignKeySpec(ref="lab.Rig", in_key=False, nullable=True, unique=True, line=2)


@pytest.mark.parametrize(
    ("options", "nullable", "unique"),
    [("[nullable]", True, False), ("[unique]", False, True), ("[]", False, False),
     ("[unique, unique]", False, True)],
)
def test_each_foreign_key_option(options, nullable, unique):
    item = only_item(f"---\n-> {options} Rig")
    assert (item.nullable, item.unique, item.ref) == (nullable, unique, "Rig")


def test_unique_foreign_key_may_be_primary():
    assert only_item("-> [unique] Rig").unique


def test_projection_renames_in_order():
    item = only_item("""-> Experiment.proj(animal='subject_id', day="session_date")  # x""")
    assert item.ref == "Experiment"
    assert item.renames == (("animal", "subject_id"), ("day", "session_date"))


def test_projection_with_hash_inside_quotes_is_not_cut():
    error = definition_error("-> Subject.proj(a='b#c')")
    assert "'b#c' is not an attribute name" in str(error)


@pytest.mark.parametrize(
    ("line", "fragments"),
    [
        ("-> [nullable] Subject", ("cannot be nullable", "move it below ---")),
        ("-> [optional] Subject", ("unknown foreign-key option 'optional'",
                                   "valid options are nullable, unique")),
        ("-> [nullable Subject", ("close the option list with ']'",)),
        ("->", ("missing table after '->'", "-> Subject")),
        ("-> # just a comment", ("missing table",)),
        ("-> Subject & 'x = 1'", ("is not a table", "Subject.proj(new_name='old_name')")),
        ("-> Subject()", ("is not a table or a renaming projection",)),
        ("-> Subject.proj('a')", ("is not a table or a renaming projection",)),
        ("-> Subject.aggr(a='b')", ("is not a table or a renaming projection",)),
        ("-> Subject.proj(a=b)", ("takes only new_name='old_name' arguments",)),
        ("-> Subject.proj(a=1)", ("takes only new_name='old_name' arguments",)),
        ("-> Subject.proj(**x)", ("takes only new_name='old_name' arguments",)),
        ("-> Subject.proj(a='B')", ("'B' is not an attribute name",)),
        ("-> Subject.proj(A='b')", ("'A' is not an attribute name",)),
        ("-> Subject.proj(a='x', a='y')", ("renames 'a' twice",)),
        ("-> Subject[0]", ("is not a table",)),
        ("-> (Subject)()", ("is not a table or a renaming projection",)),
        ("-> lab.(Subject)", ("cannot read",)),
        ("-> __import__('os').system('x')", ("is not a table",)),
        ("-> 'Subject'", ("is not a table",)),
    ],
)
def test_invalid_foreign_keys(line, fragments):
    assert_error(f"\n{line}", 2, *fragments)


def test_foreign_key_errors_name_the_accepted_forms():
    message = str(definition_error("-> Subject & 'x'"))
    assert "-> Subject" in message
    assert "-> Subject.proj(new_name='old_name')" in message


# ---------------------------------------------------------------- indexes


def test_indexes():
    d = parse_definition(
        "a : int32\n---\nb : int32\nc : int32\n"
        "index(b)\nUNIQUE INDEX ( b , c )  # fast lookups\nIndex(c, b)"
    )
    assert d.indexes == (
        IndexSpec(("b",), unique=False, line=5),
        IndexSpec(("b", "c"), unique=True, line=6),
        IndexSpec(("c", "b"), unique=False, line=7),
    )
    assert [a.name for a in d.attributes] == ["a", "b", "c"]


def test_index_lines_may_appear_in_the_primary_section():
    d = parse_definition("a : int32\nindex(a)\n---\nb : int32")
    assert d.indexes == (IndexSpec(("a",), line=2),)
    assert [(a.name, a.in_key) for a in d.attributes] == [("a", True), ("b", False)]


def test_attribute_named_like_index_is_an_attribute():
    item = only_item("index_id : int32")
    assert item.name == "index_id"
    item = only_item("unique_index : int32")
    assert item.name == "unique_index"


@pytest.mark.parametrize(
    ("line", "fragments"),
    [
        ("index()", ("needs at least one attribute", "index(a, b)")),
        ("unique index(  )", ("needs at least one attribute",)),
        ("index(a,)", ("'' is not an attribute name",)),
        ("index(a, B)", ("'B' is not an attribute name", "`unique index(a, b)`")),
        ("index(a", ("cannot read this index", "index(a, b)")),
        ("index(a) extra", ("cannot read this index",)),
        ("index((a + b))", ("cannot read this index",)),
    ],
)
def test_invalid_indexes(line, fragments):
    assert_error(f"---\n{line}", 2, *fragments)


# ---------------------------------------------------------------- render and round trip


def test_render_layout():
    d = parse_definition(
        """
        # Sessions
        -> Subject
        session_id : int16  # number
        ---
        -> [nullable, unique] lab.Rig.proj(rig='rig_id')  # dropped
        note = "it's" : varchar(255)
        weight = 1.5 : float64
        flag = 'null' : varchar(4)
        ts = current_timestamp(3) : datetime(3)
        data = null : <blob@>
        unique index(note, weight)
        """
    )
    assert render_definition(d) == (
        "# Sessions\n"
        "-> Subject\n"
        "session_id : int16  # number\n"
        "---\n"
        '-> [nullable, unique] lab.Rig.proj(rig="rig_id")\n'
        'note = "it\'s" : varchar(255)\n'
        "weight = 1.5 : float64\n"
        'flag = "null" : varchar(4)\n'
        "ts = CURRENT_TIMESTAMP(3) : datetime(3)\n"
        "data = null : <blob@>\n"
        "unique index(note, weight)\n"
    )


def test_strip_lines_zeroes_every_line_number():
    d = strip_lines(parse_definition("\n-> A\na : int32\n---\nindex(a)"))
    assert [item.line for item in d.items] == [0, 0]
    assert [index.line for index in d.indexes] == [0]


NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
KEYWORD_FREE = NAMES.filter(lambda n: not keyword.iskeyword(n))
REFS = st.lists(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True).filter(
        lambda n: not keyword.iskeyword(n)), min_size=1, max_size=3,
).map(".".join)
ONE_LINE_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12
)
COMMENTS = ONE_LINE_TEXT.map(str.strip).filter(lambda c: not c.startswith(":"))
KEY_TYPES = [
    "int8", "int16", "int32", "int64", "float32", "float64", "bool", "decimal(5,2)", "char(3)",
    "varchar(255)", "enum('a','b''c')", "date", "datetime", "datetime(6)", "uuid",
    "int unsigned", "double precision", "timestamp(3)",
]
BLOB_TYPES = ["json", "bytes", "<blob>", "<blob@>", "<attach@cold>", "longblob", "text"]


def spec_of(text: str) -> TypeSpec:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse_type(text)


@st.composite
def defaults(draw, spec):
    if spec.name == "datetime" and draw(st.booleans()):
        return Default(draw(st.sampled_from(["CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP(6)"])), True)
    return Default(draw(ONE_LINE_TEXT | st.sampled_from(["0", "-1.5", "true", "null", "1e5"])))


@st.composite
def attributes(draw, name: str, in_key: bool):
    blob = not in_key and draw(st.booleans())
    spec = spec_of(draw(st.sampled_from(BLOB_TYPES if blob else KEY_TYPES)))
    nullable = not in_key and draw(st.booleans())
    default = None if nullable or blob or draw(st.booleans()) else draw(defaults(spec))
    return AttributeSpec(name, spec, in_key, nullable=nullable, default=default,
                         comment=draw(COMMENTS))


@st.composite
def foreign_keys(draw, in_key: bool):
    renames = draw(st.lists(st.tuples(KEYWORD_FREE, NAMES), max_size=3,
                            unique_by=lambda pair: pair[0]))
    nullable = not in_key and draw(st.booleans())
    return ForeignKeySpec(ref=draw(REFS), in_key=in_key, nullable=nullable,
                          unique=draw(st.booleans()), renames=tuple(renames))


@st.composite
def definitions(draw):
    names = draw(st.lists(NAMES, max_size=8, unique=True))
    primary_count = draw(st.integers(0, len(names)))
    items = []
    for position, name in enumerate(names):
        in_key = position < primary_count
        if draw(st.booleans()):
            items.append(draw(foreign_keys(in_key)))
        items.append(draw(attributes(name, in_key)))
    indexes = draw(st.lists(st.builds(IndexSpec, st.lists(NAMES, min_size=1, max_size=3).map(
        tuple), st.booleans()), max_size=3))
    return TableDefinition(comment=draw(COMMENTS), items=tuple(items), indexes=tuple(indexes))


@settings(max_examples=300)
@given(definitions())
def test_parse_inverts_render(definition):
    text = render_definition(definition)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = parse_definition(text)
    assert strip_lines(parsed) == definition
    assert render_definition(parsed) == text
