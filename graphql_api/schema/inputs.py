"""Input objects, and their conversion to checked domain inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import strawberry

from graphql_api.domain import inputs as rules
from graphql_api.domain.coupons import DiscountType
from graphql_api.schema import enums  # noqa: F401  # registers the domain enums with GraphQL
from graphql_api.schema.unset import given

DISCOUNT_VALUE = "Greater than 0, two decimal places at most; PERCENTAGE: at most 100."
MAX_DISCOUNT = "PERCENTAGE only: the most money off, greater than 0."
MIN_ORDER = "Orders below this value are refused; 0 or more, default 0."
DESCRIPTION = "Free text for people, at most 500 characters."
CREATED_BY = "Who is creating it, at most 100 characters."


@strawberry.input(description="A coupon for one user: single use, with a generated code.")
class CreateUserCouponInput:
    user_id: str = strawberry.field(description="The user it is for, 1-100 characters.")
    discount_type: DiscountType = strawberry.field(description="PERCENTAGE or FIXED.")
    discount_value: Decimal = strawberry.field(description=DISCOUNT_VALUE)
    max_discount_amount: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description=MAX_DISCOUNT
    )
    min_order_value: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description=MIN_ORDER
    )
    description: str | None = strawberry.field(default=strawberry.UNSET, description=DESCRIPTION)
    created_by: str | None = strawberry.field(default=strawberry.UNSET, description=CREATED_BY)

    def checked(self) -> rules.NewUserCoupon:
        return rules.new_user_coupon(
            user_id=self.user_id,
            discount_type=self.discount_type,
            discount_value=self.discount_value,
            max_discount_amount=given(self.max_discount_amount),
            min_order_value=given(self.min_order_value),
            description=given(self.description),
            created_by=given(self.created_by),
        )


@strawberry.input(description="A campaign coupon with a validity window and usage limits.")
class CreateTimedCouponInput:
    code: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="4-50 of A-Z 0-9 - _ (lower case is upper-cased); generated when absent.",
    )
    discount_type: DiscountType = strawberry.field(description="PERCENTAGE or FIXED.")
    discount_value: Decimal = strawberry.field(description=DISCOUNT_VALUE)
    max_discount_amount: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description=MAX_DISCOUNT
    )
    min_order_value: Decimal | None = strawberry.field(
        default=strawberry.UNSET, description=MIN_ORDER
    )
    description: str | None = strawberry.field(default=strawberry.UNSET, description=DESCRIPTION)
    valid_from: datetime = strawberry.field(description="Start of the window (inclusive).")
    valid_until: datetime = strawberry.field(
        description="End of the window (exclusive); after validFrom and in the future."
    )
    max_uses_per_user: int = strawberry.field(description="Redemptions per user, 1 or more.")
    max_total_uses: int | None = strawberry.field(
        default=strawberry.UNSET, description="Redemptions in all, 1 or more; absent: unlimited."
    )
    created_by: str | None = strawberry.field(default=strawberry.UNSET, description=CREATED_BY)

    def checked(self) -> rules.NewTimedCoupon:
        return rules.new_timed_coupon(
            code=given(self.code),
            discount_type=self.discount_type,
            discount_value=self.discount_value,
            max_discount_amount=given(self.max_discount_amount),
            min_order_value=given(self.min_order_value),
            description=given(self.description),
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            max_uses_per_user=self.max_uses_per_user,
            max_total_uses=given(self.max_total_uses),
            created_by=given(self.created_by),
            now=datetime.now(UTC),
        )


@strawberry.input(description="Redeem a coupon on an order.")
class RedeemCouponInput:
    code: str = strawberry.field(description="The coupon code, 1-50 characters, any case.")
    user_id: str = strawberry.field(description="The customer, 1-100 characters.")
    order_id: str = strawberry.field(
        description="The order, 1-100 characters; one redemption per order, retries are safe."
    )
    order_value: Decimal = strawberry.field(description="The order value, greater than 0.")
    ip_address: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The end user's IPv4/IPv6 address, when a BFF forwards it; else the request's.",
    )
    user_agent: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The end user's user agent, at most 500 characters; else the request's.",
    )

    def checked(self, client_ip: str | None, client_agent: str | None) -> rules.RedemptionRequest:
        request = rules.redemption_request(
            code=self.code,
            user_id=self.user_id,
            order_id=given(self.order_id),
            order_value=self.order_value,
            ip_address=given(self.ip_address),
            user_agent=given(self.user_agent),
        )
        return rules.with_client_defaults(request, client_ip, client_agent)


@strawberry.input(description="Check a coupon against an order without redeeming it.")
class ValidateCouponInput:
    code: str = strawberry.field(description="The coupon code, 1-50 characters, any case.")
    user_id: str = strawberry.field(description="The customer, 1-100 characters.")
    order_value: Decimal = strawberry.field(description="The order value, greater than 0.")
    order_id: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The order, when known: checks it carries no other coupon.",
    )
    ip_address: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The end user's IPv4/IPv6 address, when a BFF forwards it; else the "
        "request's. Failed lookups are rate-limited per address.",
    )

    def checked(self, client_ip: str | None) -> rules.RedemptionRequest:
        request = rules.redemption_request(
            code=self.code,
            user_id=self.user_id,
            order_id=given(self.order_id),
            order_value=self.order_value,
            ip_address=given(self.ip_address),
        )
        return rules.with_client_defaults(request, client_ip, None)


@strawberry.input(description="Hold one use of a coupon for an order while the customer pays.")
class ReserveCouponInput:
    code: str = strawberry.field(description="The coupon code, 1-50 characters, any case.")
    user_id: str = strawberry.field(description="The customer, 1-100 characters.")
    order_id: str = strawberry.field(
        description="The order, 1-100 characters; one live reservation or redemption per "
        "order, retries answer the same hold."
    )
    order_value: Decimal = strawberry.field(description="The order value, greater than 0.")
    ip_address: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The end user's IPv4/IPv6 address, when a BFF forwards it; else the request's.",
    )
    user_agent: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The end user's user agent, at most 500 characters; else the request's.",
    )
    ttl_seconds: int | None = strawberry.field(
        default=rules.DEFAULT_HOLD_SECONDS,
        description=f"How long the hold lasts, {rules.MIN_HOLD_SECONDS} to "
        f"{rules.MAX_HOLD_SECONDS:,} seconds; absent or null: {rules.DEFAULT_HOLD_SECONDS}.",
    )

    def checked(
        self, client_ip: str | None, client_agent: str | None
    ) -> tuple[rules.RedemptionRequest, timedelta]:
        request = rules.redemption_request(
            code=self.code,
            user_id=self.user_id,
            order_id=self.order_id,
            order_value=self.order_value,
            ip_address=given(self.ip_address),
            user_agent=given(self.user_agent),
        )
        seconds = self.ttl_seconds
        hold_for = rules.check_hold_seconds(
            rules.DEFAULT_HOLD_SECONDS if seconds is None else seconds
        )
        return rules.with_client_defaults(request, client_ip, client_agent), hold_for


@strawberry.input(description="Give back the use an order's redemption took.")
class RollbackRedemptionInput:
    order_id: str = strawberry.field(description="The order whose redemption to roll back.")
    reason: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Why (a cancellation, a refund), at most 500 characters; kept beside the "
        "usage.",
    )

    def checked(self) -> tuple[str, str | None]:
        return (
            rules.check_identifier(self.order_id, "orderId"),
            rules.check_rollback_reason(given(self.reason)),
        )
