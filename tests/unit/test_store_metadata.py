"""The array description in a ``<npy@>`` row: DataJoint's ``str(dtype)``, and our earlier
``dtype.str``, both name the dtype they were written from."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis.extra import numpy as hnp

from dj_jupyter.objects.codecs.stored import dtype_of, dtype_text

plain = hnp.boolean_dtypes() | hnp.integer_dtypes() | hnp.unsigned_integer_dtypes() | \
    hnp.floating_dtypes() | hnp.complex_number_dtypes() | hnp.datetime64_dtypes() | \
    hnp.timedelta64_dtypes() | hnp.unicode_string_dtypes() | hnp.byte_string_dtypes()
structured = hnp.array_dtypes(subtype_strategy=plain, min_size=1, max_size=4,
                              allow_subarrays=True).filter(
    lambda d: all(name.isidentifier() for name in d.names))


@given(plain | structured)
def test_description_names_the_dtype(dtype: np.dtype) -> None:
    assert dtype_of(dtype_text(dtype)) == dtype


@given(plain)
def test_rows_written_before_read_the_same(dtype: np.dtype) -> None:
    assert dtype_of(dtype.str) == dtype


def test_description_is_datajoints() -> None:
    assert [dtype_text(np.dtype(t)) for t in ("<f8", ">i4", "c8", "?")] == \
        ["float64", ">i4", "complex64", "bool"]
