"""Mutation resolvers: convert input, call one service, map the result to a payload.

No resolver catches a refusal: `refusals_as_payload()` turns a CouponError into the
payload's `errors` (schema/refusals.py).
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from graphql_api.context import Info
from graphql_api.domain.errors import CouponError
from graphql_api.domain.inputs import check_identifier, check_uuid
from graphql_api.metrics import REDEMPTIONS
from graphql_api.schema.campaign_inputs import (
    AssignCodeInput,
    CreateCampaignInput,
    GenerateCodesInput,
)
from graphql_api.schema.event_types import CreateWebhookEndpointInput, WebhookEndpointPayload
from graphql_api.schema.inputs import (
    CreateTimedCouponInput,
    CreateUserCouponInput,
    RedeemCouponInput,
    ReserveCouponInput,
    RollbackRedemptionInput,
)
from graphql_api.schema.payloads import (
    CampaignPayload,
    CodeGenerationPayload,
    CouponPayload,
    RedeemCouponPayload,
    ReservationPayload,
)
from graphql_api.schema.permissions import AdminOnly
from graphql_api.schema.refusals import refusals_as_payload
from graphql_api.services import (
    assignment,
    campaigns,
    code_generation,
    coupon_creation,
    coupon_status,
    lifecycle,
    redemption,
    webhook_endpoints,
)

CouponId = Annotated[strawberry.ID, strawberry.argument(description="The coupon's UUID.")]
CampaignId = Annotated[strawberry.ID, strawberry.argument(description="The campaign's UUID.")]
OrderId = Annotated[str, strawberry.argument(description="The order, 1-100 characters.")]


def _count_refused_redemption(error: CouponError) -> None:
    REDEMPTIONS.labels(error.code.value).inc()


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a single-use coupon for one user, with a new code. Admin only.",
        permission_classes=[AdminOnly],
        extensions=refusals_as_payload(),
    )
    async def create_user_coupon(
        self,
        info: Info,
        input: Annotated[CreateUserCouponInput, strawberry.argument(description="The coupon.")],
    ) -> CouponPayload:
        coupon = await coupon_creation.create_user_coupon(info.context.db, input.checked())
        return CouponPayload.of(coupon)

    @strawberry.mutation(
        description="Create a coupon with a window and usage limits. Admin only.",
        permission_classes=[AdminOnly],
        extensions=refusals_as_payload(),
    )
    async def create_timed_coupon(
        self,
        info: Info,
        input: Annotated[CreateTimedCouponInput, strawberry.argument(description="The coupon.")],
    ) -> CouponPayload:
        coupon = await coupon_creation.create_timed_coupon(info.context.db, input.checked())
        return CouponPayload.of(coupon)

    @strawberry.mutation(
        description="Redeem a coupon on an order: checked, recorded with an audit trail, "
        "and counted in one transaction. Retrying the same order returns the same usage. "
        "An order's live reservation of the code is consumed: its use moves from held to "
        "redeemed.",
        extensions=refusals_as_payload(_count_refused_redemption),
    )
    async def redeem_coupon(
        self,
        info: Info,
        input: Annotated[RedeemCouponInput, strawberry.argument(description="The redemption.")],
    ) -> RedeemCouponPayload:
        context = info.context
        request = input.checked(context.client_ip, context.user_agent)
        result = await redemption.redeem_coupon(context.hot, request, context.guess_policy)
        REDEMPTIONS.labels("REPLAYED" if result.replayed else "OK").inc()
        return RedeemCouponPayload.of(result.usage)

    @strawberry.mutation(
        description="Hold one use of a coupon for an order while the customer pays: the "
        "checks of redeemCoupon, then a hold that counts against every limit until it is "
        "redeemed, released, or `ttlSeconds` pass. Retrying the same order, code and user "
        "answers the same hold.",
        extensions=refusals_as_payload(),
    )
    async def reserve_coupon(
        self,
        info: Info,
        input: Annotated[ReserveCouponInput, strawberry.argument(description="The hold.")],
    ) -> ReservationPayload:
        context = info.context
        request, hold_for = input.checked(context.client_ip, context.user_agent)
        hold = await redemption.reserve_coupon(context.hot, request, context.guess_policy, hold_for)
        return ReservationPayload.of(hold.reservation)

    @strawberry.mutation(
        description="Free the order's HELD reservation. One already RELEASED or EXPIRED is "
        "answered unchanged; a REDEEMED one is ALREADY_REDEEMED; an order without one is "
        "NOT_FOUND.",
        extensions=refusals_as_payload(),
    )
    async def release_reservation(self, info: Info, order_id: OrderId) -> ReservationPayload:
        order = check_identifier(order_id, "orderId")
        return ReservationPayload.of(await lifecycle.release_reservation(info.context.hot, order))

    @strawberry.mutation(
        description="Give back the use an order's redemption took (an order cancelled or "
        "refunded): the usage is marked ROLLED_BACK, and the use goes back to the coupon, the "
        "user and the campaign, the discount to the campaign's budget. Idempotent; the order "
        "may then be redeemed again. An order without a redemption is NOT_FOUND.",
        extensions=refusals_as_payload(),
    )
    async def rollback_redemption(
        self,
        info: Info,
        input: Annotated[RollbackRedemptionInput, strawberry.argument(description="The rollback.")],
    ) -> RedeemCouponPayload:
        order_id, reason = input.checked()
        result = await lifecycle.rollback_redemption(info.context.hot, order_id, reason)
        return RedeemCouponPayload.of(result.usage)

    @strawberry.mutation(
        description="Pause a coupon: redemptions answer INACTIVE until it is activated again. "
        "Admin only.",
        permission_classes=[AdminOnly],
        extensions=refusals_as_payload(),
    )
    async def deactivate_coupon(self, info: Info, id: CouponId) -> CouponPayload:
        coupon = await coupon_status.set_active(info.context.db, check_uuid(id, "id"), active=False)
        return CouponPayload.of(coupon)

    @strawberry.mutation(
        description="Resume a paused coupon. Its window and limits still apply as before. "
        "Admin only.",
        permission_classes=[AdminOnly],
        extensions=refusals_as_payload(),
    )
    async def activate_coupon(self, info: Info, id: CouponId) -> CouponPayload:
        coupon = await coupon_status.set_active(info.context.db, check_uuid(id, "id"), active=True)
        return CouponPayload.of(coupon)

    @strawberry.mutation(
        description="Create a campaign: the rules and shared budgets of many codes (add codes "
        "with generateCodes). Admin only.",
        permission_classes=[AdminOnly],
        extensions=refusals_as_payload(),
    )
    async def create_campaign(
        self,
        info: Info,
        input: Annotated[CreateCampaignInput, strawberry.argument(description="The campaign.")],
    ) -> CampaignPayload:
        return CampaignPayload.of(await campaigns.create_campaign(info.context.db, input.checked()))

    @strawberry.mutation(
        description="Pause a campaign: its codes answer INACTIVE until it is activated again. "
        "Admin only.",
        permission_classes=[AdminOnly],
        extensions=refusals_as_payload(),
    )
    async def deactivate_campaign(self, info: Info, id: CampaignId) -> CampaignPayload:
        campaign = await campaigns.set_active(info.context.db, check_uuid(id, "id"), active=False)
        return CampaignPayload.of(campaign)

    @strawberry.mutation(
        description="Resume a paused campaign. Its window and budgets still apply. Admin only.",
        permission_classes=[AdminOnly],
        extensions=refusals_as_payload(),
    )
    async def activate_campaign(self, info: Info, id: CampaignId) -> CampaignPayload:
        campaign = await campaigns.set_active(info.context.db, check_uuid(id, "id"), active=True)
        return CampaignPayload.of(campaign)

    @strawberry.mutation(
        description="Record a job that adds `count` new unique codes to a campaign; a "
        "background worker starts it within a few seconds. Follow it with "
        "codeGenerationJob(id). Admin only.",
        permission_classes=[AdminOnly],
        extensions=refusals_as_payload(),
    )
    async def generate_codes(
        self,
        info: Info,
        input: Annotated[GenerateCodesInput, strawberry.argument(description="The codes.")],
    ) -> CodeGenerationPayload:
        campaign_id, request = input.checked()
        job = await code_generation.request_codes(info.context.db, campaign_id, request)
        return CodeGenerationPayload.of(job)

    @strawberry.mutation(
        description="Hand the user one code of the campaign that no user holds and nobody "
        "has redeemed or holds for an order, and answer it; the user asking again gets the "
        "same code, whatever the campaign's state since (its status says it). The code then "
        "belongs to the user as a USER_SPECIFIC coupon does (another "
        "user's redemption of it is NOT_FOUND) and userCoupons lists it. A campaign whose "
        "window has not opened hands out codes (to send ahead); INACTIVE, EXPIRED and "
        "EXHAUSTED campaigns hand out no new one, and EXHAUSTED also answers when no free "
        "code is left. "
        "Simultaneous calls never hand one code to two users.",
        extensions=refusals_as_payload(),
    )
    async def assign_code(
        self,
        info: Info,
        input: Annotated[AssignCodeInput, strawberry.argument(description="The assignment.")],
    ) -> CouponPayload:
        campaign_id, user_id = input.checked()
        result = await assignment.assign_code(info.context.db, campaign_id, user_id)
        return CouponPayload.of(result.coupon)

    @strawberry.mutation(
        description="Register a receiver of signed webhooks for some event types; the answer "
        "carries its signing secret, once. It receives the events recorded from now on. "
        "Admin only.",
        permission_classes=[AdminOnly],
        extensions=refusals_as_payload(),
    )
    async def create_webhook_endpoint(
        self,
        info: Info,
        input: Annotated[
            CreateWebhookEndpointInput, strawberry.argument(description="The receiver.")
        ],
    ) -> WebhookEndpointPayload:
        made = await webhook_endpoints.create_endpoint(
            info.context.db, info.context.settings.webhook_policy, input.url, input.events
        )
        return WebhookEndpointPayload.of(made.endpoint, made.secret)

    @strawberry.mutation(
        description="Delete a webhook endpoint: nothing more is sent to it, and its deliveries "
        "are forgotten. Answers it as it was, `enabled: false`. Admin only.",
        permission_classes=[AdminOnly],
        extensions=refusals_as_payload(),
    )
    async def delete_webhook_endpoint(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The endpoint's UUID.")],
    ) -> WebhookEndpointPayload:
        endpoint = await webhook_endpoints.delete_endpoint(info.context.db, check_uuid(id, "id"))
        return WebhookEndpointPayload.of(endpoint)
