"""Reading coupons and usages: single lookups, keyset pages, counts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.hot import HotPool
from db.queries import coupons, usages
from graphql_api.domain.coupons import Coupon, Usage
from graphql_api.domain.pagination import Page, PageRequest
from graphql_api.services.records import to_coupon, to_usage

Sessions = async_sessionmaker[AsyncSession]
T = TypeVar("T")


def _keyset(request: PageRequest) -> tuple[datetime, UUID] | None:
    return None if request.after is None else (request.after.at, request.after.id)


def _page(
    rows: Sequence[Row[Any]], first: int, convert: Callable[[Mapping[Any, Any]], T]
) -> Page[T]:
    """Pages are read with one extra row, which only says whether another page follows."""
    return Page(
        items=[convert(row._mapping) for row in rows[:first]], has_next_page=len(rows) > first
    )


async def coupon_by_code(hot: HotPool, code: str) -> Coupon | None:
    """The hottest read of all, on the prepared-statement pool; `code` as read_code reads it."""
    row = await coupons.coupon_by_code(hot, code)
    return None if row is None else to_coupon(row)


async def coupons_by_ids(sessionmaker: Sessions, ids: Sequence[UUID]) -> dict[UUID, Coupon]:
    async with sessionmaker() as session:
        rows = await coupons.coupons_by_ids(session, ids)
    return {row.id: to_coupon(row._mapping) for row in rows}


async def user_coupons(sessionmaker: Sessions, user_id: str, page: PageRequest) -> Page[Coupon]:
    async with sessionmaker() as session:
        rows = await coupons.user_coupons_page(session, user_id, page.first, _keyset(page))
    return _page(rows, page.first, to_coupon)


async def count_user_coupons(sessionmaker: Sessions, user_id: str) -> int:
    async with sessionmaker() as session:
        return await coupons.count_user_coupons(session, user_id)


async def active_campaigns(sessionmaker: Sessions, page: PageRequest) -> Page[Coupon]:
    async with sessionmaker() as session:
        rows = await coupons.active_campaigns_page(
            session, datetime.now(UTC), page.first, _keyset(page)
        )
    return _page(rows, page.first, to_coupon)


async def count_active_campaigns(sessionmaker: Sessions) -> int:
    async with sessionmaker() as session:
        return await coupons.count_active_campaigns(session, datetime.now(UTC))


async def user_usages(sessionmaker: Sessions, user_id: str, page: PageRequest) -> Page[Usage]:
    async with sessionmaker() as session:
        rows = await usages.user_usages_page(session, user_id, page.first, _keyset(page))
    return _page(rows, page.first, to_usage)


async def count_user_usages(sessionmaker: Sessions, user_id: str) -> int:
    async with sessionmaker() as session:
        return await usages.count_user_usages(session, user_id)


async def coupons_usages(
    sessionmaker: Sessions, coupon_ids: Sequence[UUID], page: PageRequest
) -> dict[UUID, Page[Usage]]:
    """The same page of usages for each coupon, read in one statement."""
    async with sessionmaker() as session:
        rows = await usages.coupons_usages_page(session, coupon_ids, page.first, _keyset(page))
    by_coupon: dict[UUID, list[Row[Any]]] = {coupon_id: [] for coupon_id in coupon_ids}
    for row in rows:
        by_coupon[row.coupon_id].append(row)
    return {cid: _page(rows, page.first, to_usage) for cid, rows in by_coupon.items()}


async def mark_expired_coupons(sessionmaker: Sessions) -> int:
    """Write EXPIRED on coupons whose window has closed (status is effective at read anyway)."""
    async with sessionmaker.begin() as session:
        return await coupons.mark_expired(session, datetime.now(UTC))
