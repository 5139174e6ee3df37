"""Cursor connections: edges, pageInfo and a totalCount counted only when asked for."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import strawberry

from graphql_api.domain.coupons import Coupon, Usage
from graphql_api.domain.pagination import ListScope, Page, Position, encode_cursor
from graphql_api.schema.types import CouponNode, UsageNode

Counter = Callable[[], Awaitable[int]]


@strawberry.type(description="Where a page ends and whether another follows.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether items follow this page.")
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page; null on an empty page."
    )


@strawberry.type(description="A coupon and its cursor.")
class CouponEdge:
    cursor: str = strawberry.field(description="Opaque; pass as `after` to continue from here.")
    node: CouponNode = strawberry.field(description="The coupon.")


@strawberry.type(description="A page of coupons, newest first.")
class CouponConnection:
    edges: list[CouponEdge] = strawberry.field(description="The coupons on this page.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")
    count: strawberry.Private[Counter]

    @strawberry.field(description="How many coupons the whole list holds.")
    async def total_count(self) -> int:
        return await self.count()

    @classmethod
    def of(cls, scope: ListScope, page: Page[Coupon], count: Counter) -> CouponConnection:
        """`scope`: the list the cursors are for (see paged_lists)."""
        edges = [
            CouponEdge(
                cursor=encode_cursor(scope, Position(coupon.created_at, coupon.id)),
                node=CouponNode.from_domain(coupon),
            )
            for coupon in page.items
        ]
        return cls(edges=edges, page_info=page_info(page.has_next_page, edges), count=count)


@strawberry.type(description="A usage and its cursor.")
class UsageEdge:
    cursor: str = strawberry.field(description="Opaque; pass as `after` to continue from here.")
    node: UsageNode = strawberry.field(description="The usage.")


@strawberry.type(description="A page of usages, newest first.")
class UsageConnection:
    edges: list[UsageEdge] = strawberry.field(description="The usages on this page.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")
    count: strawberry.Private[Counter]

    @strawberry.field(description="How many usages the whole list holds.")
    async def total_count(self) -> int:
        return await self.count()

    @classmethod
    def of(cls, scope: ListScope, page: Page[Usage], count: Counter) -> UsageConnection:
        """`scope`: the list the cursors are for (see paged_lists)."""
        edges = [
            UsageEdge(
                cursor=encode_cursor(scope, Position(usage.used_at, usage.id)),
                node=UsageNode.from_domain(usage),
            )
            for usage in page.items
        ]
        return cls(edges=edges, page_info=page_info(page.has_next_page, edges), count=count)


class Edge(Protocol):
    cursor: str


def page_info(
    has_next_page: bool, edges: Sequence[Edge], empty_cursor: str | None = None
) -> PageInfo:
    """The page's end: its last edge's cursor, or `empty_cursor` for a page without edges."""
    return PageInfo(
        has_next_page=has_next_page, end_cursor=edges[-1].cursor if edges else empty_cursor
    )
