"""What a refused redemption tells the client.

The checks themselves run in the database (`coupon_redeem`, migration 0003), where they can
hold the coupon's row lock for one round trip only; this module turns their answer into
the error the contract promises: a code, the input field at fault, a message for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from graphql_api.domain.coupons import Coupon, CouponType
from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.domain.money import format_amount


@dataclass(frozen=True, slots=True)
class Quote:
    """What a redemption would take off, and what the customer pays."""

    discount: Decimal
    final_amount: Decimal


_FIELDS = {
    ErrorCode.NOT_FOUND: "code",
    ErrorCode.ORDER_ALREADY_USED: "orderId",
    ErrorCode.MIN_ORDER_VALUE_NOT_MET: "orderValue",
}


def refusal(code: ErrorCode, coupon: Coupon | None, *, window_seconds: float) -> CouponError:
    """The error for a redemption check that failed, worded with what the coupon says."""
    messages = {
        ErrorCode.NOT_FOUND: "No such coupon for this user",
        ErrorCode.RATE_LIMITED: f"Too many unknown codes; try again within "
        f"{window_seconds:.0f} seconds",
        ErrorCode.ORDER_ALREADY_USED: "This order already carries a different coupon redemption",
        ErrorCode.INACTIVE: "This coupon is not active",
        ErrorCode.NOT_YET_VALID: "This coupon is not valid yet",
        ErrorCode.EXPIRED: "This coupon has expired",
        ErrorCode.MIN_ORDER_VALUE_NOT_MET: "The order value is below the coupon's minimum"
        if coupon is None
        else f"The order value must be at least {format_amount(coupon.min_order_value)}",
        ErrorCode.ALREADY_REDEEMED: "This coupon has already been used",
        ErrorCode.USER_LIMIT_REACHED: "This coupon's uses per customer are used up"
        if coupon is None
        else "This campaign's uses per customer are used up (across all its codes)"
        if coupon.type is CouponType.CAMPAIGN
        else f"This coupon can be used at most {coupon.max_uses_per_user} time(s) per customer",
        ErrorCode.EXHAUSTED: "This coupon has no uses left",
    }
    return CouponError(code, messages.get(code, code.value), _FIELDS.get(code))
