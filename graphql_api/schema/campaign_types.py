"""Campaign and CodeGenerationJob as clients see them (admin only)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from graphql_api.context import Info
from graphql_api.domain import campaigns as domain
from graphql_api.domain.campaigns import CampaignStatus, JobStatus
from graphql_api.domain.coupons import DiscountType
from graphql_api.domain.pagination import (
    DEFAULT_PAGE_SIZE,
    ListScope,
    Page,
    Position,
    encode_cursor,
    page_request,
)
from graphql_api.schema import enums  # noqa: F401  # registers the domain enums with GraphQL
from graphql_api.schema.connections import CouponConnection, PageInfo
from graphql_api.schema.errors import arguments_checked
from graphql_api.schema.paged_lists import CAMPAIGN_CODES
from graphql_api.schema.permissions import AdminOnly
from graphql_api.schema.types import AFTER_DESCRIPTION, FIRST_DESCRIPTION
from graphql_api.schema.unset import given
from graphql_api.services import campaigns as service


@strawberry.type(
    name="Campaign",
    description="The rules and shared budgets of many codes (its codes are CAMPAIGN coupons). "
    "Every counter counts what the rows say at the moment it is read.",
    directives=[Key(fields=FieldSet("id"))],  # a Federation entity (federation.py)
)
class CampaignNode:
    id: strawberry.ID = strawberry.field(description="The campaign's UUID.")
    name: str = strawberry.field(description="A name for people, 1-100 characters.")
    description: str | None = strawberry.field(description="Free text, at most 500 characters.")
    discount_type: DiscountType = strawberry.field(description="PERCENTAGE or FIXED.")
    discount_value: Decimal = strawberry.field(
        description="PERCENTAGE: percent of the order value, up to 100. FIXED: money off."
    )
    max_discount_amount: Decimal | None = strawberry.field(
        description="PERCENTAGE only: the most money one discount may take off."
    )
    min_order_value: Decimal = strawberry.field(
        description="The smallest order value its codes apply to (0.00: any)."
    )
    valid_from: datetime | None = strawberry.field(
        description="The first moment its codes may be redeemed (inclusive); null: from creation."
    )
    valid_until: datetime | None = strawberry.field(
        description="The end of its window (exclusive); null: no end."
    )
    max_uses_per_code: int = strawberry.field(
        description="Redemptions per code (1: every code single-use)."
    )
    max_uses_per_user: int | None = strawberry.field(
        description="Redemptions per user across all its codes; null: no limit."
    )
    max_total_uses: int | None = strawberry.field(
        description="Redemptions across all its codes; null: no limit."
    )
    max_total_discount: Decimal | None = strawberry.field(
        description="The money budget: the discounts applied (plus those held) never add up "
        "to more. Null: no budget."
    )
    total_uses: int = strawberry.field(description="Redemptions not rolled back.")
    held_uses: int = strawberry.field(description="Live reservations on any of its codes.")
    total_discount: Decimal = strawberry.field(
        description="The sum of the discounts of its redemptions not rolled back."
    )
    code_count: int = strawberry.field(description="How many codes it has.")
    status: CampaignStatus = strawberry.field(description="The effective status as of this read.")
    created_by: str | None = strawberry.field(description="Who created it, as they said.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    updated_at: datetime = strawberry.field(description="When it last changed (UTC).")
    domain_campaign: strawberry.Private[domain.Campaign]

    @strawberry.field(description="Its codes, newest first.")
    async def codes(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = (
            DEFAULT_PAGE_SIZE
        ),
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = (
            strawberry.UNSET
        ),
        redeemed: Annotated[
            bool | None,
            strawberry.argument(
                description="true: only codes with a redemption not rolled back; false: only "
                "codes without; absent: all."
            ),
        ] = strawberry.UNSET,
        assigned: Annotated[
            bool | None,
            strawberry.argument(
                description="true: only codes handed to a user; false: only codes not handed "
                "out; absent: all."
            ),
        ] = strawberry.UNSET,
    ) -> CouponConnection:
        redeemed_only, assigned_only = given(redeemed), given(assigned)
        scope = CAMPAIGN_CODES.scope(self.id, repr(redeemed_only), repr(assigned_only))
        with arguments_checked():
            page = page_request(first, given(after), scope)
        db = info.context.db
        codes = await service.campaign_codes(
            db, UUID(self.id), page, redeemed=redeemed_only, assigned=assigned_only
        )
        campaign = self.domain_campaign
        return CouponConnection.of(
            scope,
            codes,
            lambda: service.count_campaign_codes(
                db, campaign, redeemed=redeemed_only, assigned=assigned_only
            ),
        )

    @classmethod
    def from_domain(cls, campaign: domain.Campaign) -> CampaignNode:
        return cls(
            id=strawberry.ID(str(campaign.id)),
            name=campaign.name,
            description=campaign.description,
            discount_type=campaign.terms.discount_type,
            discount_value=campaign.terms.discount_value,
            max_discount_amount=campaign.terms.max_discount_amount,
            min_order_value=campaign.min_order_value,
            valid_from=campaign.valid_from,
            valid_until=campaign.valid_until,
            max_uses_per_code=campaign.max_uses_per_code,
            max_uses_per_user=campaign.max_uses_per_user,
            max_total_uses=campaign.max_total_uses,
            max_total_discount=campaign.max_total_discount,
            total_uses=campaign.total_uses,
            held_uses=campaign.held_uses,
            total_discount=campaign.total_discount,
            code_count=campaign.code_count,
            status=campaign.status,
            created_by=campaign.created_by,
            created_at=campaign.created_at,
            updated_at=campaign.updated_at,
            domain_campaign=campaign,
        )


@strawberry.type(description="An edge of a campaign list.")
class CampaignEdge:
    cursor: str = strawberry.field(description="Opaque; pass as `after` to continue from here.")
    node: CampaignNode = strawberry.field(description="The campaign.")


@strawberry.type(description="A page of campaigns, newest first.")
class CampaignConnection:
    edges: list[CampaignEdge] = strawberry.field(description="The campaigns on this page.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")

    @strawberry.field(description="How many campaigns there are.")
    async def total_count(self, info: Info) -> int:
        return await service.count_campaigns(info.context.db)

    @classmethod
    def of(cls, scope: ListScope, page: Page[domain.Campaign]) -> CampaignConnection:
        """`scope`: the list the cursors are for (see paged_lists)."""
        edges = [
            CampaignEdge(
                cursor=encode_cursor(scope, Position(campaign.created_at, campaign.id)),
                node=CampaignNode.from_domain(campaign),
            )
            for campaign in page.items
        ]
        end = edges[-1].cursor if edges else None
        return cls(
            edges=edges, page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=end)
        )


@strawberry.type(
    name="CodeGenerationJob",
    description="A request for new codes of a campaign, worked off in the background.",
)
class CodeGenerationJobNode:
    id: strawberry.ID = strawberry.field(description="The job's UUID.")
    status: JobStatus = strawberry.field(description="PENDING, RUNNING, SUCCEEDED or FAILED.")
    requested: int = strawberry.field(description="How many new codes were asked for.")
    generated: int = strawberry.field(
        description="New codes written so far; grows while RUNNING, equals `requested` once "
        "SUCCEEDED."
    )
    error: str | None = strawberry.field(description="Why it FAILED; null otherwise.")
    created_at: datetime = strawberry.field(description="When it was asked for (UTC).")
    finished_at: datetime | None = strawberry.field(
        description="When it SUCCEEDED or FAILED (UTC); null before."
    )
    campaign_id: strawberry.Private[UUID]

    @strawberry.field(
        description="The campaign the codes are for. Admin only.",
        permission_classes=[AdminOnly],
    )
    async def campaign(self, info: Info) -> CampaignNode:
        campaign = await info.context.loaders.campaign_by_id.load(self.campaign_id)
        if campaign is None:  # a foreign key makes this impossible
            raise LookupError(f"job {self.id} has no campaign")
        return CampaignNode.from_domain(campaign)

    @classmethod
    def from_domain(cls, job: domain.CodeGenerationJob) -> CodeGenerationJobNode:
        return cls(
            id=strawberry.ID(str(job.id)),
            status=job.status,
            requested=job.requested,
            generated=job.generated,
            error=job.error,
            created_at=job.created_at,
            finished_at=job.finished_at,
            campaign_id=job.campaign_id,
        )
