"""Webhook delivery: numbered events to every endpoint that wants them, at least once, in
order per coupon, retried on Standard Webhooks' schedule.

Each endpoint's pending deliveries are grouped in streams, one per coupon (or campaign for
campaign events). A run takes an endpoint's due streams for a lease, sends each stream's
deliveries one after the other (the next only after a 2xx for the one before), and writes
down every attempt and what comes next in one transaction. A stream whose delivery failed
waits for its retry; the others go on. Endpoints are worked on side by side: a receiver
that is slow or never answers holds up only its own streams, for at most the timeout.

Safe with any number of workers: a stream is taken with SKIP LOCKED and a lease, so no two
workers send the same delivery at once; a worker that dies mid-batch leaves its streams to
be taken again when the lease runs out (the same delivery is sent again, with the same
`webhook-id`: at least once, never lost).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID, uuid4

from standardwebhooks.webhooks import Webhook

from db.engine import Database
from db.queries import webhooks
from graphql_api.domain.webhooks import WebhookPolicy
from graphql_api.services import events
from graphql_api.services.webhook_sender import WebhookSender, webhook_body

log = logging.getLogger(__name__)

# Streams one batch of one endpoint takes, and deliveries it may send per stream.
STREAMS_PER_BATCH = 100
DELIVERIES_PER_STREAM = 20
# How often a run looks for work while there is none.
IDLE_POLL_SECONDS = 0.2


@dataclass(slots=True)
class _Delivery:
    id: UUID
    attempts: int
    event_id: UUID
    body: str


@dataclass(slots=True)
class _Outcome:
    attempts: list[tuple[UUID, datetime, int, int | None, str | None, str | None]] = field(
        default_factory=list
    )
    delivered: list[tuple[UUID, datetime]] = field(default_factory=list)
    failed: list[tuple[UUID, datetime, float | None]] = field(default_factory=list)
    waiting: list[tuple[UUID, float]] = field(default_factory=list)
    finished: list[UUID] = field(default_factory=list)


async def run_deliveries(db: Database, policy: WebhookPolicy, *, idle_seconds: float = 2.0) -> int:
    """Number new events and deliver what is due, endpoint by endpoint side by side, until
    nothing has been due and nothing sent for `idle_seconds`. Answers the attempts made.
    Cancelled (a stopping worker), each batch under way writes down what it has first."""
    idle_since = time.monotonic()
    running: dict[UUID, asyncio.Task[int]] = {}
    made = 0
    async with WebhookSender(policy, connections_per_endpoint=STREAMS_PER_BATCH) as sender:
        try:
            while True:
                await events.number_events(db)
                async with db.single_statement() as session:
                    due = await webhooks.due_endpoints(session)
                for endpoint_id in due:
                    if endpoint_id not in running:
                        running[endpoint_id] = asyncio.create_task(
                            deliver_batch(db, sender, endpoint_id)
                        )
                if running:
                    idle_since = time.monotonic()
                    done, _ = await asyncio.wait(
                        running.values(),
                        timeout=IDLE_POLL_SECONDS,
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    made += _collect(running, done)
                elif time.monotonic() - idle_since >= idle_seconds:
                    return made
                else:
                    await asyncio.sleep(IDLE_POLL_SECONDS)
        finally:
            for task in running.values():
                task.cancel()
            await asyncio.gather(*running.values(), return_exceptions=True)


def _collect(running: dict[UUID, asyncio.Task[int]], done: set[asyncio.Task[int]]) -> int:
    made = 0
    for endpoint_id, task in list(running.items()):
        if task not in done:
            continue
        del running[endpoint_id]
        try:
            made += task.result()
        except Exception:  # one endpoint's failure (its batch is taken again) stops no other
            log.exception("webhook batch for endpoint %s failed", endpoint_id)
    return made


async def deliver_batch(db: Database, sender: WebhookSender, endpoint_id: UUID) -> int:
    """Take the endpoint's due streams, send, and write down what happened; the attempts
    made. A stream starts no new attempt once `timeout` has passed since the batch began."""
    policy = sender.policy
    token = uuid4()
    async with db.single_statement() as session:
        target = await webhooks.endpoint_target(session, endpoint_id)
        if target is None:
            return 0
        rows = await webhooks.take_streams(
            session,
            endpoint_id,
            streams=STREAMS_PER_BATCH,
            per_stream=DELIVERIES_PER_STREAM,
            lease=policy.lease_seconds,
            token=token,
        )
    streams: dict[UUID, list[_Delivery]] = defaultdict(list)
    for row in rows:
        streams[row.stream_key]  # a stream with nothing pending is finished at once
        if row.delivery_id is not None:
            body = webhook_body(row.type, row.occurred_at, row.data)
            streams[row.stream_key].append(
                _Delivery(row.delivery_id, row.attempts, row.event_id, body)
            )
    signer = Webhook(target.secret)
    outcome = _Outcome()
    began = time.monotonic()

    async def send_stream(key: UUID, pending: list[_Delivery]) -> None:
        for delivery in pending:
            if time.monotonic() - began >= policy.timeout:
                break
            attempt = await sender.send(
                endpoint_id, target.url, signer, str(delivery.event_id), delivery.body
            )
            outcome.attempts.append(
                (
                    delivery.id,
                    attempt.at,
                    attempt.duration_ms,
                    attempt.status,
                    attempt.excerpt,
                    attempt.error,
                )
            )
            if attempt.ok:
                outcome.delivered.append((delivery.id, attempt.at))
                continue
            retry = policy.retry_after(delivery.attempts + 1)
            seconds = None if retry is None else retry.total_seconds()
            outcome.failed.append((delivery.id, attempt.at, seconds))
            if seconds is not None:
                outcome.waiting.append((key, seconds))
                return
            log.warning(
                "webhook delivery %s to endpoint %s failed for good after %d attempts",
                delivery.id,
                endpoint_id,
                delivery.attempts + 1,
            )
        outcome.finished.append(key)

    try:
        sent = await asyncio.gather(
            *(send_stream(key, pending) for key, pending in streams.items()),
            return_exceptions=True,
        )
    except asyncio.CancelledError:
        # A stopping worker: what was answered is written down and the streams are let go
        # at once, rather than when their lease runs out; an attempt cut off in flight is
        # sent again (the receiver may have had it: at least once).
        settled = {key for key, _ in outcome.waiting} | set(outcome.finished)
        outcome.finished.extend(key for key in streams if key not in settled)
        await asyncio.shield(_record(db, endpoint_id, token, outcome))
        raise
    for failure in sent:
        if isinstance(failure, BaseException):  # a bug: its stream is taken again later
            log.error("a webhook stream of endpoint %s failed", endpoint_id, exc_info=failure)
    if outcome.failed:
        # One line a batch, not one an attempt: a receiver that is down shows at once,
        # without a line per event. Ids and the reason only: never the URL's path or query.
        first = next(a for a in outcome.attempts if a[0] == outcome.failed[0][0])
        log.warning(
            "webhook attempts failed: endpoint %s, %d of %d, e.g. %s",
            endpoint_id,
            len(outcome.failed),
            len(outcome.attempts),
            first[5] or f"HTTP {first[3]}",
        )
    await _record(db, endpoint_id, token, outcome)
    return len(outcome.attempts)


async def _record(db: Database, endpoint_id: UUID, token: UUID, outcome: _Outcome) -> None:
    async with db.transaction() as session:
        await webhooks.record_batch(
            session,
            endpoint_id,
            token,
            attempts=outcome.attempts,
            delivered=outcome.delivered,
            failed=outcome.failed,
            waiting=outcome.waiting,
            finished=outcome.finished,
        )
