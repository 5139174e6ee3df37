"""Domain records for unit tests, built with defaults a test overrides."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

from graphql_api.domain.coupons import (
    Coupon,
    CouponStatus,
    CouponType,
    DiscountTerms,
    DiscountType,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def campaign(**overrides: Any) -> Coupon:
    """An ACTIVE TIME_SPECIFIC coupon, 10% off, open around NOW with uses left."""
    coupon = Coupon(
        id=uuid4(),
        code="SUMMER10",
        type=CouponType.TIME_SPECIFIC,
        terms=DiscountTerms(DiscountType.PERCENTAGE, Decimal("10.00")),
        min_order_value=Decimal("0.00"),
        description=None,
        user_id=None,
        valid_from=NOW - DAY,
        valid_until=NOW + DAY,
        max_uses_per_user=1,
        max_total_uses=10,
        current_total_uses=0,
        status=CouponStatus.ACTIVE,
        created_by=None,
        created_at=NOW - 2 * DAY,
        updated_at=NOW - 2 * DAY,
    )
    return replace(coupon, **overrides)
