"""Handing a campaign's codes to users: one call of the database's `coupon_assign`
(db/sql/coupon_assign.sql), in autocommit.

The function takes the (campaign, user) pair's lock, answers the user's code of the
campaign when they have one, and otherwise binds the oldest free code to them under its
row lock (SKIP LOCKED: simultaneous callers take different codes). An assigned code is a
CAMPAIGN coupon with its `user_id` set: it belongs to that user as a USER_SPECIFIC coupon
does (another user's redemption of it is NOT_FOUND) and `userCoupons` lists it.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from db.engine import Database
from db.queries.assignments import call_coupon_assign
from graphql_api.domain.coupons import Coupon
from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.services.records import to_coupon

_REFUSALS = {
    "NOT_FOUND": (ErrorCode.NOT_FOUND, "No campaign with id {campaign_id}"),
    "INACTIVE": (ErrorCode.INACTIVE, "This campaign is not active"),
    "EXPIRED": (ErrorCode.EXPIRED, "This campaign has ended"),
    "EXHAUSTED": (ErrorCode.EXHAUSTED, "This campaign has no code left to assign"),
}


@dataclass(frozen=True, slots=True)
class Assignment:
    """The user's code; `replayed` when an earlier call assigned it."""

    coupon: Coupon
    replayed: bool


async def assign_code(db: Database, campaign_id: UUID, user_id: str) -> Assignment:
    """Bind a free code of the campaign to the user, or answer the one they have. Raises
    NOT_FOUND, INACTIVE, EXPIRED or EXHAUSTED (the campaign's budgets are spent, or no free
    code is left), each on `campaignId`."""
    async with db.single_statement() as session:
        row = await call_coupon_assign(session, campaign_id, user_id)
    if row.outcome != "OK":
        code, message = _REFUSALS[row.outcome]
        raise CouponError(code, message.format(campaign_id=campaign_id), "campaignId")
    return Assignment(coupon=to_coupon(row._mapping), replayed=row.replayed)
