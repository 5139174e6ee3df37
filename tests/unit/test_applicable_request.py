"""applicableCoupons' arguments: read as validateCoupon and the lists read them, in order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from graphql_api.domain.applicable import ApplicableRequest, applicable_request
from graphql_api.domain.errors import CouponError, ErrorCode


def test_good_arguments_are_read_as_the_other_fields_read_them():
    request = applicable_request(user_id="alice", order_value=Decimal("25.000"), first=100)
    assert request == ApplicableRequest("alice", Decimal("25.00"), 100)


@pytest.mark.parametrize(
    ("user_id", "order_value", "first", "field"),
    [
        ("", Decimal("10"), 0, "userId"),  # the first argument at fault is named
        ("alice", Decimal("0"), 0, "orderValue"),
        ("alice", Decimal("1.001"), 20, "orderValue"),
        ("alice", Decimal("10"), 0, "first"),
        ("alice", Decimal("10"), 101, "first"),
        ("alice", Decimal("10"), None, "first"),
    ],
)
def test_bad_arguments_are_invalid_input_on_their_field(user_id, order_value, first, field):
    with pytest.raises(CouponError) as refused:
        applicable_request(user_id=user_id, order_value=order_value, first=first)
    assert (refused.value.code, refused.value.field) == (ErrorCode.INVALID_INPUT, field)
