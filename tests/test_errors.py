"""Keyed errors: one wording per rule, in both languages."""

import math

import pytest

from playground import errors
from playground.errors import PlaygroundError, RangeError, check_range

errors.register({"test_errors.steps": ("steps", "步数")})


def test_every_registered_key_has_both_languages():
    for key, texts in errors.MESSAGES.items():
        assert set(texts) == set(errors.LANGUAGES), key
        assert all(t.strip() for t in texts.values()), key


def test_range_error_names_field_and_range_in_each_language():
    with pytest.raises(RangeError) as info:
        check_range("test_errors.steps", 5000, 1, 3000, whole=True)
    assert str(info.value) == "steps must be a whole number from 1 to 3,000 (got 5,000)"
    assert info.value.message("zh") == "步数必须是 1 到 3,000 之间的整数（收到 5,000）"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", [None, "", "abc", math.nan, math.inf, True, 2.5, 0, 3001])
def test_check_range_refuses_what_is_not_allowed(bad):
    with pytest.raises(RangeError):
        check_range("test_errors.steps", bad, 1, 3000, whole=True)


def test_check_range_returns_the_value():
    assert check_range("test_errors.steps", 3000.0, 1, 3000, whole=True) == 3000
    assert check_range("test_errors.steps", 0.5, 0, 1) == 0.5


def test_unknown_key_is_a_programming_error():
    with pytest.raises(KeyError):
        PlaygroundError("nobody.registered_this")


def test_a_key_cannot_be_worded_twice():
    with pytest.raises(RuntimeError):
        errors.register({"test_errors.steps": ("other", "其他")})
