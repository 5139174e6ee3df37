"""Statements on `coupon_usages`, which is append-only. They never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Row, Table, bindparam, func, select, true, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Usage

usages = cast(Table, Usage.__table__)
u = usages.c

Keyset = tuple[datetime, UUID]


def _newest_first(statement: Any, first: int, after: Keyset | None) -> Any:
    if after is not None:
        statement = statement.where(tuple_(u.used_at, u.id) < tuple_(*after))
    return statement.order_by(u.used_at.desc(), u.id.desc()).limit(first + 1)


async def coupons_usages_page(
    session: AsyncSession, coupon_ids: Sequence[UUID], first: int, after: Keyset | None
) -> Sequence[Row[Any]]:
    """The same page of usages for many coupons, in one statement (a LATERAL per coupon)."""
    ids = bindparam("coupon_ids", list(coupon_ids), type_=ARRAY(PG_UUID(as_uuid=True)))
    keys = select(func.unnest(ids).label("coupon_id")).subquery("keys")
    per_coupon = _newest_first(
        select(usages).where(u.coupon_id == keys.c.coupon_id), first, after
    ).lateral("page")
    statement = select(per_coupon).select_from(keys).join(per_coupon, true())
    return (await session.execute(statement)).all()


async def usages_by_ids(session: AsyncSession, ids: Sequence[UUID]) -> Sequence[Row[Any]]:
    return (await session.execute(select(usages).where(u.id.in_(ids)))).all()


async def user_usages_page(
    session: AsyncSession, user_id: str, first: int, after: Keyset | None
) -> Sequence[Row[Any]]:
    statement = _newest_first(select(usages).where(u.user_id == user_id), first, after)
    return (await session.execute(statement)).all()


async def count_user_usages(session: AsyncSession, user_id: str) -> int:
    statement = select(func.count()).select_from(usages).where(u.user_id == user_id)
    return int((await session.execute(statement)).scalar_one())
