"""DataJoint 2.3.4's ``context`` keyword on the built-in codecs: every built-in declares it,
and the row it names (schema, table, field) wins over the legacy ``_schema``/``_table``/
``_field`` keys, as for plugins; DataJoint's module names under ``builtin_codecs``."""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.objects.codecs import builtin
from dj_jupyter.objects.codecs.base import with_context
from dj_jupyter.objects.codecs.schema_codec import SchemaCodec

BUILT_INS = (builtin.BlobCodec, builtin.HashCodec, builtin.AttachCodec, builtin.NpyCodec,
             builtin.ObjectCodec, builtin.FilepathCodec)


@pytest.mark.parametrize("codec", BUILT_INS, ids=lambda c: c.name)
def test_every_built_in_declares_context(codec):
    for method in (codec.encode, codec.decode):
        assert "context" in inspect.signature(method).parameters


@pytest.fixture
def lab_store(tmp_path):
    spec = {"protocol": "file", "location": str(tmp_path / "lab")}
    with dj.config.override({"stores": {"default": "lab", "lab": spec}}):
        yield "lab"


@pytest.mark.parametrize(("codec", "value"), [
    (builtin.HashCodec, b"bytes"), (builtin.NpyCodec, np.arange(3)),
    (builtin.ObjectCodec, b"bytes")], ids=["hash", "npy", "object"])
def test_the_context_names_the_row_over_the_legacy_keys(codec, value, lab_store):
    context = {"schema": "lab", "table": "session", "field": "trace", "config": None}
    for key in ({"session_id": 4}, {"session_id": 4, "_schema": "old", "_table": "gone",
                                    "_field": "other"}):
        stored = codec().encode(value, key=key, store_name=lab_store, context=context)
        assert "/lab/" in stored["path"] and "old" not in stored["path"]
        if codec is not builtin.HashCodec:  # schema-addressed: table, key and field too
            assert "/lab/session/session_id=4/trace_" in stored["path"]


def test_legacy_keys_still_work_without_a_context(lab_store):
    stored = builtin.HashCodec().encode(b"x", key={"_schema": "legacy"}, store_name=lab_store)
    assert stored["path"].startswith("_hash/legacy/")


names = st.one_of(st.none(), st.text("abc", min_size=1, max_size=3))


@given(key=st.one_of(st.none(), st.dictionaries(
           st.sampled_from(["_schema", "_table", "_field", "id", "name"]), names)),
       context=st.one_of(st.none(), st.fixed_dictionaries(
           {}, optional={"schema": names, "table": names, "field": names})))
def test_with_context_lets_the_context_win_and_keeps_the_key(key, context):
    merged = with_context(key, context) or {}
    for name in ("schema", "table", "field"):
        given_value = (context or {}).get(name)
        expected = given_value if given_value is not None else (key or {}).get(f"_{name}")
        assert merged.get(f"_{name}") == expected
    assert {k: v for k, v in merged.items() if not k.startswith("_")} == \
        {k: v for k, v in (key or {}).items() if not k.startswith("_")}


@pytest.mark.parametrize(("module", "names"), [
    ("schema", ["SchemaCodec"]), ("attach", ["AttachCodec"]), ("filepath", ["FilepathCodec"]),
    ("hash", ["HashCodec"]), ("npy", ["NpyCodec", "NpyRef"]),
    ("object", ["ObjectCodec", "ObjectRef"])])
def test_datajoints_codec_module_names_give_our_classes(module, names):
    loaded = importlib.import_module(f"dj_jupyter.objects.codecs.builtin_codecs.{module}")
    for name in names:
        assert getattr(loaded, name) is getattr(builtin, name, None) or \
            getattr(loaded, name) is SchemaCodec
