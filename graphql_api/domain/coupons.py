"""What a coupon is, what it is worth, and what has been done with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID


class CouponType(StrEnum):
    USER_SPECIFIC = "USER_SPECIFIC"
    TIME_SPECIFIC = "TIME_SPECIFIC"
    CAMPAIGN = "CAMPAIGN"


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
    """A stored coupon, as read from the database, with what the database said of it at
    that moment: its effective `status` (db/sql/coupon_status.sql, the one home of the
    rule). Its live holds are counted apart, when a client asks (Coupon.heldUses)."""

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
    status: CouponStatus
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    campaign_id: UUID | None = None
    rolled_back_uses: int = 0

    @property
    def usage_count(self) -> int:
        """Its usage rows: the live ones and the rolled-back ones."""
        return self.current_total_uses + self.rolled_back_uses


class UsageStatus(StrEnum):
    REDEEMED = "REDEEMED"
    ROLLED_BACK = "ROLLED_BACK"


@dataclass(frozen=True, slots=True)
class Usage:
    """One redemption: the audit record of who saved what on which order. A rollback is
    written beside it, never over it."""

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
    campaign_id: UUID | None = None
    rolled_back_at: datetime | None = None
    rollback_reason: str | None = None

    @property
    def status(self) -> UsageStatus:
        return UsageStatus.REDEEMED if self.rolled_back_at is None else UsageStatus.ROLLED_BACK
