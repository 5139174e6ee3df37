"""The domain's enums, as GraphQL sees them."""

from __future__ import annotations

import strawberry

from graphql_api.domain.coupons import CouponStatus, CouponType, DiscountType
from graphql_api.domain.errors import ErrorCode

CouponTypeEnum = strawberry.enum(
    CouponType,
    name="CouponType",
    description="USER_SPECIFIC: one user, single use, generated code. "
    "TIME_SPECIFIC: a campaign with a validity window and usage limits.",
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
