"""The call of `coupon_redeem` (migration 0003): the whole redemption in one statement."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from asyncpg import Record

from db.hot import HotPool

CALL = "SELECT * FROM coupon_redeem($1, $2, $3, $4, $5::inet, $6, $7, $8, $9, $10)"


async def call_coupon_redeem(
    hot: HotPool,
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
    dry_run: bool,
) -> Record:
    """Run autocommit, as a statement of its own: the coupon's row lock lasts as long as the
    function does, not until a client gets round to committing."""
    row = await hot.fetchrow(
        CALL,
        code,
        user_id,
        order_id,
        order_value,
        ip_address,
        user_agent,
        guess_subjects,
        guess_limit,
        guess_window,
        dry_run,
    )
    if row is None:
        raise RuntimeError("coupon_redeem returned no row")
    return row
