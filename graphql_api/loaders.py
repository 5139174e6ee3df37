"""Every DataLoader, made fresh for each request so nothing is cached across callers.

Each batch opens its own short-lived session: Strawberry resolves sibling fields
concurrently, and one AsyncSession must never be shared between concurrent tasks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from graphql_api.domain.coupons import Coupon, Usage
from graphql_api.domain.pagination import Page, PageRequest
from graphql_api.services import coupon_queries

Sessions = async_sessionmaker[AsyncSession]
UsagePageKey = tuple[UUID, PageRequest]


class CouponByIdLoader(DataLoader[UUID, Coupon | None]):
    def __init__(self, sessionmaker: Sessions) -> None:
        super().__init__()
        self.sessionmaker = sessionmaker

    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[Coupon | None]:
        found = await coupon_queries.coupons_by_ids(self.sessionmaker, keys)
        return [found.get(key) for key in keys]


class UsagePageByCouponLoader(DataLoader[UsagePageKey, Page[Usage]]):
    """One statement per distinct page request, whatever the number of coupons."""

    def __init__(self, sessionmaker: Sessions) -> None:
        super().__init__()
        self.sessionmaker = sessionmaker

    async def batch_load_fn(self, keys: Sequence[UsagePageKey]) -> list[Page[Usage]]:
        coupons_by_page: dict[PageRequest, list[UUID]] = defaultdict(list)
        for coupon_id, page in keys:
            coupons_by_page[page].append(coupon_id)
        found: dict[UsagePageKey, Page[Usage]] = {}
        for page, coupon_ids in coupons_by_page.items():
            pages = await coupon_queries.coupons_usages(self.sessionmaker, coupon_ids, page)
            found.update(((coupon_id, page), pages[coupon_id]) for coupon_id in coupon_ids)
        return [found[key] for key in keys]


@dataclass(frozen=True, slots=True)
class Loaders:
    coupon_by_id: CouponByIdLoader
    usage_page: UsagePageByCouponLoader

    @classmethod
    def for_request(cls, sessionmaker: Sessions) -> Loaders:
        return cls(
            coupon_by_id=CouponByIdLoader(sessionmaker),
            usage_page=UsagePageByCouponLoader(sessionmaker),
        )
