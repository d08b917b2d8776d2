"""Bad input gets a DataJointError naming the fix, before anything is written (invariant 4).

One test per class of bad input found by fuzzing; each runs on every backend and checks that
the row (and object) counts did not change.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.errors import (
    DataJointError,
    DataTypeError,
    DefinitionError,
    MissingAttributeError,
    RestrictionError,
)


@pytest.fixture
def Thing(schema):
    @schema
    class Thing(dj.Manual):
        definition = """
        id: int32
        ---
        d = null: decimal(6,2)
        f = null: float64
        f32 = null: float32
        t = null: datetime(3)
        j = null: json
        s = null: varchar(32)
        """

    Thing.insert1({"id": 0, "s": "zero"})
    return Thing


def nested(depth: int, leaf=None, wrap=list):
    value = leaf
    for _ in range(depth):
        value = wrap([value] if value is not None else [])
    return value


BAD_VALUES = {
    "decimal 10**30": ("d", 10**30, "does not fit decimal"),
    "decimal 1e400": ("d", "1e400", "does not fit decimal"),
    "float 10**400": ("f", 10**400, "too large"),
    "float32 1e300": ("f32", 1e300, "float32 range"),
    "float32 1e-45": ("f32", 1e-45, "too close to zero"),
    "datetime rounds past 9999": ("t", dt.datetime(9999, 12, 31, 23, 59, 59, 999900),
                                  "rounds past"),
    "json 5000 deep": ("j", nested(5000), "nested deeper"),
    "json with NUL": ("j", {"a": "x\x00y"}, "NUL"),
    "json key with surrogate": ("j", {"a\udc80": 1}, "surrogate"),
    "lone surrogate": ("s", "a\ud800", "surrogate"),
    "NUL in text": ("s", "a\x00", "NUL"),
}


@pytest.mark.parametrize("attribute, value, message", BAD_VALUES.values(), ids=BAD_VALUES)
def test_bad_values_are_refused_before_writing(Thing, attribute, value, message):
    with pytest.raises(DataTypeError, match=message):
        Thing.insert([{"id": 1, "s": "fine"}, {"id": 2, attribute: value}])
    assert len(Thing) == 1
    with pytest.raises(DataTypeError, match=message):
        Thing.update1({"id": 0, attribute: value})
    assert (Thing & {"id": 0}).fetch1(attribute) is None or attribute == "s"


def test_deepest_json_every_backend_stores(Thing):
    from dj_jupyter.algebra.values import JSON_MAX_DEPTH

    document = nested(JSON_MAX_DEPTH)
    Thing.insert1({"id": 1, "j": document})
    assert (Thing & {"id": 1}).fetch1("j") == document


def test_aware_datetimes_are_stored_as_utc(Thing):
    """The one rule on every backend: an aware value is converted to UTC, stored naive."""
    Thing.insert([
        {"id": 1, "t": "2020-01-01T00:00:00+05:00"},
        {"id": 2, "t": dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-3)))},
    ])
    assert Thing.to_arrays("t", order_by="id").tolist()[1:] == [
        dt.datetime(2019, 12, 31, 19, 0), dt.datetime(2020, 1, 1, 3, 0)]
    assert len(Thing & {"t": "2020-01-01T03:00:00+00:00"}) == 1


def test_float32_limits_hold_everywhere(Thing):
    Thing.insert1({"id": 1, "f32": 3.0e38})
    assert math.isclose((Thing & {"id": 1}).fetch1("f32"), 3.0e38, rel_tol=1e-6)
    with pytest.raises(DataTypeError, match="float32"):
        Thing.insert1({"id": 2, "f32": -1e39})


def test_masked_array_into_object_store(schema, tmp_path: Path):
    spec = {"protocol": "file", "location": str(tmp_path / "objects")}
    with dj.config.override({"stores": {"default": "main", "main": spec}}):
        @schema
        class Scan(dj.Manual):
            definition = """
            scan: int32
            ---
            image: <npy@>
            """

        with pytest.raises(DataTypeError, match="masked array"):
            Scan.insert([{"scan": 1, "image": np.zeros(3)},
                         {"scan": 2, "image": np.ma.masked_array([1, 2], mask=[0, 1])}])
        assert len(Scan) == 0
        stored = [p for p in (tmp_path / "objects").rglob("*") if p.is_file()]
        assert stored == []


# -- restrictions -------------------------------------------------------------------------


def test_nan_in_a_restriction_means_null_as_in_insert(Thing):
    Thing.insert1({"id": 1, "f": float("nan")})  # stored as NULL
    assert len(Thing & {"f": float("nan")}) == 2
    assert len(Thing & {"f": np.float32("nan"), "id": 1}) == 1
    assert len(Thing - {"f": float("nan")}) == 0


@pytest.mark.parametrize("operand", [
    nested(5000, {"id": 0}),
    nested(5000, {"id": 0}, dj.AndList),
    nested(500, {"id": 0}, dj.Not),
], ids=["list", "AndList", "Not"])
def test_deep_restrictions_are_refused(Thing, operand):
    with pytest.raises(RestrictionError, match="flatten"):
        len(Thing & operand)


def test_shallow_nesting_still_works(Thing):
    assert len(Thing & nested(40, {"id": 0})) == 1
    assert len(Thing & nested(40, {"id": 0}, dj.AndList)) == 1


@pytest.mark.parametrize("operand", [
    {"s": "a\ud800"}, "s = 'a\ud800'", {"s": "a\x00"}, {"f": float("inf")}, {"id": 10**30},
], ids=["surrogate", "sql-surrogate", "NUL", "inf", "huge-int"])
def test_restriction_values_that_cannot_be_sent(Thing, operand):
    with pytest.raises(DataJointError):
        len(Thing & operand)


def test_thousands_of_dicts_restrict(Thing):
    Thing.insert([{"id": i} for i in range(1, 3000)])
    assert len(Thing & [{"id": i} for i in range(0, 6000, 2)]) == 1500
    assert len(Thing - [{"id": i, "s": None} for i in range(2500)]) == 501
    wide = [{"id": i, "s": None, "f": None} for i in range(1, 1200)]
    assert len(Thing & wide) == 1199
    assert len(Thing & dj.AndList([dj.Not({"id": i}) for i in range(1, 1500)])) == 1501


# -- shapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("call", [
    lambda T: T.insert1(5),
    lambda T: T.insert1(None),
    lambda T: T.insert1("id"),
    lambda T: T.insert(5),
    lambda T: T.insert(None),
    lambda T: T.insert("abc"),
    lambda T: T.insert([{"id": 1}, 5]),
    lambda T: T.insert([{"id": 1}, None]),
    lambda T: T.insert(np.array([1, 2])),
    lambda T: T.insert1({}),
    lambda T: T.insert([{}, {}]),
    lambda T: T.update1(5),
    lambda T: T.update1(None),
], ids=["insert1-int", "insert1-None", "insert1-str", "insert-int", "insert-None", "insert-str",
        "mixed", "mixed-None", "plain-array", "insert1-empty", "insert-empty-dicts",
        "update1-int", "update1-None"])
def test_row_shapes(Thing, call):
    with pytest.raises(DataJointError, match=r"dict|row|rows"):
        call(Thing)
    assert Thing.to_dicts() == [{"id": 0, "d": None, "f": None, "f32": None, "t": None,
                                 "j": None, "s": "zero"}]


def test_empty_dict_names_the_primary_key(Thing):
    with pytest.raises(MissingAttributeError, match="primary key"):
        Thing.insert1({})


@pytest.mark.parametrize("options", [
    {"order_by": 5}, {"order_by": [None]}, {"order_by": [""]}, {"order_by": {"id": 1}},
    {"limit": 1.5}, {"limit": -1}, {"limit": True}, {"limit": 1, "offset": "x"},
    {"limit": 1, "offset": -2},
])
def test_fetch_options(Thing, options):
    with pytest.raises(RestrictionError, match="order_by|limit|offset"):
        Thing.to_dicts(**options)
    with pytest.raises(RestrictionError):
        Thing.to_pandas(**options)


def test_fetch_options_that_are_fine(Thing):
    assert Thing.to_dicts(order_by=("id DESC",), limit=np.int64(1), offset=0)[0]["id"] == 0


# -- definitions: one rule for every backend, checked before any DDL ------------------------


def declared(schema) -> list[str]:
    return sorted(schema.list_tables())


def _declare(schema, name: str, definition):
    table = type(name, (dj.Manual,), {"definition": definition, "__module__": __name__})
    return schema(table)


@pytest.mark.parametrize("definition, message", [
    (b"id: int32", "must be a str"),
    (["id: int32"], "must be a str"),
    ("id: int32\n---\nv: int32  # " + "c" * 1030, "comment"),
    ("id: int32\n---\nv: <blob>  # " + "c" * 1020, "comment"),
    ("# " + "t" * 2049 + "\nid: int32", "table comment"),
    ("a" * 64 + ": int32", "63"),
    ("id: int32\n---\n" + "\n".join(f"v{i}: int8" for i in range(1001)), "1000"),
    ("id: int32\n---\nat = CURRENT_TIMESTAMP: int32", "only for datetime"),
    ("id: int32\n---\nat = CURRENT_TIMESTAMP(3): varchar(30)", "only for datetime"),
    ("id: int32  # \ud800", "surrogate"),
], ids=["bytes", "list", "comment", "codec-comment", "table-comment", "attribute-name",
        "too-many", "timestamp-int", "timestamp-varchar", "surrogate"])
def test_bad_definitions_declare_nothing(schema, definition, message):
    with pytest.raises(DefinitionError, match=message):
        _declare(schema, "Bad", definition)
    assert declared(schema) == []


def test_limits_at_the_edge_declare_everywhere(schema):
    name = "a" * 63
    table = _declare(schema, "Edge", f"""# {"t" * 2048}
        {name}: int32  # {"c" * (1024 - len(":int32:"))}
        ---
        """ + "\n".join(f"v{i} = null: int8" for i in range(998)))
    table.insert1({name: 1})
    assert table.fetch1(name) == 1
    assert len(table.heading.names) == 999


def test_long_table_name_is_refused_on_every_backend(schema):
    with pytest.raises(DefinitionError, match="63"):
        _declare(schema, "A" + "b" * 63, "id: int32")
    with pytest.raises(DefinitionError, match="63"):  # its job table ~~name must fit too
        schema(type("C" + "d" * 61, (dj.Computed,), {
            "definition": "id: int32", "make": lambda self, key: None}))
    assert declared(schema) == []


def test_current_timestamp_default_on_a_datetime_works(schema):
    table = _declare(schema, "Stamp", "id: int32\n---\nat = CURRENT_TIMESTAMP: datetime")
    table.insert1({"id": 1})
    assert isinstance(table.fetch1("at"), dt.datetime)
