"""The redemption checks, in the order the contract fixes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from graphql_api.domain.coupons import Coupon, CouponStatus, CouponType, Usage
from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.domain.money import format_amount


@dataclass(frozen=True, slots=True)
class Quote:
    """What a redemption would take off, and what the customer pays."""

    discount: Decimal
    final_amount: Decimal


def not_found(code: str) -> CouponError:
    return CouponError(ErrorCode.NOT_FOUND, f"No coupon with code {code}", "code")


def check_order_reuse(existing: Usage, coupon: Coupon, user_id: str, order_value: Decimal) -> Usage:
    """Step 3: an order that already has a usage is a retry of it, or refused."""
    if (
        existing.coupon_id == coupon.id
        and existing.user_id == user_id
        and existing.order_value == order_value
    ):
        return existing
    raise CouponError(
        ErrorCode.ORDER_ALREADY_USED,
        "This order already carries a different coupon redemption",
        "orderId",
    )


def quote_redemption(
    coupon: Coupon, *, order_value: Decimal, user_uses: int, now: datetime
) -> Quote:
    """Steps 4 to 8: the first check that fails raises; otherwise the discount."""
    if coupon.stored_status is CouponStatus.INACTIVE:
        raise CouponError(ErrorCode.INACTIVE, "This coupon is not active")
    if coupon.valid_from is not None and now < coupon.valid_from:
        raise CouponError(ErrorCode.NOT_YET_VALID, "This coupon is not valid yet")
    if coupon.is_expired_at(now):
        raise CouponError(ErrorCode.EXPIRED, "This coupon has expired")
    if order_value < coupon.min_order_value:
        raise CouponError(
            ErrorCode.MIN_ORDER_VALUE_NOT_MET,
            f"The order value must be at least {format_amount(coupon.min_order_value)}",
            "orderValue",
        )
    if user_uses >= coupon.max_uses_per_user:
        if coupon.type is CouponType.USER_SPECIFIC:
            raise CouponError(ErrorCode.ALREADY_REDEEMED, "This coupon has already been used")
        raise CouponError(
            ErrorCode.USER_LIMIT_REACHED,
            f"This coupon can be used at most {coupon.max_uses_per_user} time(s) per customer",
        )
    if coupon.is_exhausted():
        raise CouponError(ErrorCode.EXHAUSTED, "This coupon has no uses left")
    discount = coupon.terms.discount_for(order_value)
    return Quote(discount=discount, final_amount=order_value - discount)


def status_after_use(coupon: Coupon) -> CouponStatus:
    """The stored status once one more use is recorded."""
    if coupon.max_total_uses is not None and coupon.current_total_uses + 1 >= coupon.max_total_uses:
        return CouponStatus.EXHAUSTED
    return coupon.stored_status
