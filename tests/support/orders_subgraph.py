"""A second subgraph, as a shop's order service would be: an `Order` points at a `Coupon`
by code, an entity the coupon service owns (a Federation 2 reference, not resolvable here)."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from strawberry.asgi import GraphQL
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet


@strawberry.type(name="Coupon", directives=[Key(fields=FieldSet("code"), resolvable=False)])
class CouponReference:
    code: str


@dataclass(frozen=True)
class StoredOrder:
    id: str
    total: str
    coupon_code: str | None


@strawberry.type
class Order:
    id: strawberry.ID
    total: str
    coupon_code: strawberry.Private[str | None]

    @strawberry.field(  # type: ignore[untyped-decorator]  # typed as returning Any
        description="The coupon the order was placed with (the coupon service's)."
    )
    def coupon(self) -> CouponReference | None:
        return None if self.coupon_code is None else CouponReference(code=self.coupon_code)


def orders_schema(orders: list[StoredOrder]) -> strawberry.federation.Schema:
    """The subgraph's schema, serving `orders`."""

    @strawberry.type
    class Query:
        @strawberry.field
        def orders(self) -> list[Order]:
            return [
                Order(id=strawberry.ID(order.id), total=order.total, coupon_code=order.coupon_code)
                for order in orders
            ]

    return strawberry.federation.Schema(query=Query, types=[CouponReference])


def orders_app(orders: list[StoredOrder]) -> GraphQL[None, None]:
    return GraphQL(orders_schema(orders), graphql_ide=None)
