"""Statements that read a campaign's codes, or usages, oldest first for an export.

Each is one ordered statement for a server-side cursor: the caller fetches its rows in
batches inside one snapshot (`Database.snapshot`), so a million rows never sit in memory
and every batch is a short fetch. Rows written in one transaction share `created_at` (or
`used_at`): `id` breaks the tie, so the order is total and the same on every run.
They never commit.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Select, exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.queries.campaigns import campaigns
from db.queries.coupons import EFFECTIVE_STATUS, WITH_CAMPAIGN, c, coupons
from db.queries.usages import u, usages


def campaign_codes_oldest_first(campaign_id: UUID) -> Select[Any]:
    """code, status (the effective one, db/sql/coupon_status.sql), user_id, uses (live,
    rolled-back ones given back), max_uses (None: no limit), created_at.

    Walks ix_coupons_campaign_newest backwards (see `stream_in_index_order`). Live holds
    are left out: counting them is a statement per code."""
    return (
        select(
            c.code,
            EFFECTIVE_STATUS,
            c.user_id,
            c.current_total_uses,
            c.max_total_uses,
            c.created_at,
        )
        .select_from(WITH_CAMPAIGN)
        .where(c.campaign_id == campaign_id)
        .order_by(c.created_at, c.id)
    )


def usages_oldest_first(*, campaign_id: UUID | None, coupon_id: UUID | None) -> Select[Any]:
    """Every usage row (rolled-back ones too) of a campaign's codes, or of one coupon, with
    the code it was made with. Exactly one of the two ids is given.

    Walks ix_coupon_usages_campaign_newest or ix_coupon_usages_coupon_newest backwards."""
    if (campaign_id is None) == (coupon_id is None):
        raise ValueError("give exactly one of campaign_id and coupon_id")
    of = u.campaign_id == campaign_id if coupon_id is None else u.coupon_id == coupon_id
    return (
        select(usages, c.code)
        .select_from(usages.join(coupons, c.id == u.coupon_id))
        .where(of)
        .order_by(u.used_at, u.id)
    )


async def stream_in_index_order(session: AsyncSession) -> None:
    """For the rest of the transaction, rows come in the order of an index, never sorted.

    Right after a generation job wrote its codes, the statistics still say the campaign has
    a few dozen: the planner then reads them all and sorts them before the first row, which
    for a million codes is seconds of waiting and a first fetch past the statement timeout.
    Without sorting as an option it walks the index, and the first rows come at once.
    """
    await session.execute(text("SET LOCAL enable_sort = off"))


async def campaign_exists(session: AsyncSession, campaign_id: UUID) -> bool:
    statement = select(exists().where(campaigns.c.id == campaign_id))
    return bool((await session.execute(statement)).scalar_one())


async def coupon_exists(session: AsyncSession, coupon_id: UUID) -> bool:
    statement = select(exists().where(c.id == coupon_id))
    return bool((await session.execute(statement)).scalar_one())
