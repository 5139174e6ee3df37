"""Reservation as clients see it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

import strawberry

from graphql_api.context import Info
from graphql_api.domain import reservations as domain
from graphql_api.domain.reservations import ReservationStatus
from graphql_api.schema import enums  # noqa: F401  # registers the domain enums with GraphQL
from graphql_api.schema.types import CouponNode


@strawberry.type(
    name="Reservation",
    description="A hold: one use of a coupon kept for an order while the customer pays. It "
    "counts against every limit until it is redeemed, released, or expires.",
)
class ReservationNode:
    id: strawberry.ID = strawberry.field(description="The reservation's UUID.")
    user_id: str = strawberry.field(description="Who holds it.")
    order_id: str = strawberry.field(
        description="The order it is for: an order has at most one live reservation or redemption."
    )
    order_value: Decimal = strawberry.field(description="The order value it was checked for.")
    discount_amount: Decimal = strawberry.field(
        description="The money a redemption of this order and value will take off."
    )
    final_amount: Decimal = strawberry.field(description="orderValue - discountAmount.")
    status: ReservationStatus = strawberry.field(
        description="As of this read: EXPIRED once expiresAt has passed, whether or not a row "
        "was rewritten."
    )
    expires_at: datetime = strawberry.field(description="When the hold lapses (UTC).")
    created_at: datetime = strawberry.field(description="When it was made (UTC).")
    coupon_id: strawberry.Private[UUID]

    @strawberry.field(description="The coupon held.")
    async def coupon(self, info: Info) -> CouponNode:
        coupon = await info.context.loaders.coupon_by_id.load(self.coupon_id)
        if coupon is None:  # a foreign key makes this impossible
            raise LookupError(f"reservation {self.id} has no coupon")
        return CouponNode.from_domain(coupon)

    @classmethod
    def from_domain(cls, reservation: domain.Reservation) -> ReservationNode:
        return cls(
            id=strawberry.ID(str(reservation.id)),
            user_id=reservation.user_id,
            order_id=reservation.order_id,
            order_value=reservation.order_value,
            discount_amount=reservation.discount_amount,
            final_amount=reservation.final_amount,
            status=reservation.status,
            expires_at=reservation.expires_at,
            created_at=reservation.created_at,
            coupon_id=reservation.coupon_id,
        )
