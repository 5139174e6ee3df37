"""Reads of `coupon_reservations`; holds are written by the lifecycle functions only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Select, Table, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Reservation

reservations = cast(Table, Reservation.__table__)
r = reservations.c

# The status as of the read (db/sql/reservation_status.sql): EXPIRED once expires_at passed.
READ = (
    *reservations.c,
    func.reservation_status(literal_column("coupon_reservations")).label("effective_status"),
)


async def newest_of_order(session: AsyncSession, order_id: str) -> Row[Any] | None:
    statement = (
        select(*READ)
        .where(r.order_id == order_id)
        .order_by(r.created_at.desc(), r.id.desc())
        .limit(1)
    )
    return (await session.execute(statement)).one_or_none()


async def expire_holds(session: AsyncSession, limit: int) -> Sequence[Row[Any]]:
    """Writes EXPIRED on up to `limit` lapsed holds (db/sql/coupon_reservations_expire.sql)."""
    statement: Select[Any] = select(literal_column("*")).select_from(
        func.coupon_reservations_expire(limit)
    )
    rows: Sequence[Row[Any]] = (await session.execute(statement)).all()
    return rows
