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

from db.engine import Database
from db.hot import HotPool
from graphql_api.domain.campaigns import Campaign
from graphql_api.domain.coupons import Coupon, Usage
from graphql_api.domain.pagination import Page, PageRequest
from graphql_api.services import campaigns, coupon_queries

UsagePageKey = tuple[UUID, PageRequest]


class CouponByIdLoader(DataLoader[UUID, Coupon | None]):
    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[Coupon | None]:
        found = await coupon_queries.coupons_by_ids(self.db, keys)
        return [found.get(key) for key in keys]


class CouponByCodeLoader(DataLoader[str, Coupon | None]):
    """Lookups by code (couponByCode, aliased or not; Federation references) in one
    statement on the hot pool."""

    def __init__(self, hot: HotPool) -> None:
        super().__init__()
        self.hot = hot

    async def batch_load_fn(self, keys: Sequence[str]) -> list[Coupon | None]:
        found = await coupon_queries.coupons_by_codes(self.hot, keys)
        return [found.get(key) for key in keys]


class HeldUsesByCouponLoader(DataLoader[UUID, int]):
    """Live holds of many coupons in one statement (Coupon.heldUses)."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[int]:
        found = await coupon_queries.held_uses_of(self.db, keys)
        return [found.get(key, 0) for key in keys]


class CampaignByIdLoader(DataLoader[UUID, Campaign | None]):
    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[Campaign | None]:
        found = await campaigns.campaigns_by_ids(self.db, keys)
        return [found.get(key) for key in keys]


class UsageByIdLoader(DataLoader[UUID, Usage | None]):
    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    async def batch_load_fn(self, keys: Sequence[UUID]) -> list[Usage | None]:
        found = await coupon_queries.usages_by_ids(self.db, keys)
        return [found.get(key) for key in keys]


class UsagePageByCouponLoader(DataLoader[UsagePageKey, Page[Usage]]):
    """One statement per distinct page request, whatever the number of coupons."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db

    async def batch_load_fn(self, keys: Sequence[UsagePageKey]) -> list[Page[Usage]]:
        coupons_by_page: dict[PageRequest, list[UUID]] = defaultdict(list)
        for coupon_id, page in keys:
            coupons_by_page[page].append(coupon_id)
        found: dict[UsagePageKey, Page[Usage]] = {}
        for page, coupon_ids in coupons_by_page.items():
            pages = await coupon_queries.coupons_usages(self.db, coupon_ids, page)
            found.update(((coupon_id, page), pages[coupon_id]) for coupon_id in coupon_ids)
        return [found[key] for key in keys]


@dataclass(frozen=True, slots=True)
class Loaders:
    coupon_by_id: CouponByIdLoader
    coupon_by_code: CouponByCodeLoader
    campaign_by_id: CampaignByIdLoader
    held_uses: HeldUsesByCouponLoader
    usage_by_id: UsageByIdLoader
    usage_page: UsagePageByCouponLoader

    @classmethod
    def for_request(cls, db: Database, hot: HotPool) -> Loaders:
        return cls(
            coupon_by_id=CouponByIdLoader(db),
            coupon_by_code=CouponByCodeLoader(hot),
            campaign_by_id=CampaignByIdLoader(db),
            held_uses=HeldUsesByCouponLoader(db),
            usage_by_id=UsageByIdLoader(db),
            usage_page=UsagePageByCouponLoader(db),
        )
