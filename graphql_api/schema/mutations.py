"""Mutation resolvers: convert input, call one service, map the result to a payload."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graphql_api.context import Info
from graphql_api.domain.errors import CouponError
from graphql_api.domain.inputs import check_uuid
from graphql_api.metrics import REDEMPTIONS
from graphql_api.schema.inputs import (
    CreateTimedCouponInput,
    CreateUserCouponInput,
    RedeemCouponInput,
)
from graphql_api.schema.payloads import CouponPayload, RedeemCouponPayload
from graphql_api.schema.permissions import AdminOnly
from graphql_api.services import coupon_creation, coupon_status, redemption

CouponId = Annotated[strawberry.ID, strawberry.argument(description="The coupon's UUID.")]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a single-use coupon for one user, with a new code. Admin only.",
        permission_classes=[AdminOnly],
    )
    async def create_user_coupon(
        self,
        info: Info,
        input: Annotated[CreateUserCouponInput, strawberry.argument(description="The coupon.")],
    ) -> CouponPayload:
        try:
            coupon = await coupon_creation.create_user_coupon(
                info.context.sessionmaker, input.checked()
            )
        except CouponError as error:
            return CouponPayload.failed(error)
        return CouponPayload.of(coupon)

    @strawberry.mutation(
        description="Create a campaign coupon with a window and usage limits. Admin only.",
        permission_classes=[AdminOnly],
    )
    async def create_timed_coupon(
        self,
        info: Info,
        input: Annotated[CreateTimedCouponInput, strawberry.argument(description="The coupon.")],
    ) -> CouponPayload:
        try:
            coupon = await coupon_creation.create_timed_coupon(
                info.context.sessionmaker, input.checked()
            )
        except CouponError as error:
            return CouponPayload.failed(error)
        return CouponPayload.of(coupon)

    @strawberry.mutation(
        description="Redeem a coupon on an order: checked, recorded with an audit trail, "
        "and counted in one transaction. Retrying the same order returns the same usage."
    )
    async def redeem_coupon(
        self,
        info: Info,
        input: Annotated[RedeemCouponInput, strawberry.argument(description="The redemption.")],
    ) -> RedeemCouponPayload:
        context = info.context
        try:
            request = input.checked(context.client_ip, context.user_agent)
            result = await redemption.redeem_coupon(context.hot, request, context.guess_policy)
        except CouponError as error:
            REDEMPTIONS.labels(error.code.value).inc()
            return RedeemCouponPayload.failed(error)
        REDEMPTIONS.labels("REPLAYED" if result.replayed else "OK").inc()
        return RedeemCouponPayload.of(result)

    @strawberry.mutation(
        description="Pause a coupon: redemptions answer INACTIVE until it is activated again. "
        "Admin only.",
        permission_classes=[AdminOnly],
    )
    async def deactivate_coupon(self, info: Info, id: CouponId) -> CouponPayload:
        try:
            coupon = await coupon_status.set_active(
                info.context.sessionmaker, check_uuid(id, "id"), active=False
            )
        except CouponError as error:
            return CouponPayload.failed(error)
        return CouponPayload.of(coupon)

    @strawberry.mutation(
        description="Resume a paused coupon. Its window and limits still apply as before. "
        "Admin only.",
        permission_classes=[AdminOnly],
    )
    async def activate_coupon(self, info: Info, id: CouponId) -> CouponPayload:
        try:
            coupon = await coupon_status.set_active(
                info.context.sessionmaker, check_uuid(id, "id"), active=True
            )
        except CouponError as error:
            return CouponPayload.failed(error)
        return CouponPayload.of(coupon)
