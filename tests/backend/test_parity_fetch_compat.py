"""The deprecated ``fetch`` is DataJoint 2.x's: one warning, then exactly what ``to_arrays``,
``to_dicts``, ``to_pandas`` or ``keys`` give for the same options (issue 17)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dj_jupyter as dj
from dj_jupyter.errors import FetchError


@pytest.fixture
def Items(schema):
    @schema
    class Items(dj.Manual):
        definition = """
        item: int32
        ---
        name: varchar(20)
        weight = null: float64
        """

    Items.insert([{"item": i, "name": f"n{i}", "weight": i / 2} for i in range(6)])
    return Items


def _fetched(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    assert [w.category for w in caught] == [DeprecationWarning]
    assert "fetch() is deprecated" in str(caught[0].message)
    return result


def test_fetch_is_a_spelling_of_the_to_methods(Items):
    options = {"order_by": "item DESC", "limit": 3, "offset": 1}
    whole = _fetched(lambda: Items.fetch(**options))
    assert np.array_equal(whole, Items.to_arrays(**options))
    names, weights = _fetched(lambda: Items.fetch("name", "weight", **options))
    expected = Items.to_arrays("name", "weight", **options)
    assert names.tolist() == expected[0].tolist() == ["n4", "n3", "n2"]
    assert weights.tolist() == expected[1].tolist()
    assert _fetched(lambda: Items.fetch(as_dict=True, **options)) == Items.to_dicts(**options)
    assert _fetched(lambda: Items.fetch("name", as_dict=True, order_by="item", limit=2)) == [
        {"item": 0, "name": "n0"}, {"item": 1, "name": "n1"}]
    assert _fetched(lambda: Items.fetch("KEY", limit=2, order_by="item")) == Items.keys(
        limit=2, order_by="item")
    frame = _fetched(lambda: Items.fetch(format="frame", **options))
    assert frame.equals(Items.to_pandas(**options))
    assert _fetched(lambda: (Items & {"item": 2}).fetch("name", squeeze=True))[0] == "n2"


def test_fetch_frame_with_attributes_is_refused(Items):
    with pytest.raises(FetchError, match="format='frame' cannot be combined"):
        _fetched(lambda: Items.fetch("name", format="frame"))
