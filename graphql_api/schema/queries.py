"""Query resolvers: convert arguments, call one service, shape the result."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graphql_api.context import Info
from graphql_api.domain.codes import read_code
from graphql_api.domain.errors import CouponError
from graphql_api.domain.inputs import check_identifier, check_uuid
from graphql_api.domain.pagination import DEFAULT_PAGE_SIZE, page_request
from graphql_api.schema.connections import CouponConnection, UsageConnection
from graphql_api.schema.errors import arguments_checked
from graphql_api.schema.inputs import ValidateCouponInput
from graphql_api.schema.paged_lists import ACTIVE_CAMPAIGNS, USER_COUPONS, USER_USAGES
from graphql_api.schema.payloads import CouponValidation
from graphql_api.schema.types import AFTER_DESCRIPTION, FIRST_DESCRIPTION, CouponNode
from graphql_api.schema.unset import given
from graphql_api.services import coupon_queries, redemption

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
        coupon = await coupon_queries.coupon_by_code(info.context.hot, code)
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

    @strawberry.field(description="The user's USER_SPECIFIC coupons, newest first.")
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
        sessions = info.context.sessionmaker
        coupons = await coupon_queries.user_coupons(sessions, user_id, page)
        return CouponConnection.of(
            scope, coupons, lambda: coupon_queries.count_user_coupons(sessions, user_id)
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
        sessions = info.context.sessionmaker
        coupons = await coupon_queries.active_campaigns(sessions, page)
        return CouponConnection.of(
            scope, coupons, lambda: coupon_queries.count_active_campaigns(sessions)
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
        sessions = info.context.sessionmaker
        usages = await coupon_queries.user_usages(sessions, user_id, page)
        return UsageConnection.of(
            scope, usages, lambda: coupon_queries.count_user_usages(sessions, user_id)
        )

    @strawberry.field(
        description="A dry run of redeemCoupon: the same checks in the same order, no write."
    )
    async def validate_coupon(
        self,
        info: Info,
        input: Annotated[ValidateCouponInput, strawberry.argument(description="What to check.")],
    ) -> CouponValidation:
        context = info.context
        try:
            request = input.checked(context.client_ip)
            result = await redemption.validate_coupon(context.hot, request, context.guess_policy)
        except CouponError as error:
            return CouponValidation.refused(error, coupon=None)
        return CouponValidation.of(result)
