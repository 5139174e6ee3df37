"""Database rows (SQLAlchemy row mappings or asyncpg records) to domain records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql_api.domain.coupons import (
    Coupon,
    CouponStatus,
    CouponType,
    DiscountTerms,
    DiscountType,
    Usage,
)


def to_coupon(row: Mapping[Any, Any]) -> Coupon:
    return Coupon(
        id=row["id"],
        code=row["code"],
        type=CouponType(row["type"]),
        terms=DiscountTerms(
            DiscountType(row["discount_type"]), row["discount_value"], row["max_discount_amount"]
        ),
        min_order_value=row["min_order_value"],
        description=row["description"],
        user_id=row["user_id"],
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        max_uses_per_user=row["max_uses_per_user"],
        max_total_uses=row["max_total_uses"],
        current_total_uses=row["current_total_uses"],
        stored_status=CouponStatus(row["status"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def to_usage(row: Mapping[Any, Any]) -> Usage:
    return Usage(
        id=row["id"],
        coupon_id=row["coupon_id"],
        user_id=row["user_id"],
        order_id=row["order_id"],
        order_value=row["order_value"],
        discount_applied=row["discount_applied"],
        final_amount=row["final_amount"],
        used_at=row["used_at"],
        ip_address=None if row["ip_address"] is None else str(row["ip_address"]),
        user_agent=row["user_agent"],
    )
