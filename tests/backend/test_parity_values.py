"""Values DataJoint 2.x accepts are accepted when nothing is lost; the rest is refused (issue 17).

The law, on every backend: an accepted value reads back equal to what it means in the column
(5 in a varchar is the text "5", "12" in an int32 is 12), and a refused one raises a
DataJointError and writes nothing.
"""

from __future__ import annotations

import decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter.errors import DataJointError, DataTypeError


@pytest.fixture
def Values(schema):
    @schema
    class Values(dj.Manual):
        definition = """
        id: int32
        ---
        i = null: int32
        s = null: varchar(40)
        f = null: float64
        b = null: longblob
        """

    return Values


INT32 = st.integers(-(2**31), 2**31 - 1)
FINITE = st.floats(allow_nan=False, allow_infinity=False)

# (attribute, value given, value it means in the column)
ACCEPTED = st.one_of(
    INT32.map(lambda n: ("i", n, n)),
    INT32.map(lambda n: ("i", np.int64(n), n)),
    INT32.map(lambda n: ("i", str(n), n)),                       # "12", as text from a CSV
    INT32.map(lambda n: ("i", f" {n} ", n)),
    INT32.map(lambda n: ("i", decimal.Decimal(n), n)),
    st.integers(-(2**24), 2**24).map(lambda n: ("i", float(n), n)),  # 3.0 has no fraction
    st.integers(-(10**30), 10**30).map(lambda n: ("s", n, str(n))),   # an int into a varchar
    FINITE.map(lambda x: ("s", x, str(x))),
    FINITE.map(lambda x: ("s", np.float64(x), str(np.float64(x)))),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(
        lambda d: ("s", d, str(d))).filter(lambda t: len(t[2]) <= 40),
    FINITE.map(lambda x: ("f", repr(x), x)),                      # "1.5" into a float64
    st.binary(max_size=64).map(lambda b: ("b", b, b)),            # bytes into a longblob
    st.binary(max_size=64).map(lambda b: ("b", bytearray(b), b)),
)

REFUSED = st.one_of(
    st.floats(-1e9, 1e9).filter(lambda x: not x.is_integer()).map(lambda x: ("i", x)),
    st.decimals("-1e6", "1e6", places=3).filter(
        lambda d: d.is_finite() and d != d.to_integral_value()).map(lambda d: ("i", str(d))),
    st.integers(2**31, 2**40).map(lambda n: ("i", n)),
    st.text(alphabet="abcxyz", min_size=1, max_size=5).map(lambda t: ("i", t)),
    st.text(alphabet="abcxyz", min_size=1, max_size=5).map(lambda t: ("f", t)),
    st.booleans().map(lambda b: ("s", b)),
    st.integers(10**40, 10**60).map(lambda n: ("s", n)),         # 41+ digits: too long
    st.lists(st.integers(), max_size=3).map(lambda v: ("b", np.array(v))),
    st.just(("s", float("inf"))),
)

FUNCTION_SCOPED = settings(max_examples=60, deadline=None,
                           suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUNCTION_SCOPED
@given(case=ACCEPTED)
def test_accepted_values_read_back_as_they_mean(Values, case):
    attribute, given_value, meant = case
    Values.delete_quick()
    Values.insert1({"id": 1, attribute: given_value})
    back = (Values & {"id": 1}).fetch1(attribute)
    assert back == meant
    assert type(back) is type(meant)


@FUNCTION_SCOPED
@given(case=REFUSED)
def test_refused_values_raise_and_write_nothing(Values, case):
    attribute, value = case
    Values.delete_quick()
    with pytest.raises(DataJointError):
        Values.insert([{"id": 1, attribute: None}, {"id": 2, attribute: value}])
    assert len(Values) == 0


def test_a_fraction_into_an_integer_says_why_datajoint_differs(Values):
    with pytest.raises(DataTypeError, match="DataJoint hands it to the server") as refused:
        Values.insert1({"id": 1, "i": 2.5})
    assert "round it first" in str(refused.value) and "'i'" in str(refused.value)
    with pytest.raises(DataTypeError, match="not a whole number"):
        Values.insert1({"id": 1, "i": "7.25"})
    assert len(Values) == 0


def test_blank_text_in_a_numeric_attribute_is_null(Values):
    Values.insert1({"id": 1, "i": "", "f": " ", "s": ""})
    assert (Values & {"id": 1}).fetch1() == {"id": 1, "i": None, "s": "", "f": None, "b": None}
