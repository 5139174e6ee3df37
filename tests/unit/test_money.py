"""Money: at most two decimal places, at most 9,999,999,999.99, and never a float."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.domain.money import MAX_AMOUNT, check_amount, format_amount

MAX_CENTS = 999_999_999_999


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.01", "0.01"),
        ("1", "1.00"),
        ("1.2", "1.20"),
        ("1.25", "1.25"),
        ("25.000", "25.00"),  # trailing zeros are not places
        ("0.010", "0.01"),
        ("1E+3", "1000.00"),
        ("9999999999.99", "9999999999.99"),
    ],
)
def test_an_amount_the_service_accepts_comes_back_in_cents(text, expected):
    # when
    amount = check_amount(Decimal(text), "orderValue")
    # then
    assert amount == Decimal(expected)
    assert str(amount) == expected


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "0.00",
        "-0",
        "-0.01",
        "-25",
        "1.255",  # three places
        "0.001",
        "25.001",
        "10000000000.00",  # one cent above the largest amount
        "10000000000",
        "1E+11",
        "NaN",
        "-NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "1E+400",  # too many digits to round to cents
        "1E-400",  # far below a cent
        "1E+999999",
        "1E-999999",
    ],
)
def test_an_amount_the_service_refuses_is_invalid_input_naming_the_field(text):
    # when
    with pytest.raises(CouponError) as refused:
        check_amount(Decimal(text), "orderValue")
    # then
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert refused.value.field == "orderValue"


@pytest.mark.parametrize("text", ["0", "0.00", "0.000"])
def test_zero_is_accepted_where_allowed(text):
    # when
    amount = check_amount(Decimal(text), "minOrderValue", allow_zero=True)
    # then
    assert amount == 0
    assert format_amount(amount) == "0.00"


@pytest.mark.parametrize("text", ["-0.01", "0.001", "NaN", "1E+400", "10000000000.00"])
def test_allowing_zero_allows_nothing_else(text):
    # when
    with pytest.raises(CouponError) as refused:
        check_amount(Decimal(text), "minOrderValue", allow_zero=True)
    # then
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert refused.value.field == "minOrderValue"


def test_negative_zero_is_plain_zero():
    # given a minOrderValue sent as "-0", which equals zero
    amount = check_amount(Decimal("-0"), "minOrderValue", allow_zero=True)
    # then
    assert format_amount(amount) == "0.00"


def test_the_largest_amount_is_accepted_and_one_cent_more_is_not():
    assert check_amount(MAX_AMOUNT, "discountValue") == MAX_AMOUNT
    with pytest.raises(CouponError) as refused:
        check_amount(MAX_AMOUNT + Decimal("0.01"), "discountValue")
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert refused.value.field == "discountValue"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25", "25.00"),
        ("25.5", "25.50"),
        ("25.000", "25.00"),
        ("0", "0.00"),
        ("0.005", "0.01"),  # half-up
        ("0.004", "0.00"),
        ("1E+3", "1000.00"),
        ("9999999999.99", "9999999999.99"),
    ],
)
def test_format_amount_always_writes_two_places(text, expected):
    assert format_amount(Decimal(text)) == expected


cents = st.integers(min_value=1, max_value=MAX_CENTS).map(lambda n: Decimal(n).scaleb(-2))


@given(amount=cents)
def test_every_amount_in_cents_in_range_is_accepted_unchanged(amount):
    # when
    checked = check_amount(amount, "orderValue")
    # then
    assert checked == amount
    assert checked.as_tuple().exponent == -2
    assert re.fullmatch(r"\d+\.\d\d", format_amount(checked))


@given(
    whole_cents=st.integers(min_value=0, max_value=MAX_CENTS),
    extra=st.integers(min_value=1, max_value=9),
)
def test_every_amount_with_a_third_place_is_refused(whole_cents, extra):
    # given an amount with a non-zero third decimal place
    amount = Decimal(whole_cents * 10 + extra).scaleb(-3)
    # when
    with pytest.raises(CouponError) as refused:
        check_amount(amount, "orderValue", allow_zero=True)
    # then
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert refused.value.field == "orderValue"


@given(exponent=st.integers(min_value=-999_999, max_value=999_999), digits=st.integers(1, 10**6))
def test_any_exponent_is_accepted_or_refused_but_never_crashes(exponent, digits):
    # given
    amount = Decimal(f"{digits}E{exponent}")
    in_range = Decimal("0.01") <= amount <= MAX_AMOUNT
    # exact in range: at most 7 digits times 100
    in_cents = in_range and (amount * 100) % 1 == 0
    # when / then
    if in_cents:
        assert check_amount(amount, "orderValue") == amount
    else:
        with pytest.raises(CouponError) as refused:
            check_amount(amount, "orderValue")
        assert refused.value.code is ErrorCode.INVALID_INPUT
        assert refused.value.field == "orderValue"
