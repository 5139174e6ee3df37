"""The domain's enums, as GraphQL sees them."""

from __future__ import annotations

import strawberry

from graphql_api.domain.campaigns import CampaignStatus, JobStatus
from graphql_api.domain.coupons import CouponStatus, CouponType, DiscountType, UsageStatus
from graphql_api.domain.errors import ErrorCode
from graphql_api.domain.reservations import ReservationStatus

CouponTypeEnum = strawberry.enum(
    CouponType,
    name="CouponType",
    description="USER_SPECIFIC: one user, single use, generated code. "
    "TIME_SPECIFIC: a coupon with a validity window and usage limits. "
    "CAMPAIGN: one of a campaign's codes, under the campaign's rules and budgets.",
)
DiscountTypeEnum = strawberry.enum(
    DiscountType,
    name="DiscountType",
    description="PERCENTAGE: a percent of the order value (0-100], optionally capped. "
    "FIXED: an amount of money.",
)
CouponStatusEnum = strawberry.enum(
    CouponStatus,
    name="CouponStatus",
    description="The effective status when read; the first of INACTIVE, EXPIRED, EXHAUSTED "
    "that applies, else ACTIVE.",
)
CouponErrorCodeEnum = strawberry.enum(
    ErrorCode,
    name="CouponErrorCode",
    description="Why an operation was refused; clients branch on this, not on the message.",
)
CampaignStatusEnum = strawberry.enum(
    CampaignStatus,
    name="CampaignStatus",
    description="The effective status when read: the first of INACTIVE, EXPIRED (the window "
    "has closed), EXHAUSTED (maxTotalUses or maxTotalDiscount spent) that applies, else "
    "ACTIVE (also before the window opens).",
)
JobStatusEnum = strawberry.enum(
    JobStatus,
    name="JobStatus",
    description="PENDING: waiting for a worker. RUNNING: codes being written (`generated` "
    "grows). SUCCEEDED: exactly `requested` new codes. FAILED: see `error`.",
)
ReservationStatusEnum = strawberry.enum(
    ReservationStatus,
    name="ReservationStatus",
    description="HELD: the use is kept for the order until `expiresAt`. REDEEMED: the "
    "order's redemption consumed it. RELEASED: given up by releaseReservation. EXPIRED: "
    "`expiresAt` passed (whether or not a row was rewritten).",
)
UsageStatusEnum = strawberry.enum(
    UsageStatus,
    name="UsageStatus",
    description="REDEEMED: the discount stands. ROLLED_BACK: rollbackRedemption gave the use "
    "back (the usage itself is kept unchanged).",
)
