"""Statements on `events`: appending the changes made outside the database's functions,
numbering committed events, and reading the feed. They never commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

# One numbering at a time, whoever runs it (a worker, a reader of the feed): the key of a
# transaction-level advisory lock, so it holds through a transaction-mode pooler too.
NUMBERING_LOCK = 7_310_001

_COUPON_CREATED = text(
    """
    SELECT event_append('coupon.created', c.id, c.campaign_id, jsonb_build_object(
        'coupon', event_coupon(c, coupon_status(c, k)),
        'campaign', event_campaign(k)))
    FROM coupons c LEFT JOIN campaigns k ON k.id = c.campaign_id
    WHERE c.id = :coupon_id
    """
)

_CAMPAIGN_CREATED = text(
    """
    SELECT event_append('campaign.created', NULL, k.id,
                        jsonb_build_object('campaign', event_campaign(k)))
    FROM campaigns k WHERE k.id = :campaign_id
    """
)

_CODES_GENERATED = text(
    """
    SELECT event_append('codes.generated', NULL, k.id, jsonb_build_object(
        'source', CAST(:source AS text),
        'count', CAST(:count AS integer),
        'jobId', CAST(:job_id AS uuid),
        'jobStatus', CAST(:job_status AS text),
        'campaign', event_campaign(k)))
    FROM campaigns k WHERE k.id = :campaign_id
    """
)

# Numbers the oldest unnumbered events that have committed, in `sequence` order, after the
# last number given; and makes a delivery of each for every endpoint that wants its type,
# and the stream row that schedules it. Deliveries are written before their stream rows
# are touched: a worker finishing a stream (which locks its row, then looks for pending
# deliveries) either sees them or makes the upsert below write the row again.
_NUMBER = text(
    """
    WITH batch AS (
        SELECT id, row_number() OVER (ORDER BY sequence) AS n
        FROM (SELECT id, sequence FROM events WHERE position IS NULL
              ORDER BY sequence LIMIT :limit) oldest
    ), numbered AS (
        UPDATE events e
        SET position = (SELECT coalesce(max(position), 0) FROM events) + batch.n
        FROM batch WHERE e.id = batch.id
        RETURNING e.id, e.position, e.type, coalesce(e.coupon_id, e.campaign_id) AS stream_key
    ), made AS (
        INSERT INTO webhook_deliveries (endpoint_id, event_id, event_position, stream_key)
        SELECT w.id, n.id, n.position, n.stream_key
        FROM numbered n JOIN webhook_endpoints w ON w.enabled AND n.type = ANY (w.events)
        RETURNING endpoint_id, stream_key
    ), streams AS (
        INSERT INTO webhook_streams AS s (endpoint_id, stream_key)
        SELECT DISTINCT endpoint_id, stream_key FROM made ORDER BY 1, 2
        ON CONFLICT (endpoint_id, stream_key)
        DO UPDATE SET next_attempt_at = s.next_attempt_at
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM numbered) AS numbered,
           (SELECT count(*) FROM made) AS deliveries,
           (SELECT count(*) FROM streams) AS streams
    """
)

_PAGE = text(
    """
    SELECT id, position, type, occurred_at, data FROM events
    WHERE position > :after
      AND (CAST(:types AS text[]) IS NULL OR type = ANY (CAST(:types AS text[])))
    ORDER BY position
    LIMIT :limit
    """
)

_LAST_POSITION = text("SELECT coalesce(max(position), 0) FROM events")


async def append_coupon_created(session: AsyncSession, coupon_id: UUID) -> None:
    await session.execute(_COUPON_CREATED, {"coupon_id": coupon_id})


async def append_campaign_created(session: AsyncSession, campaign_id: UUID) -> None:
    await session.execute(_CAMPAIGN_CREATED, {"campaign_id": campaign_id})


async def append_codes_generated(
    session: AsyncSession,
    campaign_id: UUID,
    *,
    source: str,
    count: int,
    job_id: UUID | None = None,
    job_status: str | None = None,
) -> None:
    """`codes.generated`: `count` codes added to the campaign by `source` (GENERATION or
    IMPORT), with the generation job's id and final status when there is one."""
    await session.execute(
        _CODES_GENERATED,
        {
            "campaign_id": campaign_id,
            "source": source,
            "count": count,
            "job_id": job_id,
            "job_status": job_status,
        },
    )


async def number_events(session: AsyncSession, limit: int) -> int:
    """Number up to `limit` committed events and make their deliveries; how many were
    numbered. Must run in a transaction that holds NUMBERING_LOCK (`lock_numbering`)."""
    row = (await session.execute(_NUMBER, {"limit": limit})).one()
    return int(row.numbered)


async def lock_numbering(session: AsyncSession, *, wait: bool = True) -> bool:
    """Take the numbering lock, held until the transaction ends; without `wait`, False when
    another numbering holds it. A statement after this one sees every event committed
    before the previous numbering ended."""
    if wait:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": NUMBERING_LOCK})
        return True
    taken = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": NUMBERING_LOCK}
    )
    return bool(taken.scalar_one())


async def events_page(
    session: AsyncSession, after: int, limit: int, types: Sequence[str] | None
) -> Sequence[Row[Any]]:
    """Numbered events after position `after`, oldest first, of `types` (None: all)."""
    params = {"after": after, "limit": limit, "types": None if types is None else list(types)}
    return (await session.execute(_PAGE, params)).all()


# Events past the retention whose deliveries are all done; never the newest event, whose
# position the next numbering counts on (positions are never given twice).
_FORGET = text(
    """
    DELETE FROM events
    WHERE id IN (
        SELECT e.id FROM events e
        WHERE e.occurred_at < now() - make_interval(days => :days)
          AND e.position < (SELECT max(position) FROM events)
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                          WHERE d.event_id = e.id AND d.state = 'PENDING')
        ORDER BY e.position
        LIMIT :limit
    )
    """
)


async def forget_old_events(session: AsyncSession, days: int, limit: int) -> int:
    """Delete up to `limit` events older than `days` days (with their deliveries and
    attempts) that no delivery waits on; how many."""
    result = await session.execute(_FORGET, {"days": days, "limit": limit})
    return int(result.rowcount)  # type: ignore[attr-defined]


async def last_position(session: AsyncSession) -> int:
    """The highest position given so far (0: none): no cursor may point past it."""
    return int((await session.execute(_LAST_POSITION)).scalar_one())
