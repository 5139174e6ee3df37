"""Query resolvers: convert arguments, call one service, shape the result."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from graphql_api.context import Info
from graphql_api.domain.applicable import applicable_request
from graphql_api.domain.codes import read_code
from graphql_api.domain.errors import ErrorCode
from graphql_api.domain.inputs import check_identifier, check_uuid
from graphql_api.domain.pagination import (
    DEFAULT_PAGE_SIZE,
    check_page_size,
    decode_feed_cursor,
    page_request,
)
from graphql_api.domain.webhooks import check_event_types
from graphql_api.schema.campaign_types import (
    CampaignConnection,
    CampaignNode,
    CodeGenerationJobNode,
)
from graphql_api.schema.connections import CouponConnection, UsageConnection
from graphql_api.schema.errors import arguments_checked
from graphql_api.schema.event_types import EventConnection, WebhookEndpointConnection
from graphql_api.schema.inputs import ValidateCouponInput
from graphql_api.schema.paged_lists import (
    ACTIVE_CAMPAIGNS,
    CAMPAIGNS,
    EVENTS,
    USER_COUPONS,
    USER_USAGES,
    WEBHOOK_ENDPOINTS,
)
from graphql_api.schema.payloads import CouponValidation
from graphql_api.schema.permissions import AdminOnly
from graphql_api.schema.refusals import refusals_as_payload
from graphql_api.schema.reservation_types import ReservationNode
from graphql_api.schema.types import AFTER_DESCRIPTION, FIRST_DESCRIPTION, CouponNode
from graphql_api.schema.unset import given
from graphql_api.services import (
    campaigns,
    code_generation,
    coupon_queries,
    events,
    lifecycle,
    redemption,
    webhook_endpoints,
)

First = Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)]
After = Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)]
UserId = Annotated[str, strawberry.argument(description="The user, 1-100 characters.")]


@strawberry.type
class Query:
    @strawberry.field(description="The coupon with this code (any case), or null.")
    async def coupon_by_code(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="The code, 1-50 characters.")],
    ) -> CouponNode | None:
        with arguments_checked():
            code = read_code(code)
        coupon = await info.context.loaders.coupon_by_code.load(code)
        return None if coupon is None else CouponNode.from_domain(coupon)

    @strawberry.field(description="The coupon with this id, or null.")
    async def coupon(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The coupon's UUID.")],
    ) -> CouponNode | None:
        with arguments_checked():
            coupon_id = check_uuid(id, "id")
        coupon = await info.context.loaders.coupon_by_id.load(coupon_id)
        return None if coupon is None else CouponNode.from_domain(coupon)

    @strawberry.field(
        description="The user's coupons, newest first: their USER_SPECIFIC coupons and the "
        "campaign codes assigned to them."
    )
    async def user_coupons(
        self,
        info: Info,
        user_id: UserId,
        first: First = DEFAULT_PAGE_SIZE,
        after: After = strawberry.UNSET,
    ) -> CouponConnection:
        scope = USER_COUPONS.scope(user_id)
        with arguments_checked():
            check_identifier(user_id, "userId")
            page = page_request(first, given(after), scope)
        db = info.context.db
        coupons = await coupon_queries.user_coupons(db, user_id, page)
        return CouponConnection.of(
            scope, coupons, lambda: coupon_queries.count_user_coupons(db, user_id)
        )

    @strawberry.field(
        description="TIME_SPECIFIC coupons that are ACTIVE and whose window contains now, "
        "newest first."
    )
    async def active_campaigns(
        self, info: Info, first: First = DEFAULT_PAGE_SIZE, after: After = strawberry.UNSET
    ) -> CouponConnection:
        scope = ACTIVE_CAMPAIGNS.scope()
        with arguments_checked():
            page = page_request(first, given(after), scope)
        db = info.context.db
        coupons = await coupon_queries.active_campaigns(db, page)
        return CouponConnection.of(
            scope, coupons, lambda: coupon_queries.count_active_campaigns(db)
        )

    @strawberry.field(description="The user's redemptions, newest first.")
    async def user_usages(
        self,
        info: Info,
        user_id: UserId,
        first: First = DEFAULT_PAGE_SIZE,
        after: After = strawberry.UNSET,
    ) -> UsageConnection:
        scope = USER_USAGES.scope(user_id)
        with arguments_checked():
            check_identifier(user_id, "userId")
            page = page_request(first, given(after), scope)
        db = info.context.db
        usages = await coupon_queries.user_usages(db, user_id, page)
        return UsageConnection.of(
            scope, usages, lambda: coupon_queries.count_user_usages(db, user_id)
        )

    @strawberry.field(
        description="A dry run of redeemCoupon: the same checks in the same order, live holds "
        "counted, no write.",
        extensions=refusals_as_payload(),
    )
    async def validate_coupon(
        self,
        info: Info,
        input: Annotated[ValidateCouponInput, strawberry.argument(description="What to check.")],
    ) -> CouponValidation:
        context = info.context
        request = input.checked(context.client_ip)
        result = await redemption.validate_coupon(context.hot, request, context.guess_policy)
        return CouponValidation.of(result)

    @strawberry.field(
        description="The coupons this user could redeem now on an order of this value, each as "
        "validateCoupon would answer it without an order (valid, with its discount), the "
        "biggest discount first, then by code: their USER_SPECIFIC coupons, the campaign codes "
        "assigned to them and the running TIME_SPECIFIC coupons. The same checks as "
        "validateCoupon, limits and live holds counted; no write. Bad arguments are a GraphQL "
        "error with extensions.code INVALID_INPUT; for a user over the guessing limit, whose "
        "every redemption would be refused now, the answer is a GraphQL error with "
        "extensions.code RATE_LIMITED (an empty list when there was nothing to list)."
    )
    async def applicable_coupons(
        self,
        info: Info,
        user_id: UserId,
        order_value: Annotated[
            Decimal,
            strawberry.argument(
                description="The order value, greater than 0, two decimal places at most."
            ),
        ],
        first: First = DEFAULT_PAGE_SIZE,
    ) -> list[CouponValidation]:
        with arguments_checked():
            request = applicable_request(user_id=user_id, order_value=order_value, first=first)
        with arguments_checked(ErrorCode.RATE_LIMITED):
            found = await redemption.applicable_coupons(
                info.context.db, request, info.context.guess_policy
            )
        return [CouponValidation.of(validation) for validation in found]

    @strawberry.field(
        description="The order's newest reservation, with its status as of now; null when "
        "the order has none."
    )
    async def reservation(
        self,
        info: Info,
        order_id: Annotated[str, strawberry.argument(description="The order, 1-100 characters.")],
    ) -> ReservationNode | None:
        with arguments_checked():
            order = check_identifier(order_id, "orderId")
        found = await lifecycle.reservation_of_order(info.context.db, order)
        return None if found is None else ReservationNode.from_domain(found)

    @strawberry.field(
        description="The campaign with this id, or null. Admin only.",
        permission_classes=[AdminOnly],
    )
    async def campaign(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The campaign's UUID.")],
    ) -> CampaignNode | None:
        with arguments_checked():
            campaign_id = check_uuid(id, "id")
        campaign = await info.context.loaders.campaign_by_id.load(campaign_id)
        return None if campaign is None else CampaignNode.from_domain(campaign)

    @strawberry.field(
        description="Every campaign, newest first. Admin only.", permission_classes=[AdminOnly]
    )
    async def campaigns(
        self, info: Info, first: First = DEFAULT_PAGE_SIZE, after: After = strawberry.UNSET
    ) -> CampaignConnection:
        scope = CAMPAIGNS.scope()
        with arguments_checked():
            page = page_request(first, given(after), scope)
        return CampaignConnection.of(scope, await campaigns.campaigns_page(info.context.db, page))

    @strawberry.field(description="A code generation job, to follow its progress; or null.")
    async def code_generation_job(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The job's UUID.")],
    ) -> CodeGenerationJobNode | None:
        with arguments_checked():
            job_id = check_uuid(id, "id")
        job = await code_generation.job_by_id(info.context.db, job_id)
        return None if job is None else CodeGenerationJobNode.from_domain(job)

    @strawberry.field(
        description="The event feed, oldest first: follow it by passing the last `endCursor` "
        "as `after` (at the end, ask again later with the same cursor). Events appear once "
        "their change has committed, in the order of each coupon's changes. Admin only.",
        permission_classes=[AdminOnly],
    )
    async def events(
        self,
        info: Info,
        first: First = DEFAULT_PAGE_SIZE,
        after: After = strawberry.UNSET,
        types: Annotated[
            list[str] | None,
            strawberry.argument(
                description="Only events of these types (see Event.type); absent: all. A "
                "cursor from any `types` may be passed with any other."
            ),
        ] = strawberry.UNSET,
    ) -> EventConnection:
        with arguments_checked():
            size = check_page_size(first)
            cursor = given(after)
            position = 0 if cursor is None else decode_feed_cursor(EVENTS.scope(), cursor)
            wanted = given(types)
            kinds = None if wanted is None else check_event_types(wanted, "types")
            # a cursor past the feed's end is known only once the feed is read
            page = await events.events_page(info.context.db, position, size, kinds)
        return EventConnection.of(page, cursor)

    @strawberry.field(
        description="The webhook endpoints, newest first. Admin only.",
        permission_classes=[AdminOnly],
    )
    async def webhook_endpoints(
        self, info: Info, first: First = DEFAULT_PAGE_SIZE, after: After = strawberry.UNSET
    ) -> WebhookEndpointConnection:
        scope = WEBHOOK_ENDPOINTS.scope()
        with arguments_checked():
            page = page_request(first, given(after), scope)
        found = await webhook_endpoints.endpoints_page(info.context.db, page)
        return WebhookEndpointConnection.of(scope, found)
