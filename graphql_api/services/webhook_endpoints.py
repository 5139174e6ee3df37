"""Webhook endpoints: registering receivers, removing them, and what was sent to them."""

from __future__ import annotations

import asyncio
import base64
import secrets
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from db.engine import Database
from db.queries import webhooks
from graphql_api.domain.addresses import parse_ip_address
from graphql_api.domain.errors import CouponError, ErrorCode, invalid
from graphql_api.domain.pagination import Page, PageRequest
from graphql_api.domain.webhooks import (
    WebhookPolicy,
    address_error,
    check_event_types,
    check_webhook_url,
    literal_address,
    refused_address,
)
from graphql_api.services.events import Event
from graphql_api.services.paging import keyset, page_of

# Standard Webhooks: a secret of 24 to 64 random bytes, base64, after "whsec_".
SECRET_BYTES = 32
# A host name that takes longer than this to resolve is refused.
RESOLVE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    id: UUID
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once, in the answer to create


@dataclass(frozen=True, slots=True)
class Delivery:
    id: UUID
    event: Event
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    attempted_at: datetime
    duration_ms: int
    response_status: int | None
    response_excerpt: str | None
    error: str | None


def _endpoint(row: Mapping[Any, Any]) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row["id"],
        url=row["url"],
        events=list(row["events"]),
        enabled=row["enabled"],
        created_at=row["created_at"],
    )


async def create_endpoint(
    db: Database,
    policy: WebhookPolicy,
    url: str,
    event_types: Sequence[str],
) -> NewEndpoint:
    """Register a receiver of `event_types` at `url` and answer it with its new signing
    secret. INVALID_INPUT on `url` for a malformed URL, or one whose host is or resolves
    to a refused address (unless `policy.allow_private`); on `events` for unknown types."""
    parts = check_webhook_url(url)
    types = check_event_types(event_types)
    if not policy.allow_private:
        await _check_host(parts.hostname or "", parts.port)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()
    values = {"url": url, "events": types, "secret": secret}
    async with db.single_statement() as session:
        row = await webhooks.insert_endpoint(session, values)
    return NewEndpoint(endpoint=_endpoint(row._mapping), secret=secret)


async def _check_host(host: str, port: int | None) -> None:
    literal = literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            found = await asyncio.wait_for(
                loop.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM), RESOLVE_SECONDS
            )
        except (OSError, TimeoutError, UnicodeError):
            raise invalid("url", f"{host[:100]} does not resolve to an address") from None
        addresses = [parse_ip_address(str(info[4][0])) for info in found]
    for address in addresses:
        reason = refused_address(address)
        if reason is not None:
            raise address_error(host[:100], address, reason)


async def delete_endpoint(db: Database, endpoint_id: UUID) -> WebhookEndpoint:
    """Delete the endpoint with its deliveries and their attempts: nothing more is sent to
    it. Answers it as it was, disabled. NOT_FOUND on `id` when there is none."""
    async with db.single_statement() as session:
        row = await webhooks.delete_endpoint(session, endpoint_id)
    if row is None:
        raise CouponError(ErrorCode.NOT_FOUND, f"No webhook endpoint with id {endpoint_id}", "id")
    gone = _endpoint(row._mapping)
    return WebhookEndpoint(gone.id, gone.url, gone.events, False, gone.created_at)


async def endpoints_page(db: Database, page: PageRequest) -> Page[WebhookEndpoint]:
    async with db.single_statement() as session:
        rows = await webhooks.endpoints_page(session, page.first, keyset(page))
    return page_of(rows, page.first, _endpoint)


async def deliveries_page(
    db: Database, endpoint_id: UUID, first: int, before: int | None, state: str | None
) -> Page[Delivery]:
    """The endpoint's deliveries, newest event first, before event position `before`."""
    async with db.single_statement() as session:
        rows = await webhooks.deliveries_page(session, endpoint_id, first, before, state)
    items = [
        Delivery(
            id=row.id,
            event=Event(
                id=row.event_id,
                position=row.event_position,
                type=row.event_type,
                occurred_at=row.event_occurred_at,
                data=row.event_data,
            ),
            state=row.state,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at if row.state == "PENDING" else None,
            last_attempt_at=row.last_attempt_at,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
        )
        for row in rows[:first]
    ]
    return Page(items=items, has_next_page=len(rows) > first)


async def attempts_of(
    db: Database, delivery_ids: Sequence[UUID]
) -> dict[UUID, list[DeliveryAttempt]]:
    """Every attempt of each delivery, oldest first."""
    async with db.single_statement() as session:
        rows = await webhooks.attempts_of(session, delivery_ids)
    found: dict[UUID, list[DeliveryAttempt]] = {key: [] for key in delivery_ids}
    for row in rows:
        found[row.delivery_id].append(
            DeliveryAttempt(
                attempted_at=row.attempted_at,
                duration_ms=row.duration_ms,
                response_status=row.response_status,
                response_excerpt=row.response_excerpt,
                error=row.error,
            )
        )
    return found
