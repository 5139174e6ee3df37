"""Statements on `coupons`. They never commit: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from asyncpg import Record
from sqlalchemy import Row, Table, case, func, literal, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.hot import HotPool
from db.models import Coupon

coupons = cast(Table, Coupon.__table__)
c = coupons.c

Keyset = tuple[datetime, UUID]


async def insert_coupon(session: AsyncSession, values: Mapping[str, Any]) -> Row[Any] | None:
    """Insert, or None when the code is taken (the unique index decides, not a prior read)."""
    statement = (
        pg_insert(coupons)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[c.code])
        .returning(*coupons.c)
    )
    return (await session.execute(statement)).one_or_none()


async def coupon_by_code(hot: HotPool, code: str) -> Record | None:
    return await hot.fetchrow("SELECT * FROM coupons WHERE code = $1", code)


async def coupons_by_ids(session: AsyncSession, ids: Sequence[UUID]) -> Sequence[Row[Any]]:
    return (await session.execute(select(coupons).where(c.id.in_(ids)))).all()


def _newest_first(statement: Any, first: int, after: Keyset | None) -> Any:
    if after is not None:
        statement = statement.where(tuple_(c.created_at, c.id) < tuple_(*after))
    return statement.order_by(c.created_at.desc(), c.id.desc()).limit(first + 1)


def _user_coupons(user_id: str) -> Any:
    return c.user_id == user_id


def _running_campaigns(now: datetime) -> Any:
    return (
        (c.type == "TIME_SPECIFIC")
        & (c.status == "ACTIVE")
        & (c.valid_from <= now)
        & (c.valid_until > now)
        & (c.max_total_uses.is_(None) | (c.current_total_uses < c.max_total_uses))
    )


async def user_coupons_page(
    session: AsyncSession, user_id: str, first: int, after: Keyset | None
) -> Sequence[Row[Any]]:
    """Up to `first + 1` rows: the extra one tells whether there is a next page."""
    statement = _newest_first(select(coupons).where(_user_coupons(user_id)), first, after)
    return (await session.execute(statement)).all()


async def count_user_coupons(session: AsyncSession, user_id: str) -> int:
    statement = select(func.count()).select_from(coupons).where(_user_coupons(user_id))
    return int((await session.execute(statement)).scalar_one())


async def active_campaigns_page(
    session: AsyncSession, now: datetime, first: int, after: Keyset | None
) -> Sequence[Row[Any]]:
    statement = _newest_first(select(coupons).where(_running_campaigns(now)), first, after)
    return (await session.execute(statement)).all()


async def count_active_campaigns(session: AsyncSession, now: datetime) -> int:
    statement = select(func.count()).select_from(coupons).where(_running_campaigns(now))
    return int((await session.execute(statement)).scalar_one())


async def mark_expired(session: AsyncSession, now: datetime) -> int:
    """Write EXPIRED on ACTIVE coupons whose window has closed; reads never wait for this."""
    statement = (
        update(coupons)
        .where(c.status == "ACTIVE", c.valid_until <= now)
        .values(status="EXPIRED", updated_at=func.now())
    )
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def set_active(session: AsyncSession, coupon_id: UUID, *, active: bool) -> Row[Any] | None:
    """INACTIVE when deactivated; back to ACTIVE only from INACTIVE (limits still apply)."""
    reactivated = case((c.status == "INACTIVE", literal("ACTIVE", c.status.type)), else_=c.status)
    status = reactivated if active else "INACTIVE"
    statement = (
        update(coupons)
        .where(c.id == coupon_id)
        .values(status=status, updated_at=func.now())
        .returning(*coupons.c)
    )
    return (await session.execute(statement)).one_or_none()
