"""Redemption checks, in the contract's order; the first that fails is the one error:
3. ORDER_ALREADY_USED (unless a retry); 4. INACTIVE; 5. NOT_YET_VALID / EXPIRED;
6. MIN_ORDER_VALUE_NOT_MET; 7. ALREADY_REDEEMED (USER_SPECIFIC) or USER_LIMIT_REACHED
(TIME_SPECIFIC); 8. EXHAUSTED."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphql_api.domain.coupons import (
    Coupon,
    CouponStatus,
    CouponType,
    DiscountTerms,
    DiscountType,
    Usage,
)
from graphql_api.domain.eligibility import (
    Quote,
    check_order_reuse,
    quote_redemption,
    status_after_use,
)
from graphql_api.domain.errors import CouponError, ErrorCode

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ORDER_VALUE = Decimal("50.00")


def campaign(**overrides: Any) -> Coupon:
    """A TIME_SPECIFIC coupon any order of 50.00 can redeem at NOW, unless overridden."""
    coupon = Coupon(
        id=uuid4(),
        code="SUMMER10",
        type=CouponType.TIME_SPECIFIC,
        terms=DiscountTerms(DiscountType.PERCENTAGE, Decimal("10.00")),
        min_order_value=Decimal("20.00"),
        description=None,
        user_id=None,
        valid_from=NOW - DAY,
        valid_until=NOW + DAY,
        max_uses_per_user=2,
        max_total_uses=10,
        current_total_uses=0,
        stored_status=CouponStatus.ACTIVE,
        created_by=None,
        created_at=NOW - 2 * DAY,
        updated_at=NOW - 2 * DAY,
    )
    return replace(coupon, **overrides)


def user_coupon(**overrides: Any) -> Coupon:
    """An unused USER_SPECIFIC coupon of alice's, worth 10.00 off orders of 20.00 or more."""
    base = campaign(
        code="USER-ABCDEFGHJKMN",
        type=CouponType.USER_SPECIFIC,
        terms=DiscountTerms(DiscountType.FIXED, Decimal("10.00")),
        user_id="alice",
        valid_from=None,
        valid_until=None,
        max_uses_per_user=1,
        max_total_uses=1,
    )
    return replace(base, **overrides)


def refusal(coupon: Coupon, *, order_value: Decimal = ORDER_VALUE, user_uses: int = 0):
    with pytest.raises(CouponError) as refused:
        quote_redemption(coupon, order_value=order_value, user_uses=user_uses, now=NOW)
    return refused.value


# Each failing check of a campaign, in the contract's order, as what makes it fail.
INACTIVE = {"stored_status": CouponStatus.INACTIVE}
NOT_YET_VALID = {"valid_from": NOW + DAY, "valid_until": NOW + 2 * DAY}
EXPIRED = {"valid_from": NOW - 2 * DAY, "valid_until": NOW - DAY}
MIN_ORDER_VALUE_NOT_MET = {"min_order_value": Decimal("50.01")}
USER_LIMIT_REACHED = {"user_uses": 2}
EXHAUSTED = {"current_total_uses": 10}
IN_CONTRACT_ORDER: dict[ErrorCode, dict[str, Any]] = {
    ErrorCode.INACTIVE: INACTIVE,
    ErrorCode.NOT_YET_VALID: NOT_YET_VALID,
    ErrorCode.EXPIRED: EXPIRED,
    ErrorCode.MIN_ORDER_VALUE_NOT_MET: MIN_ORDER_VALUE_NOT_MET,
    ErrorCode.USER_LIMIT_REACHED: USER_LIMIT_REACHED,
    ErrorCode.EXHAUSTED: EXHAUSTED,
}


def failing(*checks: dict[str, Any]) -> tuple[Coupon, int]:
    """A campaign that fails every one of `checks`, and this user's uses of it."""
    overrides = {key: value for check in checks for key, value in check.items()}
    user_uses = overrides.pop("user_uses", 0)
    return campaign(**overrides), user_uses


def test_a_redeemable_campaign_is_quoted():
    # when
    quote = quote_redemption(campaign(), order_value=ORDER_VALUE, user_uses=1, now=NOW)
    # then
    assert quote == Quote(discount=Decimal("5.00"), final_amount=Decimal("45.00"))


def test_a_redeemable_user_coupon_is_quoted():
    # given
    coupon = user_coupon(min_order_value=Decimal("0.00"))
    # when
    quote = quote_redemption(coupon, order_value=Decimal("8.00"), user_uses=0, now=NOW)
    # then: the discount never exceeds the order
    assert quote == Quote(discount=Decimal("8.00"), final_amount=Decimal("0.00"))


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        ((INACTIVE,), ErrorCode.INACTIVE),
        ((NOT_YET_VALID,), ErrorCode.NOT_YET_VALID),
        ((EXPIRED,), ErrorCode.EXPIRED),
        ((MIN_ORDER_VALUE_NOT_MET,), ErrorCode.MIN_ORDER_VALUE_NOT_MET),
        ((USER_LIMIT_REACHED,), ErrorCode.USER_LIMIT_REACHED),
        ((EXHAUSTED,), ErrorCode.EXHAUSTED),
        # several at once: the first in the contract's order wins
        (
            (INACTIVE, EXPIRED, MIN_ORDER_VALUE_NOT_MET, USER_LIMIT_REACHED, EXHAUSTED),
            ErrorCode.INACTIVE,
        ),
        ((INACTIVE, NOT_YET_VALID), ErrorCode.INACTIVE),
        (
            (NOT_YET_VALID, MIN_ORDER_VALUE_NOT_MET, USER_LIMIT_REACHED, EXHAUSTED),
            ErrorCode.NOT_YET_VALID,
        ),
        ((EXPIRED, MIN_ORDER_VALUE_NOT_MET, USER_LIMIT_REACHED, EXHAUSTED), ErrorCode.EXPIRED),
        (
            (MIN_ORDER_VALUE_NOT_MET, USER_LIMIT_REACHED, EXHAUSTED),
            ErrorCode.MIN_ORDER_VALUE_NOT_MET,
        ),
        ((USER_LIMIT_REACHED, EXHAUSTED), ErrorCode.USER_LIMIT_REACHED),
    ],
)
def test_a_campaign_fails_with_the_first_failing_check(checks, expected):
    # given
    coupon, user_uses = failing(*checks)
    # when
    error = refusal(coupon, user_uses=user_uses)
    # then
    assert error.code is expected


@given(
    checks=st.sets(
        st.sampled_from(
            [
                ErrorCode.INACTIVE,
                ErrorCode.MIN_ORDER_VALUE_NOT_MET,
                ErrorCode.USER_LIMIT_REACHED,
                ErrorCode.EXHAUSTED,
            ]
        )
    ),
    # a window cannot be both ahead and behind
    window=st.sampled_from([None, ErrorCode.NOT_YET_VALID, ErrorCode.EXPIRED]),
)
def test_any_combination_of_failures_reports_the_first_in_contract_order(checks, window):
    # given
    failures = checks | ({window} if window else set())
    coupon, user_uses = failing(*(IN_CONTRACT_ORDER[code] for code in failures))
    first_failure = next((code for code in IN_CONTRACT_ORDER if code in failures), None)
    # when / then
    if first_failure is None:
        quote_redemption(coupon, order_value=ORDER_VALUE, user_uses=user_uses, now=NOW)
    else:
        assert refusal(coupon, user_uses=user_uses).code is first_failure


def test_the_window_is_open_from_valid_from_up_to_but_not_including_valid_until():
    # at validFrom: redeemable
    quote_redemption(campaign(valid_from=NOW), order_value=ORDER_VALUE, user_uses=0, now=NOW)
    # at validUntil: expired
    assert refusal(campaign(valid_until=NOW)).code is ErrorCode.EXPIRED


def test_a_coupon_stored_expired_is_expired_whatever_its_dates():
    assert refusal(campaign(stored_status=CouponStatus.EXPIRED)).code is ErrorCode.EXPIRED


def test_a_coupon_stored_exhausted_is_exhausted_whatever_its_count():
    assert refusal(campaign(stored_status=CouponStatus.EXHAUSTED)).code is ErrorCode.EXHAUSTED


def test_an_order_of_exactly_the_minimum_qualifies_and_one_cent_less_does_not():
    # given
    coupon = campaign(min_order_value=Decimal("50.00"))
    # then
    quote_redemption(coupon, order_value=Decimal("50.00"), user_uses=0, now=NOW)
    error = refusal(coupon, order_value=Decimal("49.99"))
    assert error.code is ErrorCode.MIN_ORDER_VALUE_NOT_MET
    assert error.field == "orderValue"


def test_a_user_may_use_a_campaign_up_to_max_uses_per_user():
    # given maxUsesPerUser 2
    coupon = campaign()
    # then
    quote_redemption(coupon, order_value=ORDER_VALUE, user_uses=1, now=NOW)
    assert refusal(coupon, user_uses=2).code is ErrorCode.USER_LIMIT_REACHED
    assert refusal(coupon, user_uses=3).code is ErrorCode.USER_LIMIT_REACHED


def test_the_last_use_of_a_campaign_can_be_taken_and_then_it_is_exhausted():
    quote_redemption(campaign(current_total_uses=9), order_value=ORDER_VALUE, user_uses=0, now=NOW)
    assert refusal(campaign(current_total_uses=10)).code is ErrorCode.EXHAUSTED


def test_an_unlimited_campaign_is_never_exhausted():
    coupon = campaign(max_total_uses=None, current_total_uses=1_000_000)
    quote_redemption(coupon, order_value=ORDER_VALUE, user_uses=0, now=NOW)


@pytest.mark.parametrize(
    ("overrides", "order_value", "user_uses", "expected"),
    [
        ({"stored_status": CouponStatus.INACTIVE}, ORDER_VALUE, 0, ErrorCode.INACTIVE),
        ({}, Decimal("19.99"), 0, ErrorCode.MIN_ORDER_VALUE_NOT_MET),
        # a used user coupon has one use of one: ALREADY_REDEEMED, not EXHAUSTED
        ({"current_total_uses": 1}, ORDER_VALUE, 1, ErrorCode.ALREADY_REDEEMED),
        (
            {"stored_status": CouponStatus.EXHAUSTED, "current_total_uses": 1},
            ORDER_VALUE,
            1,
            ErrorCode.ALREADY_REDEEMED,
        ),
        ({"current_total_uses": 1}, ORDER_VALUE, 0, ErrorCode.EXHAUSTED),
        # several at once
        (
            {"stored_status": CouponStatus.INACTIVE, "current_total_uses": 1},
            Decimal("1.00"),
            1,
            ErrorCode.INACTIVE,
        ),
        ({"current_total_uses": 1}, Decimal("1.00"), 1, ErrorCode.MIN_ORDER_VALUE_NOT_MET),
    ],
)
def test_a_user_coupon_fails_with_the_first_failing_check(
    overrides, order_value, user_uses, expected
):
    # when
    error = refusal(user_coupon(**overrides), order_value=order_value, user_uses=user_uses)
    # then
    assert error.code is expected


def usage_of(coupon: Coupon, **overrides: Any) -> Usage:
    usage = Usage(
        id=uuid4(),
        coupon_id=coupon.id,
        user_id="alice",
        order_id="order-1",
        order_value=Decimal("50.00"),
        discount_applied=Decimal("5.00"),
        final_amount=Decimal("45.00"),
        used_at=NOW - DAY,
        ip_address="203.0.113.7",
        user_agent="Shop/1.0",
    )
    return replace(usage, **overrides)


@pytest.mark.parametrize("order_value", [Decimal("50.00"), Decimal("50"), Decimal("50.000")])
def test_the_same_code_user_and_order_value_is_a_retry_returning_the_usage(order_value):
    # given
    coupon = campaign()
    existing = usage_of(coupon)
    # when
    usage = check_order_reuse(existing, coupon, "alice", order_value)
    # then
    assert usage is existing


@pytest.mark.parametrize(
    ("user_id", "order_value", "other_coupon"),
    [
        ("bob", Decimal("50.00"), False),
        ("alice", Decimal("50.01"), False),
        ("alice", Decimal("50.00"), True),
        ("ALICE", Decimal("50.00"), False),  # user ids are opaque: case matters
    ],
)
def test_an_order_with_a_different_redemption_is_already_used(user_id, order_value, other_coupon):
    # given
    coupon = campaign()
    existing = usage_of(campaign() if other_coupon else coupon)
    # when
    with pytest.raises(CouponError) as refused:
        check_order_reuse(existing, coupon, user_id, order_value)
    # then
    assert refused.value.code is ErrorCode.ORDER_ALREADY_USED
    assert refused.value.field == "orderId"


def test_the_last_use_makes_a_coupon_exhausted():
    assert status_after_use(campaign(current_total_uses=9)) is CouponStatus.EXHAUSTED
    assert status_after_use(user_coupon()) is CouponStatus.EXHAUSTED


def test_a_use_that_leaves_uses_keeps_the_stored_status():
    assert status_after_use(campaign(current_total_uses=8)) is CouponStatus.ACTIVE
    assert status_after_use(campaign(current_total_uses=0)) is CouponStatus.ACTIVE


def test_an_unlimited_coupon_keeps_its_stored_status_after_any_use():
    coupon = campaign(max_total_uses=None, current_total_uses=2**31 - 2)
    assert status_after_use(coupon) is CouponStatus.ACTIVE
