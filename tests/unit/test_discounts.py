"""Discount: PERCENTAGE is order * value / 100 rounded half-up to cents and capped; FIXED is
the value; neither ever exceeds the order; finalAmount = orderValue - discount."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphql_api.domain.coupons import DiscountTerms, DiscountType

PERCENTAGE = DiscountType.PERCENTAGE
FIXED = DiscountType.FIXED


def d(text: str) -> Decimal:
    return Decimal(text)


@pytest.mark.parametrize(
    ("discount_type", "value", "cap", "order_value", "expected"),
    [
        # percentages, rounded half-up at the cent
        (PERCENTAGE, "10", None, "80.00", "8.00"),
        (PERCENTAGE, "10", None, "0.05", "0.01"),  # 0.005 rounds up
        (PERCENTAGE, "10", None, "0.04", "0.00"),  # 0.004 rounds down
        (PERCENTAGE, "12.5", None, "0.20", "0.03"),  # 0.025 rounds up
        (PERCENTAGE, "12.5", None, "99.99", "12.50"),  # 12.49875
        (PERCENTAGE, "33.33", None, "100.00", "33.33"),
        (PERCENTAGE, "15", None, "33.33", "5.00"),  # 4.9995 rounds up
        (PERCENTAGE, "0.01", None, "0.01", "0.00"),
        (PERCENTAGE, "100", None, "59.99", "59.99"),  # the whole order
        (PERCENTAGE, "100", None, "9999999999.99", "9999999999.99"),
        (PERCENTAGE, "99.99", None, "9999999999.99", "9998999999.99"),  # 9998999999.990001
        # the cap
        (PERCENTAGE, "50", "20.00", "100.00", "20.00"),
        (PERCENTAGE, "50", "20.00", "30.00", "15.00"),  # under the cap
        (PERCENTAGE, "50", "50.00", "100.00", "50.00"),  # exactly the cap
        (PERCENTAGE, "100", "1000.00", "10.00", "10.00"),  # cap above the order
        # fixed amounts, never more than the order
        (FIXED, "10.00", None, "80.00", "10.00"),
        (FIXED, "10.00", None, "10.00", "10.00"),
        (FIXED, "25.00", None, "19.99", "19.99"),
        (FIXED, "9999999999.99", None, "0.01", "0.01"),
    ],
)
def test_discount_for(discount_type, value, cap, order_value, expected):
    # given
    terms = DiscountTerms(discount_type, d(value), None if cap is None else d(cap))
    # when
    discount = terms.discount_for(d(order_value))
    # then
    assert discount == d(expected)
    assert str(discount) == expected
    assert d(order_value) - discount >= 0


cents = st.integers(min_value=1, max_value=999_999_999_999).map(lambda n: Decimal(n).scaleb(-2))
percentages = st.integers(min_value=1, max_value=10_000).map(lambda n: Decimal(n).scaleb(-2))
caps = st.none() | cents


def percentage_terms() -> st.SearchStrategy[DiscountTerms]:
    return st.builds(DiscountTerms, st.just(PERCENTAGE), percentages, caps)


def fixed_terms() -> st.SearchStrategy[DiscountTerms]:
    return st.builds(DiscountTerms, st.just(FIXED), cents, st.none())


any_terms = percentage_terms() | fixed_terms()


@given(terms=any_terms, order_value=cents)
def test_a_discount_is_never_negative_nor_more_than_the_order(terms, order_value):
    # when
    discount = terms.discount_for(order_value)
    # then
    assert Decimal(0) <= discount <= order_value
    assert order_value - discount >= 0


@given(terms=any_terms, order_value=cents)
def test_a_discount_and_the_final_amount_are_in_cents(terms, order_value):
    # when
    discount = terms.discount_for(order_value)
    final_amount = order_value - discount
    # then
    assert discount.as_tuple().exponent == -2
    assert final_amount.as_tuple().exponent == -2
    assert final_amount + discount == order_value


@given(terms=percentage_terms(), order_value=cents)
def test_a_capped_discount_respects_its_cap(terms, order_value):
    # when
    discount = terms.discount_for(order_value)
    # then
    if terms.max_discount_amount is not None:
        assert discount <= terms.max_discount_amount


@given(percent=percentages, order_value=cents)
def test_an_uncapped_percentage_is_the_exact_share_rounded_half_up(percent, order_value):
    # given
    terms = DiscountTerms(PERCENTAGE, percent)
    exact = order_value * percent / 100  # at most 17 digits: exact in the default context
    # when
    discount = terms.discount_for(order_value)
    # then: within half a cent, and a tie goes up
    assert abs(discount - exact) <= Decimal("0.005")
    if abs(discount - exact) == Decimal("0.005"):
        assert discount > exact


@given(order_value=cents)
def test_one_hundred_percent_takes_the_whole_order(order_value):
    assert DiscountTerms(PERCENTAGE, Decimal("100.00")).discount_for(order_value) == order_value


@given(value=cents, order_value=cents)
def test_a_fixed_discount_is_its_value_up_to_the_order(value, order_value):
    assert DiscountTerms(FIXED, value).discount_for(order_value) == min(value, order_value)
