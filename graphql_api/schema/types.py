"""Coupon and Usage as clients see them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from graphql_api.context import Info
from graphql_api.domain import coupons as domain
from graphql_api.domain.coupons import CouponStatus, CouponType, DiscountType, UsageStatus
from graphql_api.domain.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page_request
from graphql_api.schema import enums  # noqa: F401  # registers the domain enums with GraphQL
from graphql_api.schema.errors import arguments_checked
from graphql_api.schema.paged_lists import COUPON_USAGES
from graphql_api.schema.permissions import AdminOnly
from graphql_api.schema.unset import given

if TYPE_CHECKING:
    from graphql_api.schema.campaign_types import CampaignNode
    from graphql_api.schema.connections import UsageConnection

FIRST_DESCRIPTION = f"How many items to return: 1 to {MAX_PAGE_SIZE}."
AFTER_DESCRIPTION = "Return the items after this cursor (an `endCursor` or edge `cursor`)."


@strawberry.type(
    name="Coupon",
    description="A discount code and the rules for redeeming it.",
    # A Federation entity, keyed by either (graphql_api/schema/federation.py).
    directives=[Key(fields=FieldSet("id")), Key(fields=FieldSet("code"))],
)
class CouponNode:
    id: strawberry.ID = strawberry.field(description="The coupon's UUID.")
    code: str = strawberry.field(description="The code customers enter, upper case, 4-50 chars.")
    type: CouponType = strawberry.field(description="USER_SPECIFIC, TIME_SPECIFIC or CAMPAIGN.")
    discount_type: DiscountType = strawberry.field(description="PERCENTAGE or FIXED.")
    discount_value: Decimal = strawberry.field(
        description="PERCENTAGE: percent of the order value, up to 100. FIXED: money off."
    )
    max_discount_amount: Decimal | None = strawberry.field(
        description="PERCENTAGE only: the most money the discount may take off."
    )
    min_order_value: Decimal = strawberry.field(
        description="The smallest order value the coupon applies to (0.00: any)."
    )
    description: str | None = strawberry.field(description="Free text, at most 500 characters.")
    user_id: str | None = strawberry.field(
        description="USER_SPECIFIC: the one user. CAMPAIGN: the user the code was assigned "
        "to, if any."
    )
    valid_from: datetime | None = strawberry.field(
        description="TIME_SPECIFIC and CAMPAIGN: the first moment of the validity window "
        "(inclusive); null: from creation."
    )
    valid_until: datetime | None = strawberry.field(
        description="TIME_SPECIFIC and CAMPAIGN: the end of the validity window (exclusive); "
        "null: no end."
    )
    max_uses_per_user: int | None = strawberry.field(
        description="How many times one user may redeem it (1 for USER_SPECIFIC; for a "
        "CAMPAIGN code, its maxUsesPerCode: the campaign's maxUsesPerUser applies across "
        "its codes)."
    )
    max_total_uses: int | None = strawberry.field(
        description="How many redemptions in all (1 for USER_SPECIFIC, maxUsesPerCode for a "
        "CAMPAIGN code); null: unlimited. Live holds count against it."
    )
    current_total_uses: int = strawberry.field(
        description="Redemptions recorded and not rolled back."
    )

    status: CouponStatus = strawberry.field(description="The effective status as of this read.")
    created_by: str | None = strawberry.field(description="Who created it, as they said.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    campaign_id: strawberry.Private[UUID | None]
    usage_count: strawberry.Private[int]

    @strawberry.field(
        description="Live reservations of this code: uses held for orders until they are "
        "redeemed, released or expire. An expired hold is not counted."
    )
    async def held_uses(self, info: Info) -> int:
        return await info.context.loaders.held_uses.load(UUID(self.id))

    @strawberry.field(
        description="The campaign this code belongs to (CAMPAIGN codes); null for other "
        "coupons. Admin only.",
        permission_classes=[AdminOnly],
    )
    async def campaign(
        self, info: Info
    ) -> Annotated[CampaignNode, strawberry.lazy("graphql_api.schema.campaign_types")] | None:
        from graphql_api.schema.campaign_types import CampaignNode

        if self.campaign_id is None:
            return None
        campaign = await info.context.loaders.campaign_by_id.load(self.campaign_id)
        return None if campaign is None else CampaignNode.from_domain(campaign)

    @strawberry.field(
        description="Its redemptions, newest first, rolled-back ones included (see `status`). "
        "Admin only.",
        permission_classes=[AdminOnly],
    )
    async def usages(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = (
            DEFAULT_PAGE_SIZE
        ),
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = (
            strawberry.UNSET
        ),
    ) -> Annotated[UsageConnection, strawberry.lazy("graphql_api.schema.connections")]:
        from graphql_api.schema.connections import UsageConnection

        # A cursor is for this coupon's usages only; the page itself names no coupon, so
        # the same page of many coupons is still one statement.
        scope = COUPON_USAGES.scope(self.id)
        with arguments_checked():
            page = page_request(first, given(after), scope)
        usages = await info.context.loaders.usage_page.load((UUID(self.id), page))
        return UsageConnection.of(scope, usages, self._count_usages)

    async def _count_usages(self) -> int:
        # Each usage is counted in the transaction that writes it (and each rollback in
        # its own), and usages are never deleted: the counters are the row count.
        return self.usage_count

    @classmethod
    def from_domain(cls, coupon: domain.Coupon) -> CouponNode:
        return cls(
            id=strawberry.ID(str(coupon.id)),
            code=coupon.code,
            type=coupon.type,
            discount_type=coupon.terms.discount_type,
            discount_value=coupon.terms.discount_value,
            max_discount_amount=coupon.terms.max_discount_amount,
            min_order_value=coupon.min_order_value,
            description=coupon.description,
            user_id=coupon.user_id,
            valid_from=coupon.valid_from,
            valid_until=coupon.valid_until,
            max_uses_per_user=coupon.max_uses_per_user,
            max_total_uses=coupon.max_total_uses,
            current_total_uses=coupon.current_total_uses,
            status=coupon.status,
            created_by=coupon.created_by,
            created_at=coupon.created_at,
            updated_at=coupon.updated_at,
            campaign_id=coupon.campaign_id,
            usage_count=coupon.usage_count,
        )


@strawberry.type(
    name="Usage",
    description="One redemption: the audit record of an order's discount.",
    directives=[Key(fields=FieldSet("id"))],  # a Federation entity (federation.py)
)
class UsageNode:
    id: strawberry.ID = strawberry.field(description="The usage's UUID.")
    user_id: str = strawberry.field(description="Who redeemed.")
    order_id: str = strawberry.field(
        description="The order it was redeemed on: an order has at most one live redemption."
    )
    order_value: Decimal = strawberry.field(description="The order value before the discount.")
    discount_applied: Decimal = strawberry.field(description="The money taken off.")
    final_amount: Decimal = strawberry.field(description="orderValue - discountApplied.")
    used_at: datetime = strawberry.field(description="When it was redeemed (UTC).")
    ip_address: str | None = strawberry.field(description="The end user's IP address.")
    user_agent: str | None = strawberry.field(description="The end user's user agent.")
    status: UsageStatus = strawberry.field(
        description="REDEEMED, or ROLLED_BACK once rollbackRedemption gave the use back."
    )
    rolled_back_at: datetime | None = strawberry.field(
        description="When it was rolled back (UTC); null while it stands."
    )
    rollback_reason: str | None = strawberry.field(
        description="Why it was rolled back, as the caller said; at most 500 characters."
    )
    coupon_id: strawberry.Private[UUID]

    @strawberry.field(description="The coupon redeemed.")
    async def coupon(self, info: Info) -> CouponNode:
        coupon = await info.context.loaders.coupon_by_id.load(self.coupon_id)
        if coupon is None:  # a foreign key makes this impossible
            raise LookupError(f"usage {self.id} has no coupon")
        return CouponNode.from_domain(coupon)

    @classmethod
    def from_domain(cls, usage: domain.Usage) -> UsageNode:
        return cls(
            id=strawberry.ID(str(usage.id)),
            user_id=usage.user_id,
            order_id=usage.order_id,
            order_value=usage.order_value,
            discount_applied=usage.discount_applied,
            final_amount=usage.final_amount,
            used_at=usage.used_at,
            ip_address=usage.ip_address,
            user_agent=usage.user_agent,
            status=usage.status,
            rolled_back_at=usage.rolled_back_at,
            rollback_reason=usage.rollback_reason,
            coupon_id=usage.coupon_id,
        )
