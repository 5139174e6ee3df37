"""Statements on `guess_counters` outside `coupon_redeem`, which counts the failures."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from sqlalchemy import Table, delete, func
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import GuessCounter

counters = cast(Table, GuessCounter.__table__)
g = counters.c


async def forget_old_windows(session: AsyncSession, window: timedelta) -> None:
    await session.execute(delete(counters).where(g.window_started < func.now() - window))
