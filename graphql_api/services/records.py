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


def to_coupon(row: Mapping[Any, Any], prefix: str = "") -> Coupon:
    """`prefix`: the column names' prefix, as `coupon_redeem` returns them (`c_`)."""
    p = prefix
    return Coupon(
        id=row[p + "id"],
        code=row[p + "code"],
        type=CouponType(row[p + "type"]),
        terms=DiscountTerms(
            DiscountType(row[p + "discount_type"]),
            row[p + "discount_value"],
            row[p + "max_discount_amount"],
        ),
        min_order_value=row[p + "min_order_value"],
        description=row[p + "description"],
        user_id=row[p + "user_id"],
        valid_from=row[p + "valid_from"],
        valid_until=row[p + "valid_until"],
        max_uses_per_user=row[p + "max_uses_per_user"],
        max_total_uses=row[p + "max_total_uses"],
        current_total_uses=row[p + "current_total_uses"],
        stored_status=CouponStatus(row[p + "status"]),
        created_by=row[p + "created_by"],
        created_at=row[p + "created_at"],
        updated_at=row[p + "updated_at"],
    )


def to_usage(row: Mapping[Any, Any], prefix: str = "", coupon_id: Any = None) -> Usage:
    """`prefix` as for `to_coupon`; `coupon_id` when the row does not carry it."""
    p = prefix
    return Usage(
        id=row[p + "id"],
        coupon_id=row[p + "coupon_id"] if coupon_id is None else coupon_id,
        user_id=row[p + "user_id"],
        order_id=row[p + "order_id"],
        order_value=row[p + "order_value"],
        discount_applied=row[p + "discount_applied"],
        final_amount=row[p + "final_amount"],
        used_at=row[p + "used_at"],
        ip_address=None if row[p + "ip_address"] is None else str(row[p + "ip_address"]),
        user_agent=row[p + "user_agent"],
    )
