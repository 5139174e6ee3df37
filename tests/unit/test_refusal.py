"""What a refused redemption tells the client: the error code, the input field at fault
(`code` for NOT_FOUND, `orderId` for ORDER_ALREADY_USED, `orderValue` for
MIN_ORDER_VALUE_NOT_MET, none otherwise), and a message worded with what the coupon says."""

from __future__ import annotations

from decimal import Decimal

import pytest

from graphql_api.domain.eligibility import refusal
from graphql_api.domain.errors import CouponError, ErrorCode
from tests.support.builders import campaign

WINDOW_SECONDS = 60.0

FIELDS = {
    ErrorCode.NOT_FOUND: "code",
    ErrorCode.ORDER_ALREADY_USED: "orderId",
    ErrorCode.MIN_ORDER_VALUE_NOT_MET: "orderValue",
}


@pytest.mark.parametrize("coupon", [None, campaign()], ids=["without-coupon", "with-coupon"])
@pytest.mark.parametrize("code", list(ErrorCode))
def test_each_refusal_carries_its_code_and_names_the_input_field_at_fault(code, coupon):
    # when
    error = refusal(code, coupon, window_seconds=WINDOW_SECONDS)
    # then
    assert isinstance(error, CouponError)
    assert error.code is code
    assert error.field == FIELDS.get(code)
    assert error.message
    assert str(error) == error.message


@pytest.mark.parametrize(
    ("minimum", "shown"), [("20.00", "20.00"), ("20", "20.00"), ("0.50", "0.50")]
)
def test_the_minimum_order_message_states_the_coupons_minimum(minimum, shown):
    # given
    coupon = campaign(min_order_value=Decimal(minimum))
    # when
    error = refusal(ErrorCode.MIN_ORDER_VALUE_NOT_MET, coupon, window_seconds=WINDOW_SECONDS)
    # then
    assert error.message == f"The order value must be at least {shown}"


@pytest.mark.parametrize("max_uses_per_user", [1, 3])
def test_the_user_limit_message_states_the_coupons_uses_per_customer(max_uses_per_user):
    # given
    coupon = campaign(max_uses_per_user=max_uses_per_user)
    # when
    error = refusal(ErrorCode.USER_LIMIT_REACHED, coupon, window_seconds=WINDOW_SECONDS)
    # then
    assert f"at most {max_uses_per_user} time(s) per customer" in error.message


def test_without_a_coupon_the_minimum_and_limit_messages_still_say_what_failed():
    # when
    below = refusal(ErrorCode.MIN_ORDER_VALUE_NOT_MET, None, window_seconds=WINDOW_SECONDS)
    spent = refusal(ErrorCode.USER_LIMIT_REACHED, None, window_seconds=WINDOW_SECONDS)
    # then
    assert "minimum" in below.message
    assert "per customer" in spent.message


@pytest.mark.parametrize(("window_seconds", "shown"), [(60.0, "60"), (90.4, "90")])
def test_the_rate_limit_message_states_the_window(window_seconds, shown):
    # when
    error = refusal(ErrorCode.RATE_LIMITED, None, window_seconds=window_seconds)
    # then
    assert f"within {shown} seconds" in error.message
