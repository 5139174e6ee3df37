"""Reading coupons and usages: single lookups, keyset pages, counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Row

from db.engine import Database
from db.hot import HotPool
from db.queries import coupons, usages
from graphql_api.domain.coupons import Coupon, Usage
from graphql_api.domain.pagination import Page, PageRequest
from graphql_api.services.paging import keyset, page_of
from graphql_api.services.records import to_coupon, to_usage


async def coupon_by_code(hot: HotPool, code: str) -> Coupon | None:
    """The hottest read of all, on the prepared-statement pool; `code` as read_code reads it."""
    row = await coupons.coupon_by_code(hot, code)
    return None if row is None else to_coupon(row)


async def coupons_by_codes(hot: HotPool, codes: Sequence[str]) -> dict[str, Coupon]:
    """Many lookups in one statement, on the prepared-statement pool; codes as read_code
    reads them."""
    rows = await coupons.coupons_by_codes(hot, codes)
    return {row["code"]: to_coupon(row) for row in rows}


async def coupons_by_ids(db: Database, ids: Sequence[UUID]) -> dict[UUID, Coupon]:
    async with db.single_statement() as session:
        rows = await coupons.coupons_by_ids(session, ids)
    return {row.id: to_coupon(row._mapping) for row in rows}


async def held_uses_of(db: Database, ids: Sequence[UUID]) -> dict[UUID, int]:
    """Live holds of each coupon, counted now."""
    async with db.single_statement() as session:
        return await coupons.held_uses_of(session, ids)


async def user_coupons(db: Database, user_id: str, page: PageRequest) -> Page[Coupon]:
    async with db.single_statement() as session:
        rows = await coupons.user_coupons_page(session, user_id, page.first, keyset(page))
    return page_of(rows, page.first, to_coupon)


async def count_user_coupons(db: Database, user_id: str) -> int:
    async with db.single_statement() as session:
        return await coupons.count_user_coupons(session, user_id)


async def active_campaigns(db: Database, page: PageRequest) -> Page[Coupon]:
    async with db.single_statement() as session:
        rows = await coupons.active_campaigns_page(session, page.first, keyset(page))
    return page_of(rows, page.first, to_coupon)


async def count_active_campaigns(db: Database) -> int:
    async with db.single_statement() as session:
        return await coupons.count_active_campaigns(session)


async def usages_by_ids(db: Database, ids: Sequence[UUID]) -> dict[UUID, Usage]:
    async with db.single_statement() as session:
        rows = await usages.usages_by_ids(session, ids)
    return {row.id: to_usage(row._mapping) for row in rows}


async def user_usages(db: Database, user_id: str, page: PageRequest) -> Page[Usage]:
    async with db.single_statement() as session:
        rows = await usages.user_usages_page(session, user_id, page.first, keyset(page))
    return page_of(rows, page.first, to_usage)


async def count_user_usages(db: Database, user_id: str) -> int:
    async with db.single_statement() as session:
        return await usages.count_user_usages(session, user_id)


async def coupons_usages(
    db: Database, coupon_ids: Sequence[UUID], page: PageRequest
) -> dict[UUID, Page[Usage]]:
    """The same page of usages for each coupon, read in one statement."""
    async with db.single_statement() as session:
        rows = await usages.coupons_usages_page(session, coupon_ids, page.first, keyset(page))
    by_coupon: dict[UUID, list[Row[Any]]] = {coupon_id: [] for coupon_id in coupon_ids}
    for row in rows:
        by_coupon[row.coupon_id].append(row)
    return {cid: page_of(rows, page.first, to_usage) for cid, rows in by_coupon.items()}


async def mark_expired_coupons(db: Database) -> int:
    """Write EXPIRED on coupons whose window has closed (status is effective at read anyway)."""
    async with db.single_statement() as session:
        return await coupons.mark_expired(session)
