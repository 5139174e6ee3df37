"""What a coupon is, what it is worth, and its status at a moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID


class CouponType(StrEnum):
    USER_SPECIFIC = "USER_SPECIFIC"
    TIME_SPECIFIC = "TIME_SPECIFIC"


class DiscountType(StrEnum):
    PERCENTAGE = "PERCENTAGE"
    FIXED = "FIXED"


class CouponStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    EXPIRED = "EXPIRED"
    EXHAUSTED = "EXHAUSTED"


@dataclass(frozen=True, slots=True)
class DiscountTerms:
    """How much a coupon takes off an order."""

    discount_type: DiscountType
    discount_value: Decimal
    max_discount_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Coupon:
    """A stored coupon, as read from the database."""

    id: UUID
    code: str
    type: CouponType
    terms: DiscountTerms
    min_order_value: Decimal
    description: str | None
    user_id: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    max_uses_per_user: int
    max_total_uses: int | None
    current_total_uses: int
    stored_status: CouponStatus
    created_by: str | None
    created_at: datetime
    updated_at: datetime

    def is_expired_at(self, now: datetime) -> bool:
        if self.stored_status is CouponStatus.EXPIRED:
            return True
        return self.valid_until is not None and now >= self.valid_until

    def is_exhausted(self) -> bool:
        if self.stored_status is CouponStatus.EXHAUSTED:
            return True
        return self.max_total_uses is not None and self.current_total_uses >= self.max_total_uses

    def status_at(self, now: datetime) -> CouponStatus:
        """The effective status: the first of INACTIVE, EXPIRED, EXHAUSTED that applies."""
        if self.stored_status is CouponStatus.INACTIVE:
            return CouponStatus.INACTIVE
        if self.is_expired_at(now):
            return CouponStatus.EXPIRED
        if self.is_exhausted():
            return CouponStatus.EXHAUSTED
        return CouponStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class Usage:
    """One redemption: the audit record of who saved what on which order."""

    id: UUID
    coupon_id: UUID
    user_id: str
    order_id: str
    order_value: Decimal
    discount_applied: Decimal
    final_amount: Decimal
    used_at: datetime
    ip_address: str | None
    user_agent: str | None
