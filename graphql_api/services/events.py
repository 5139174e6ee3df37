"""Events: the outbox's numbering, and the feed that other systems follow.

Every change the contract lists writes its event in its own transaction (the database's
functions for redemptions and holds, db/sql/event_append.sql; the services for what they
create). An event is numbered (`position`) only once it has committed, by one numbering at a
time in the order its change took its locks (`sequence`): the feed read in position order
never shows an event before one that precedes it, and a position once seen is never
followed by a smaller one, so a consumer's cursor is safe to keep.

The background worker numbers events as they come (and makes their webhook deliveries);
a reader of the feed numbers a batch itself when no numbering runs, so the feed is fresh
even without a worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from db.engine import Database
from db.queries import events
from graphql_api.domain.errors import invalid
from graphql_api.domain.pagination import Page

# Events numbered in one statement (with a delivery each per endpoint that wants them:
# small enough to stay far inside the statement timeout); a numbering repeats until none
# is left.
NUMBERING_BATCH = 500
FEED_NUMBERING_WAIT = 1.0  # seconds


@dataclass(frozen=True, slots=True)
class Event:
    id: UUID
    position: int
    type: str
    occurred_at: datetime
    data: dict[str, Any]


async def number_events(db: Database) -> int:
    """Number the events committed so far (and make their webhook deliveries), a batch per
    transaction; how many were numbered. Waits while another numbering runs."""
    total = 0
    while True:
        async with db.transaction() as session:
            await events.lock_numbering(session)
            numbered = await events.number_events(session, NUMBERING_BATCH)
        total += numbered
        if numbered < NUMBERING_BATCH:
            return total


async def number_some_events(db: Database) -> int:
    """One batch of numbering, what a reader of the feed does: it never numbers a whole
    backlog, and waits at most FEED_NUMBERING_WAIT for another numbering to end (one batch
    takes milliseconds; past that, the worker is at it and the feed shows what is numbered)."""
    deadline = asyncio.get_running_loop().time() + FEED_NUMBERING_WAIT
    while True:
        async with db.transaction() as session:
            if await events.lock_numbering(session, wait=False):
                return await events.number_events(session, NUMBERING_BATCH)
        if asyncio.get_running_loop().time() >= deadline:
            return 0
        await asyncio.sleep(0.02)


async def events_page(
    db: Database, after: int, first: int, types: Sequence[str] | None
) -> Page[Event]:
    """Up to `first` events after position `after` (0: from the start), oldest first, of
    `types` (None: every type). What has committed is numbered first (a batch of it, unless
    the worker is numbering). INVALID_INPUT on `after` past the feed's end."""
    await number_some_events(db)
    async with db.single_statement() as session:
        if after and after > await events.last_position(session):
            # Positions are never taken back (retention keeps the newest), so this is a
            # cursor of another database: following it would skip what is here.
            raise invalid("after", "after points past the end of this service's feed")
        rows = await events.events_page(session, after, first + 1, types)
    items = [
        Event(
            id=row.id,
            position=row.position,
            type=row.type,
            occurred_at=row.occurred_at,
            data=row.data,
        )
        for row in rows[:first]
    ]
    return Page(items=items, has_next_page=len(rows) > first)


async def forget_old_events(db: Database, days: int) -> int:
    """Delete events older than `days` days that no webhook delivery still waits on, with
    their deliveries and attempts; how many. The newest event always stays."""
    forgotten = 0
    while True:
        async with db.transaction() as session:
            deleted = await events.forget_old_events(session, days, NUMBERING_BATCH)
        forgotten += deleted
        if deleted < NUMBERING_BATCH:
            return forgotten
