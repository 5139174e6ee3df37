"""Calls of the redemption lifecycle's database functions (db/sql/): each is the whole of
its operation in one statement, run in autocommit on the prepared-statement pool, so that
its row locks last as long as the function and no longer. `applicable_coupons` takes no
lock and returns many rows: it runs on an ordinary autocommit session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from asyncpg import Record
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

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


# applicableCoupons: the user's candidates, each put through coupon_redeem's VALIDATE, so
# that the checks live in one place. VALIDATE takes no lock; with no order the order
# checks are skipped. The user's guessing subject is passed, so a user over the limit gets
# RATE_LIMITED rows (first), as their redemptions would; the counters are never written,
# since a candidate is always found (only a NOT_FOUND writes them).
#
# The candidates are narrowed only by what VALIDATE refuses whatever else holds, so that
# nothing it would accept is left out: a stored status other than ACTIVE (coupon_status
# reads INACTIVE, EXPIRED or EXHAUSTED from it, a campaign's status only adds refusals),
# an order below the minimum, a window that does not contain now. A campaign code's terms,
# minimum and window are copies of its campaign's (db/queries/campaigns.py). Each branch
# has its index: ix_coupons_user_newest for the user's own (USER_SPECIFIC coupons and the
# campaign codes assigned to them), a partial index on ACTIVE rows for the running
# TIME_SPECIFIC coupons. One statement however many candidates there are; every candidate
# is checked, since the best discounts can be anywhere among them.
APPLICABLE = text(
    """
    WITH candidates AS (
        SELECT code FROM coupons
        WHERE user_id = CAST(:user_id AS text)
          AND status = 'ACTIVE'
          AND min_order_value <= CAST(:order_value AS numeric)
          AND (valid_from IS NULL OR valid_from <= now())
          AND (valid_until IS NULL OR valid_until > now())
        UNION ALL
        SELECT code FROM coupons
        WHERE type = 'TIME_SPECIFIC' AND user_id IS NULL
          AND status = 'ACTIVE'
          AND min_order_value <= CAST(:order_value AS numeric)
          AND valid_from <= now() AND valid_until > now()
    )
    SELECT r.outcome, r.discount, r.final_amount, r.coupon, r.coupon_status
    FROM candidates
    CROSS JOIN LATERAL coupon_redeem(
        'VALIDATE', candidates.code, CAST(:user_id AS text), NULL,
        CAST(:order_value AS numeric), NULL, NULL, CAST(:guess_subjects AS text[]),
        CAST(:guess_limit AS integer), CAST(:guess_window AS interval), NULL
    ) AS r
    WHERE r.outcome IN ('OK', 'RATE_LIMITED')
    ORDER BY r.outcome = 'OK', r.discount DESC, (r.coupon).code
    LIMIT :first
    """
)


async def applicable_coupons(
    session: AsyncSession,
    user_id: str,
    order_value: Decimal,
    first: int,
    *,
    guess_subjects: Sequence[str],
    guess_limit: int,
    guess_window: timedelta,
) -> Sequence[Row[Any]]:
    """Up to `first` rows as `call_coupon_redeem` answers them (outcome, discount,
    final_amount, coupon, coupon_status), the biggest discount first; all OK, unless a
    guessing subject is over its limit: then RATE_LIMITED rows come first. (No candidate
    can be NOT_FOUND, so the guessing counters are never written.)"""
    parameters = {
        "user_id": user_id,
        "order_value": order_value,
        "first": first,
        "guess_subjects": list(guess_subjects),
        "guess_limit": guess_limit,
        "guess_window": guess_window,
    }
    return (await session.execute(APPLICABLE, parameters)).all()


def _one(row: Record | None) -> Record:
    if row is None:
        raise RuntimeError("a lifecycle function returned no row")
    return row
