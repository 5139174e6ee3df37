"""Calls of the redemption lifecycle's database functions (db/sql/): each is the whole of
its operation in one statement, run in autocommit on the prepared-statement pool, so that
its row locks last as long as the function and no longer."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Literal

from asyncpg import Record

from db.hot import HotPool

Mode = Literal["VALIDATE", "RESERVE", "REDEEM"]

REDEEM = (
    "SELECT r.*, reservation_status(r.reservation) AS reservation_status"
    " FROM coupon_redeem($1, $2, $3, $4, $5, $6::inet, $7, $8, $9, $10, $11) AS r"
)
ROLLBACK = "SELECT * FROM coupon_rollback($1, $2)"
RELEASE = (
    "SELECT r.*, reservation_status(r.reservation) AS reservation_status"
    " FROM coupon_release($1) AS r"
)


async def call_coupon_redeem(
    hot: HotPool,
    mode: Mode,
    *,
    code: str,
    user_id: str,
    order_id: str | None,
    order_value: Decimal,
    ip_address: str | None,
    user_agent: str | None,
    guess_subjects: list[str],
    guess_limit: int,
    guess_window: timedelta,
    hold_for: timedelta | None = None,
) -> Record:
    """One row: outcome, replayed, discount, final_amount, coupon (a `coupons` row),
    coupon_status, usage, reservation, reservation_status."""
    return _one(
        await hot.fetchrow(
            REDEEM,
            mode,
            code,
            user_id,
            order_id,
            order_value,
            ip_address,
            user_agent,
            guess_subjects,
            guess_limit,
            guess_window,
            hold_for,
        )
    )


async def call_coupon_rollback(hot: HotPool, order_id: str, reason: str | None) -> Record:
    """One row: outcome, replayed, coupon, coupon_status, usage."""
    return _one(await hot.fetchrow(ROLLBACK, order_id, reason))


async def call_coupon_release(hot: HotPool, order_id: str) -> Record:
    """One row: outcome, reservation, reservation_status."""
    return _one(await hot.fetchrow(RELEASE, order_id))


def _one(row: Record | None) -> Record:
    if row is None:
        raise RuntimeError("a lifecycle function returned no row")
    return row
