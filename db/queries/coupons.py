"""Statements on `coupons`. They never commit: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from asyncpg import Record
from sqlalchemy import Row, Table, case, func, literal, literal_column, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnClause

from db.hot import HotPool
from db.models import Campaign, Coupon

coupons = cast(Table, Coupon.__table__)
c = coupons.c
campaigns = cast(Table, Campaign.__table__)

# Every read of a coupon also asks the database for its effective status
# (db/sql/coupon_status.sql): one rule, on the database's clock. The status takes the
# coupon's campaign row, joined (a null row when it has none), so that PostgreSQL inlines
# the rule into the query. Live holds are counted only when a client asks for them
# (`held_uses_of`): every lookup would pay for them otherwise.
_ROW: ColumnClause[Any] = literal_column("coupons")
_CAMPAIGN: ColumnClause[Any] = literal_column("campaigns")
EFFECTIVE_STATUS = func.coupon_status(_ROW, _CAMPAIGN).label("effective_status")
READ = (*coupons.c, EFFECTIVE_STATUS)
WITH_CAMPAIGN = coupons.outerjoin(campaigns, campaigns.c.id == c.campaign_id)
# After an INSERT or UPDATE (RETURNING cannot join): the row's own campaign, looked up.
_OWN_CAMPAIGN: ColumnClause[Any] = literal_column(
    "(SELECT campaigns FROM campaigns WHERE campaigns.id = coupons.campaign_id)"
)
_RETURNED = (*coupons.c, func.coupon_status(_ROW, _OWN_CAMPAIGN).label("effective_status"))
# The hottest read: a coupon without a campaign (most lookups) costs no join, and its
# status inlines; a campaign's code looks its campaign up.
HOT_READ = (
    "SELECT coupons.*, CASE WHEN coupons.campaign_id IS NULL"
    " THEN coupon_status(coupons, NULL::campaigns)"
    " ELSE (SELECT coupon_status(coupons, k) FROM campaigns k WHERE k.id = coupons.campaign_id)"
    " END AS effective_status FROM coupons"
)


def _reading(*conditions: Any) -> Any:
    return select(*READ).select_from(WITH_CAMPAIGN).where(*conditions)


Keyset = tuple[datetime, UUID]


async def insert_coupon(session: AsyncSession, values: Mapping[str, Any]) -> Row[Any] | None:
    """Insert, or None when the code is taken (the unique index decides, not a prior read)."""
    statement = (
        pg_insert(coupons)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[c.code])
        .returning(*_RETURNED)
    )
    return (await session.execute(statement)).one_or_none()


async def coupon_by_code(hot: HotPool, code: str) -> Record | None:
    return await hot.fetchrow(f"{HOT_READ} WHERE coupons.code = $1", code)


async def coupons_by_codes(hot: HotPool, codes: Sequence[str]) -> list[Record]:
    return await hot.fetch(f"{HOT_READ} WHERE coupons.code = ANY($1::text[])", list(codes))


async def held_uses_of(session: AsyncSession, ids: Sequence[UUID]) -> dict[UUID, int]:
    """Live holds of each coupon (db/sql/coupon_held_uses.sql), in one statement."""
    statement = select(c.id, func.coupon_held_uses(_ROW)).where(c.id.in_(ids))
    return {row[0]: row[1] for row in (await session.execute(statement)).all()}


async def coupons_by_ids(session: AsyncSession, ids: Sequence[UUID]) -> Sequence[Row[Any]]:
    return (await session.execute(_reading(c.id.in_(ids)))).all()


def _newest_first(statement: Any, first: int, after: Keyset | None) -> Any:
    if after is not None:
        statement = statement.where(tuple_(c.created_at, c.id) < tuple_(*after))
    return statement.order_by(c.created_at.desc(), c.id.desc()).limit(first + 1)


def _user_coupons(user_id: str) -> Any:
    # The user's own coupons: USER_SPECIFIC ones and campaign codes handed to them.
    return c.user_id == user_id


def _running_campaigns() -> Any:
    # The stored status narrows the rows to the partial index; the rule itself is the
    # database's (coupon_status), on its clock. A window that has not started is left out.
    return (
        (c.type == "TIME_SPECIFIC")
        & (c.status == "ACTIVE")
        & (c.valid_from <= func.now())
        & (func.coupon_status(_ROW, _CAMPAIGN) == "ACTIVE")
    )


async def user_coupons_page(
    session: AsyncSession, user_id: str, first: int, after: Keyset | None
) -> Sequence[Row[Any]]:
    """Up to `first + 1` rows: the extra one tells whether there is a next page."""
    statement = _newest_first(_reading(_user_coupons(user_id)), first, after)
    return (await session.execute(statement)).all()


async def count_user_coupons(session: AsyncSession, user_id: str) -> int:
    statement = select(func.count()).select_from(coupons).where(_user_coupons(user_id))
    return int((await session.execute(statement)).scalar_one())


async def active_campaigns_page(
    session: AsyncSession, first: int, after: Keyset | None
) -> Sequence[Row[Any]]:
    statement = _newest_first(_reading(_running_campaigns()), first, after)
    return (await session.execute(statement)).all()


async def count_active_campaigns(session: AsyncSession) -> int:
    statement = select(func.count()).select_from(WITH_CAMPAIGN).where(_running_campaigns())
    return int((await session.execute(statement)).scalar_one())


async def mark_expired(session: AsyncSession) -> int:
    """Write EXPIRED on ACTIVE coupons whose window has closed; reads never wait for this."""
    statement = (
        update(coupons)
        .where(c.status == "ACTIVE", c.valid_until <= func.now())
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
        .returning(*_RETURNED)
    )
    return (await session.execute(statement)).one_or_none()


async def campaign_codes_page(
    session: AsyncSession,
    campaign_id: UUID,
    first: int,
    after: Keyset | None,
    *,
    redeemed: bool | None,
    assigned: bool | None,
) -> Sequence[Row[Any]]:
    statement = _reading(_campaign_codes(campaign_id, redeemed, assigned))
    return (await session.execute(_newest_first(statement, first, after))).all()


async def count_campaign_codes(
    session: AsyncSession, campaign_id: UUID, *, redeemed: bool | None, assigned: bool | None
) -> int:
    where = _campaign_codes(campaign_id, redeemed, assigned)
    statement = select(func.count()).select_from(coupons).where(where)
    return int((await session.execute(statement)).scalar_one())


def _campaign_codes(campaign_id: UUID, redeemed: bool | None, assigned: bool | None) -> Any:
    condition = c.campaign_id == campaign_id
    if redeemed is not None:
        # Redeemed: at least one use that was not rolled back.
        condition &= (c.current_total_uses > 0) if redeemed else (c.current_total_uses == 0)
    if assigned is not None:
        condition &= c.user_id.is_not(None) if assigned else c.user_id.is_(None)
    return condition
