"""Status: EXPIRED once validUntil has passed and EXHAUSTED once currentTotalUses reaches
maxTotalUses, whether or not the row says so; the first of INACTIVE, EXPIRED, EXHAUSTED wins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphql_api.domain.coupons import (
    CouponStatus,
    CouponType,
)
from tests.support.builders import DAY, NOW, campaign

ACTIVE = CouponStatus.ACTIVE
INACTIVE = CouponStatus.INACTIVE
EXPIRED = CouponStatus.EXPIRED
EXHAUSTED = CouponStatus.EXHAUSTED


def test_an_open_campaign_with_uses_left_is_active():
    assert campaign().status_at(NOW) is ACTIVE


def test_a_stored_active_coupon_is_expired_from_the_moment_valid_until_is_reached():
    # given
    coupon = campaign(valid_until=NOW)
    # then
    assert coupon.status_at(NOW - timedelta(microseconds=1)) is ACTIVE
    assert coupon.status_at(NOW) is EXPIRED
    assert coupon.status_at(NOW + DAY) is EXPIRED


def test_a_stored_active_coupon_is_exhausted_once_its_uses_reach_the_maximum():
    assert campaign(max_total_uses=3, current_total_uses=2).status_at(NOW) is ACTIVE
    assert campaign(max_total_uses=3, current_total_uses=3).status_at(NOW) is EXHAUSTED
    assert campaign(max_total_uses=3, current_total_uses=4).status_at(NOW) is EXHAUSTED


def test_unlimited_uses_are_never_exhausted():
    assert campaign(max_total_uses=None, current_total_uses=2**31 - 1).status_at(NOW) is ACTIVE


def test_a_coupon_without_validity_window_never_expires():
    # given a USER_SPECIFIC coupon: no validFrom / validUntil
    coupon = campaign(
        type=CouponType.USER_SPECIFIC,
        user_id="alice",
        valid_from=None,
        valid_until=None,
        max_total_uses=1,
    )
    # then
    assert coupon.status_at(NOW + 10_000 * DAY) is ACTIVE


def test_the_stored_status_still_counts():
    assert campaign(stored_status=EXPIRED).status_at(NOW) is EXPIRED
    assert campaign(stored_status=EXHAUSTED).status_at(NOW) is EXHAUSTED
    assert campaign(stored_status=INACTIVE).status_at(NOW) is INACTIVE


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # INACTIVE beats EXPIRED and EXHAUSTED
        ({"stored_status": INACTIVE, "valid_until": NOW - DAY}, INACTIVE),
        ({"stored_status": INACTIVE, "current_total_uses": 10}, INACTIVE),
        ({"stored_status": INACTIVE, "valid_until": NOW - DAY, "current_total_uses": 10}, INACTIVE),
        # EXPIRED beats EXHAUSTED, however each is known
        ({"valid_until": NOW - DAY, "current_total_uses": 10}, EXPIRED),
        ({"valid_until": NOW - DAY, "stored_status": EXHAUSTED}, EXPIRED),
        ({"stored_status": EXPIRED, "current_total_uses": 10}, EXPIRED),
        # EXHAUSTED beats ACTIVE
        ({"current_total_uses": 10}, EXHAUSTED),
        ({"stored_status": EXHAUSTED}, EXHAUSTED),
    ],
)
def test_where_several_apply_the_first_of_inactive_expired_exhausted_wins(overrides, expected):
    assert campaign(**overrides).status_at(NOW) is expected


@given(
    inactive=st.booleans(),
    expired=st.booleans(),
    exhausted=st.booleans(),
    stored_expired=st.booleans(),
    stored_exhausted=st.booleans(),
)
def test_the_status_is_the_first_that_applies(
    inactive, expired, exhausted, stored_expired, stored_exhausted
):
    # given a coupon stored with one status, whose dates and counts may say more
    if inactive:
        stored = INACTIVE
    elif stored_expired:
        stored = EXPIRED
    elif stored_exhausted:
        stored = EXHAUSTED
    else:
        stored = ACTIVE
    coupon = campaign(
        stored_status=stored,
        valid_until=NOW - DAY if expired else NOW + DAY,
        current_total_uses=10 if exhausted else 0,
    )
    # when
    status = coupon.status_at(NOW)
    # then
    if stored is INACTIVE:
        assert status is INACTIVE
    elif expired or stored is EXPIRED:
        assert status is EXPIRED
    elif exhausted or stored is EXHAUSTED:
        assert status is EXHAUSTED
    else:
        assert status is ACTIVE
