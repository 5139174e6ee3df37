"""Inputs of the campaign operations, and their conversion to checked domain inputs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import strawberry

from graphql_api.domain import campaign_rules as rules
from graphql_api.domain.coupons import DiscountType
from graphql_api.domain.inputs import check_identifier, check_uuid
from graphql_api.schema import enums  # noqa: F401  # registers the domain enums with GraphQL
from graphql_api.schema.inputs import (
    CREATED_BY,
    DESCRIPTION,
    DISCOUNT_VALUE,
    MAX_DISCOUNT,
    MIN_ORDER,
)
from graphql_api.schema.unset import given

USES = "1 or more; absent: no limit."


@strawberry.input(description="A campaign: the rules and shared budgets of many codes.")
class CreateCampaignInput:
    name: str = strawberry.field(description="A name for people, 1-100 characters.")
    description: str | None = strawberry.field(default=strawberry.UNSET, description=DESCRIPTION)
    discount_type: DiscountType = strawberry.field(description="PERCENTAGE or FIXED.")
    discount_value: Decimal = strawberry.field(description=DISCOUNT_VALUE)
    max_discount_amount: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description=MAX_DISCOUNT
    )
    min_order_value: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description=MIN_ORDER
    )
    valid_from: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="Start of the window (inclusive); absent: from creation.",
    )
    valid_until: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="End of the window (exclusive), after validFrom and in the future; "
        "absent: no end.",
    )
    max_uses_per_code: int | None = strawberry.field(
        default=1,
        description="Redemptions per code, 1 or more; default (absent or null) 1: single-use "
        "codes.",
    )
    max_uses_per_user: int | None = strawberry.field(
        default=strawberry.UNSET, description=f"Redemptions per user across its codes, {USES}"
    )
    max_total_uses: int | None = strawberry.field(
        default=strawberry.UNSET, description=f"Redemptions across all its codes, {USES}"
    )
    max_total_discount: Decimal | None = strawberry.field(
        default=strawberry.UNSET,
        description="The money budget: the discounts applied never add up to more. Greater "
        "than 0, two decimal places at most; absent: no budget.",
    )
    created_by: str | None = strawberry.field(default=strawberry.UNSET, description=CREATED_BY)

    def checked(self) -> rules.NewCampaign:
        return rules.new_campaign(
            name=self.name,
            description=given(self.description),
            discount_type=self.discount_type,
            discount_value=self.discount_value,
            max_discount_amount=given(self.max_discount_amount),
            min_order_value=given(self.min_order_value),
            valid_from=given(self.valid_from),
            valid_until=given(self.valid_until),
            max_uses_per_code=1 if self.max_uses_per_code is None else self.max_uses_per_code,
            max_uses_per_user=given(self.max_uses_per_user),
            max_total_uses=given(self.max_total_uses),
            max_total_discount=given(self.max_total_discount),
            created_by=given(self.created_by),
            now=datetime.now(UTC),
        )


@strawberry.input(description="New codes for a campaign, made by a background job.")
class GenerateCodesInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign's UUID.")
    count: int = strawberry.field(
        description=f"How many new codes, {rules.MIN_GENERATE} to {rules.MAX_GENERATE:,}."
    )
    prefix: str | None = strawberry.field(
        default=strawberry.UNSET,
        description=f"Put before every code: 0-{rules.MAX_PREFIX_LENGTH} of A-Z 0-9 - "
        "(lower case is upper-cased).",
    )
    length: int | None = strawberry.field(
        default=rules.DEFAULT_CODE_RANDOM,
        description=f"Random characters after the prefix (absent or null: "
        f"{rules.DEFAULT_CODE_RANDOM}), {rules.MIN_CODE_RANDOM} to "
        f"{rules.MAX_CODE_RANDOM}; prefix and length together at most 50. The campaign's "
        "codes may be at most one in a million of the codes this length can spell.",
    )

    def checked(self) -> tuple[UUID, rules.GenerationRequest]:
        campaign_id = check_uuid(self.campaign_id, "campaignId")
        request = rules.generation_request(
            count=self.count,
            prefix=given(self.prefix),
            length=rules.DEFAULT_CODE_RANDOM if self.length is None else self.length,
        )
        return campaign_id, request


@strawberry.input(description="A campaign's code for one user.")
class AssignCodeInput:
    campaign_id: strawberry.ID = strawberry.field(description="The campaign's UUID.")
    user_id: str = strawberry.field(description="The customer, 1-100 characters.")

    def checked(self) -> tuple[UUID, str]:
        return check_uuid(self.campaign_id, "campaignId"), check_identifier(self.user_id, "userId")
