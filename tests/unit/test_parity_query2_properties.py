"""Properties of ``dj.Top``'s argument checks and of ``dj.utils.user_choice``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dj_jupyter as dj
from dj_jupyter import utils
from dj_jupyter.errors import DataJointError, RestrictionError

NOT_INTEGERS = st.one_of(st.text(), st.floats(), st.booleans(), st.binary(),
                         st.lists(st.integers(), max_size=2), st.just(1.0))


@given(NOT_INTEGERS)
def test_a_limit_or_offset_of_another_type_is_a_type_error(value):
    for arguments in (dict(limit=value), dict(offset=value)):
        with pytest.raises(TypeError) as error:
            dj.Top(**arguments)
        assert isinstance(error.value, DataJointError)


@given(st.one_of(st.integers(), st.floats(), st.binary(), st.lists(st.integers(), min_size=1)))
def test_an_order_by_of_another_type_is_a_type_error(value):
    with pytest.raises(TypeError):
        dj.Top(order_by=value)


@given(st.integers(min_value=0, max_value=2**62), st.integers(min_value=0, max_value=2**62))
def test_non_negative_integers_are_taken_as_given(limit, offset):
    top = dj.Top(limit, "KEY", offset)
    assert (top.limit, top.offset) == (limit, offset)


@given(st.integers(max_value=-1))
def test_a_negative_count_is_refused_but_not_a_type_error(value):
    with pytest.raises(RestrictionError) as error:
        dj.Top(limit=value)
    assert not isinstance(error.value, TypeError)


@given(st.text(max_size=8))
def test_user_choice_with_a_default_is_yes_only_for_a_beginning_of_yes(answer):
    chosen = _ask(answer)
    typed = answer.strip().lower()
    assert chosen == ("yes" if typed and "yes".startswith(typed) else "no")


def _ask(answer: str) -> str:
    asked = []

    def typed(prompt: str = "") -> str:
        asked.append(prompt)
        return answer

    utils.input = typed  # as a script patching dj.utils.input does
    try:
        return utils.user_choice("Drop?", ("yes", "no"), default="no")
    finally:
        del utils.input
        assert asked == ["Drop? [yes/No]: "]


def test_user_choice_without_a_default_asks_again():
    answers = iter(["maybe", "", "n"])
    utils.input = lambda prompt="": next(answers)
    try:
        assert utils.user_choice("Go?", ("yes", "no")) == "no"
    finally:
        del utils.input
