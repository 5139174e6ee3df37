"""Statements on webhook endpoints, their deliveries, streams and attempts. They never commit.

A stream (`webhook_streams`) is an endpoint's pending deliveries of one coupon (or
campaign). A worker takes a stream for a while (`leased_until`), sends its deliveries in
order and records what happened; a stream whose oldest delivery failed waits until
`next_attempt_at`; a stream with nothing pending is deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Row, Table, delete, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint

endpoints = cast(Table, WebhookEndpoint.__table__)
w = endpoints.c
deliveries = cast(Table, WebhookDelivery.__table__)
d = deliveries.c
attempts_table = cast(Table, WebhookAttempt.__table__)
a = attempts_table.c
events_table = cast(Table, Event.__table__)
e = events_table.c

Keyset = tuple[datetime, UUID]
# What an endpoint is read as: never its secret.
READ = (w.id, w.url, w.events, w.enabled, w.created_at)


async def insert_endpoint(session: AsyncSession, values: Mapping[str, Any]) -> Row[Any]:
    statement = pg_insert(endpoints).values(**values).returning(*READ)
    return (await session.execute(statement)).one()


async def delete_endpoint(session: AsyncSession, endpoint_id: UUID) -> Row[Any] | None:
    """Delete it, its deliveries, their attempts and its streams; the row, or None."""
    statement: Any = delete(endpoints).where(w.id == endpoint_id).returning(*READ)
    return (await session.execute(statement)).one_or_none()


async def endpoints_page(
    session: AsyncSession, first: int, after: Keyset | None
) -> Sequence[Row[Any]]:
    """Newest first, up to `first + 1` rows."""
    statement: Any = select(*READ)
    if after is not None:
        statement = statement.where(tuple_(w.created_at, w.id) < tuple_(*after))
    statement = statement.order_by(w.created_at.desc(), w.id.desc()).limit(first + 1)
    return (await session.execute(statement)).all()


async def endpoint_target(session: AsyncSession, endpoint_id: UUID) -> Row[Any] | None:
    """What a delivery needs: url and secret; None once deleted."""
    statement: Any = select(w.url, w.secret).where(w.id == endpoint_id)
    return (await session.execute(statement)).one_or_none()


_DUE_ENDPOINTS = text(
    """
    SELECT w.id FROM webhook_endpoints w
    WHERE EXISTS (SELECT 1 FROM webhook_streams s
                  WHERE s.endpoint_id = w.id AND s.next_attempt_at <= now()
                    AND s.leased_until <= now())
    """
)


async def due_endpoints(session: AsyncSession) -> list[UUID]:
    """Endpoints with a stream whose time has come and that no worker holds."""
    return list((await session.execute(_DUE_ENDPOINTS)).scalars())


# Takes up to :streams due streams of the endpoint for :lease seconds, and answers the
# oldest :per_stream pending deliveries of each, in order, with their events (a stream
# with none left comes back with a null delivery, to be deleted).
_TAKE = text(
    """
    WITH due AS (
        SELECT stream_key FROM webhook_streams
        WHERE endpoint_id = :endpoint AND next_attempt_at <= now() AND leased_until <= now()
        ORDER BY next_attempt_at
        LIMIT :streams
        FOR UPDATE SKIP LOCKED
    ), taken AS (
        UPDATE webhook_streams s
        SET leased_until = now() + make_interval(secs => :lease), lease = :token
        FROM due WHERE s.endpoint_id = :endpoint AND s.stream_key = due.stream_key
        RETURNING s.stream_key
    )
    SELECT t.stream_key, p.id AS delivery_id, p.attempts, e.id AS event_id, e.type,
           e.occurred_at, e.data::text AS data
    FROM taken t
    LEFT JOIN LATERAL (
        SELECT id, attempts, event_id, event_position FROM webhook_deliveries
        WHERE endpoint_id = :endpoint AND stream_key = t.stream_key AND state = 'PENDING'
        ORDER BY event_position
        LIMIT :per_stream
    ) p ON true
    LEFT JOIN events e ON e.id = p.event_id
    ORDER BY t.stream_key, p.event_position
    """
)


async def take_streams(
    session: AsyncSession,
    endpoint_id: UUID,
    *,
    streams: int,
    per_stream: int,
    lease: float,
    token: UUID,
) -> Sequence[Row[Any]]:
    """Take up to `streams` due streams for `lease` seconds under `token`; their oldest
    `per_stream` pending deliveries with their events, in order (see _TAKE)."""
    params = {"endpoint": endpoint_id, "streams": streams, "per_stream": per_stream}
    return (await session.execute(_TAKE, {**params, "lease": lease, "token": token})).all()


_LOCK_STREAMS = text(
    """
    SELECT 1 FROM webhook_streams
    WHERE endpoint_id = :endpoint AND stream_key = ANY (CAST(:keys AS uuid[]))
    ORDER BY stream_key
    FOR UPDATE
    """
)

_RECORD_ATTEMPTS = text(
    """
    INSERT INTO webhook_attempts (delivery_id, attempted_at, duration_ms, response_status,
                                  response_excerpt, error)
    SELECT v.* FROM unnest(CAST(:ids AS uuid[]), CAST(:at AS timestamptz[]),
                           CAST(:ms AS integer[]), CAST(:status AS integer[]),
                           CAST(:excerpt AS text[]), CAST(:error AS text[]))
                    AS v(id, at, ms, status, excerpt, error)
    -- an endpoint deleted meanwhile took its deliveries with it
    WHERE EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = v.id)
    """
)

_DELIVERED = text(
    """
    UPDATE webhook_deliveries d
    SET state = 'DELIVERED', attempts = d.attempts + 1, last_attempt_at = v.at,
        delivered_at = v.at
    FROM unnest(CAST(:ids AS uuid[]), CAST(:at AS timestamptz[])) AS v(id, at)
    WHERE d.id = v.id AND d.state = 'PENDING'
    """
)

# A failure: FAILED when :retry (seconds) is null, else tried again then.
_FAILED = text(
    """
    UPDATE webhook_deliveries d
    SET attempts = d.attempts + 1, last_attempt_at = v.at,
        state = CASE WHEN v.retry IS NULL THEN 'FAILED' ELSE 'PENDING' END
                ::webhook_delivery_state,
        next_attempt_at = CASE WHEN v.retry IS NULL THEN d.next_attempt_at
                               ELSE now() + make_interval(secs => v.retry) END
    FROM unnest(CAST(:ids AS uuid[]), CAST(:at AS timestamptz[]),
                CAST(:retry AS double precision[])) AS v(id, at, retry)
    WHERE d.id = v.id AND d.state = 'PENDING'
    """
)

_WAIT = text(
    """
    UPDATE webhook_streams s
    SET next_attempt_at = now() + make_interval(secs => v.retry), leased_until = '-infinity',
        lease = NULL
    FROM unnest(CAST(:keys AS uuid[]), CAST(:retry AS double precision[])) AS v(key, retry)
    WHERE s.endpoint_id = :endpoint AND s.stream_key = v.key AND s.lease = :token
    """
)

# After the lock above: a delivery made since the lock was taken waits for it, and the
# upsert that follows it writes the stream again.
_DROP_EMPTY = text(
    """
    DELETE FROM webhook_streams s
    WHERE s.endpoint_id = :endpoint AND s.stream_key = ANY (CAST(:keys AS uuid[]))
      AND s.lease = :token
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                      WHERE p.endpoint_id = s.endpoint_id AND p.stream_key = s.stream_key
                        AND p.state = 'PENDING')
    """
)

_GO_ON = text(
    """
    UPDATE webhook_streams SET next_attempt_at = now(), leased_until = '-infinity', lease = NULL
    WHERE endpoint_id = :endpoint AND stream_key = ANY (CAST(:keys AS uuid[]))
      AND lease = :token
    """
)


async def record_batch(
    session: AsyncSession,
    endpoint_id: UUID,
    token: UUID,
    *,
    attempts: Sequence[tuple[UUID, datetime, int, int | None, str | None, str | None]],
    delivered: Sequence[tuple[UUID, datetime]],
    failed: Sequence[tuple[UUID, datetime, float | None]],
    waiting: Sequence[tuple[UUID, float]],
    finished: Sequence[UUID],
) -> None:
    """Write down one batch: every attempt; deliveries DELIVERED, or failed (retried after
    the seconds given, or FAILED for None); streams `waiting` (key, seconds) until their
    retry, streams `finished` going on at once, or deleted when nothing is pending. A
    stream whose lease was lost (taken again under another token after it ran out) is left
    to its new holder; what this batch's attempts came to is written all the same."""
    keys = sorted({key for key, _ in waiting} | set(finished))
    await session.execute(_LOCK_STREAMS, {"endpoint": endpoint_id, "keys": keys})
    if attempts:
        columns = list(zip(*attempts, strict=True))
        await session.execute(
            _RECORD_ATTEMPTS,
            {
                "ids": list(columns[0]),
                "at": list(columns[1]),
                "ms": list(columns[2]),
                "status": list(columns[3]),
                "excerpt": list(columns[4]),
                "error": list(columns[5]),
            },
        )
    if delivered:
        ids, moments = zip(*delivered, strict=True)
        await session.execute(_DELIVERED, {"ids": list(ids), "at": list(moments)})
    if failed:
        ids, moments, retries = zip(*failed, strict=True)
        await session.execute(
            _FAILED, {"ids": list(ids), "at": list(moments), "retry": list(retries)}
        )
    if waiting:
        wait_keys, seconds = zip(*waiting, strict=True)
        await session.execute(
            _WAIT,
            {
                "endpoint": endpoint_id,
                "keys": list(wait_keys),
                "retry": list(seconds),
                "token": token,
            },
        )
    if finished:
        params = {"endpoint": endpoint_id, "keys": list(finished), "token": token}
        await session.execute(_DROP_EMPTY, params)
        await session.execute(_GO_ON, params)


async def deliveries_page(
    session: AsyncSession, endpoint_id: UUID, first: int, before: int | None, state: str | None
) -> Sequence[Row[Any]]:
    """An endpoint's deliveries with their events, newest event first, before event
    position `before` (None: from the newest), up to `first + 1` rows."""
    statement: Any = (
        select(
            d.id,
            d.event_id,
            d.event_position,
            d.state,
            d.attempts,
            d.next_attempt_at,
            d.last_attempt_at,
            d.delivered_at,
            d.created_at,
            e.type.label("event_type"),
            e.occurred_at.label("event_occurred_at"),
            e.data.label("event_data"),
        )
        .join(events_table, e.id == d.event_id)
        .where(d.endpoint_id == endpoint_id)
    )
    if before is not None:
        statement = statement.where(d.event_position < before)
    if state is not None:
        statement = statement.where(d.state == state)
    statement = statement.order_by(d.event_position.desc()).limit(first + 1)
    return (await session.execute(statement)).all()


async def attempts_of(session: AsyncSession, delivery_ids: Sequence[UUID]) -> Sequence[Row[Any]]:
    """The attempts of these deliveries, oldest first."""
    statement: Any = (
        select(
            a.delivery_id,
            a.attempted_at,
            a.duration_ms,
            a.response_status,
            a.response_excerpt,
            a.error,
        )
        .where(a.delivery_id.in_(delivery_ids))
        .order_by(a.delivery_id, a.attempted_at)
    )
    return (await session.execute(statement)).all()
