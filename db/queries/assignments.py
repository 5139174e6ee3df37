"""The call of `coupon_assign` (db/sql/coupon_assign.sql): the whole of assignCode in one
statement. It never commits: run it in autocommit, where the statement is the transaction
and its locks last as long as the function and no longer."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

# The code's columns spread out beside the outcome, so that the row reads like any coupon
# row (`effective_status` included); all null when the outcome is a refusal.
_ASSIGN = text(
    "SELECT r.outcome, r.replayed, r.coupon_status AS effective_status, (r.coupon).*"
    " FROM coupon_assign(CAST(:campaign_id AS uuid), :user_id) AS r"
)


async def call_coupon_assign(session: AsyncSession, campaign_id: UUID, user_id: str) -> Row[Any]:
    """One row: outcome, replayed, effective_status and the columns of `coupons`."""
    return (await session.execute(_ASSIGN, {"campaign_id": campaign_id, "user_id": user_id})).one()
