"""Statements on `guess_counters`. Each runs on its own: a count must outlive a rollback."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, case, delete, exists, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import GuessCounter

counters = cast(Table, GuessCounter.__table__)
g = counters.c


async def is_limited(
    session: AsyncSession, subjects: Sequence[str], limit: int, window: timedelta
) -> bool:
    """Whether any subject has `limit` failures in a window that is still running."""
    statement = select(
        exists().where(
            g.subject.in_(subjects),
            g.failures >= limit,
            g.window_started > func.now() - window,
        )
    )
    return bool((await session.execute(statement)).scalar())


async def count_failure(session: AsyncSession, subjects: Sequence[str], window: timedelta) -> int:
    """Count one failed guess for each subject; the highest count in the current windows.

    An upsert takes each subject's row lock, so simultaneous failures are counted one by one.
    A window that has run out starts again at this failure.
    """
    statement = insert(counters).values(
        # Rows are locked in the order given: sorted, so two counts never wait on each other.
        [
            {"subject": subject, "window_started": func.now(), "failures": 1}
            for subject in sorted(subjects)
        ]
    )
    expired = statement.excluded.window_started - window >= g.window_started
    upsert = statement.on_conflict_do_update(
        index_elements=[g.subject],
        set_={
            "window_started": case((expired, func.now()), else_=g.window_started),
            "failures": case((expired, 1), else_=g.failures + 1),
        },
    ).returning(g.failures)
    failures: list[int] = list((await session.execute(upsert)).scalars().all())
    return max(failures)


async def forget_old_windows(session: AsyncSession, window: timedelta) -> None:
    await session.execute(delete(counters).where(g.window_started < func.now() - window))
