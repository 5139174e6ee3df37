"""Events, webhook endpoints, their deliveries and attempts, as the schema shows them."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from graphql_api.context import Info
from graphql_api.domain.errors import CouponError
from graphql_api.domain.pagination import (
    DEFAULT_PAGE_SIZE,
    ListScope,
    Page,
    Position,
    check_page_size,
    decode_feed_cursor,
    encode_cursor,
    encode_feed_cursor,
)
from graphql_api.domain.webhooks import EVENT_TYPES
from graphql_api.schema.connections import PageInfo, page_info
from graphql_api.schema.errors import CouponErrorType, arguments_checked
from graphql_api.schema.paged_lists import EVENTS, WEBHOOK_DELIVERIES
from graphql_api.schema.payloads import ERRORS
from graphql_api.schema.types import AFTER_DESCRIPTION, FIRST_DESCRIPTION
from graphql_api.schema.unset import given
from graphql_api.services import webhook_endpoints as service
from graphql_api.services.events import Event

EVENT_TYPE_LIST = ", ".join(EVENT_TYPES)


@strawberry.type(
    name="Event",
    description="A change other systems are told about, recorded in the change's own "
    "transaction: it exists exactly when the change happened. Webhooks carry the same "
    "`type` and `data`, with `id` as the `webhook-id` header.",
)
class EventNode:
    id: strawberry.ID = strawberry.field(
        description="The event's UUID; the `webhook-id` of its every delivery and retry."
    )
    type: str = strawberry.field(description=f"What happened: one of {EVENT_TYPE_LIST}.")
    occurred_at: datetime = strawberry.field(
        description="When the change's transaction began (UTC)."
    )
    data: JSON = strawberry.field(
        description="What a consumer needs without a second call, named as this schema's "
        "fields are, money as Decimal strings: `coupon`, `campaign` (null for a coupon of "
        "no campaign), and `usage` (redemptions), `reservation` (holds), or `source`, "
        "`count`, `jobId` and `jobStatus` (codes.generated). Counters are as the change "
        "left them; reservation.released and reservation.expired name the coupon (id, "
        "code, campaignId) without its counters, which ending a hold does not change."
    )

    @classmethod
    def from_event(cls, event: Event) -> EventNode:
        return cls(
            id=strawberry.ID(str(event.id)),
            type=event.type,
            occurred_at=event.occurred_at,
            data=JSON(event.data),
        )


@strawberry.type(description="An event and its cursor.")
class EventEdge:
    cursor: str = strawberry.field(description="Opaque; pass as `after` to continue from here.")
    node: EventNode = strawberry.field(description="The event.")


@strawberry.type(
    description="A page of the feed, oldest first. A cursor stays valid: an event never "
    "appears before one already read, so a consumer that keeps its last `endCursor` misses "
    "nothing and sees nothing twice."
)
class EventConnection:
    edges: list[EventEdge] = strawberry.field(description="The events on this page.")
    page_info: PageInfo = strawberry.field(
        description="How to get the next page. At the end of the feed `hasNextPage` is false "
        "and `endCursor` is where to ask again later (on an empty page, the `after` given: "
        "null only when the feed is empty and no `after` was given)."
    )

    @classmethod
    def of(cls, page: Page[Event], after: str | None) -> EventConnection:
        """`after`: the cursor asked with, the end cursor of an empty page (a consumer that
        keeps every page's end cursor goes on from where it was)."""
        scope = EVENTS.scope()
        edges = [
            EventEdge(
                cursor=encode_feed_cursor(scope, event.position), node=EventNode.from_event(event)
            )
            for event in page.items
        ]
        return cls(edges=edges, page_info=page_info(page.has_next_page, edges, after))


@strawberry.enum(description="Where a delivery stands.")
class WebhookDeliveryStatus(Enum):
    PENDING = strawberry.enum_value("PENDING", description="Not yet answered with a 2xx.")
    DELIVERED = strawberry.enum_value("DELIVERED", description="Answered with a 2xx.")
    FAILED = strawberry.enum_value(
        "FAILED", description="Every retry failed; the stream went on without it."
    )


@strawberry.type(name="WebhookAttempt", description="One try at a delivery.")
class WebhookAttemptNode:
    attempted_at: datetime = strawberry.field(description="When it was sent (UTC).")
    duration_ms: int = strawberry.field(description="Milliseconds until the answer or failure.")
    response_status: int | None = strawberry.field(
        description="The receiver's HTTP status; null when no answer came."
    )
    response_excerpt: str | None = strawberry.field(
        description="The start of the answer's body, at most 200 characters; never all of it."
    )
    error: str | None = strawberry.field(
        description="Why no answer came (a timeout, a refused connection or address)."
    )


@strawberry.type(name="WebhookDelivery", description="One event sent to one endpoint.")
class WebhookDeliveryNode:
    id: strawberry.ID = strawberry.field(description="The delivery's UUID.")
    event: EventNode = strawberry.field(description="What is delivered.")
    status: WebhookDeliveryStatus = strawberry.field(description="Where it stands.")
    attempt_count: int = strawberry.field(description="Attempts made so far.")
    next_attempt_at: datetime | None = strawberry.field(
        description="PENDING: when it is due (it also waits for its coupon's earlier events); "
        "null otherwise."
    )
    last_attempt_at: datetime | None = strawberry.field(description="The latest attempt (UTC).")
    delivered_at: datetime | None = strawberry.field(description="When a 2xx came (UTC).")
    attempts: list[WebhookAttemptNode] = strawberry.field(
        description="Every attempt, oldest first."
    )


@strawberry.type(description="A delivery and its cursor.")
class WebhookDeliveryEdge:
    cursor: str = strawberry.field(description="Opaque; pass as `after` to continue from here.")
    node: WebhookDeliveryNode = strawberry.field(description="The delivery.")


@strawberry.type(description="A page of an endpoint's deliveries, newest event first.")
class WebhookDeliveryConnection:
    edges: list[WebhookDeliveryEdge] = strawberry.field(description="The deliveries.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")


@strawberry.type(
    name="WebhookEndpoint",
    description="A receiver of signed webhooks (Standard Webhooks: `webhook-id`, "
    "`webhook-timestamp`, `webhook-signature`).",
)
class WebhookEndpointNode:
    id: strawberry.ID = strawberry.field(description="The endpoint's UUID.")
    url: str = strawberry.field(description="Where deliveries are POSTed.")
    events: list[str] = strawberry.field(description="The event types it receives.")
    enabled: bool = strawberry.field(
        description="Whether events are delivered to it (false only in the answer to "
        "deleteWebhookEndpoint)."
    )
    created_at: datetime = strawberry.field(description="When it was created (UTC).")

    @classmethod
    def from_endpoint(cls, endpoint: service.WebhookEndpoint) -> WebhookEndpointNode:
        return cls(
            id=strawberry.ID(str(endpoint.id)),
            url=endpoint.url,
            events=endpoint.events,
            enabled=endpoint.enabled,
            created_at=endpoint.created_at,
        )

    @strawberry.field(
        description="What was sent to it and how it went, newest event first. Admin only."
    )
    async def deliveries(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=FIRST_DESCRIPTION)] = (
            DEFAULT_PAGE_SIZE
        ),
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = (
            strawberry.UNSET
        ),
        status: Annotated[
            WebhookDeliveryStatus | None,
            strawberry.argument(description="Only deliveries in this status; absent: all."),
        ] = strawberry.UNSET,
    ) -> WebhookDeliveryConnection:
        scope = WEBHOOK_DELIVERIES.scope(self.id)
        with arguments_checked():
            size = check_page_size(first)
            cursor = given(after)
            before = None if cursor is None else decode_feed_cursor(scope, cursor)
        state = given(status)
        db = info.context.db
        found = await service.deliveries_page(
            db, UUID(self.id), size, before, None if state is None else state.name
        )
        attempts = await service.attempts_of(db, [item.id for item in found.items])
        edges = [
            WebhookDeliveryEdge(
                cursor=encode_feed_cursor(scope, item.event.position),
                node=WebhookDeliveryNode(
                    id=strawberry.ID(str(item.id)),
                    event=EventNode.from_event(item.event),
                    status=WebhookDeliveryStatus(item.state),
                    attempt_count=item.attempts,
                    next_attempt_at=item.next_attempt_at,
                    last_attempt_at=item.last_attempt_at,
                    delivered_at=item.delivered_at,
                    attempts=[
                        WebhookAttemptNode(
                            attempted_at=attempt.attempted_at,
                            duration_ms=attempt.duration_ms,
                            response_status=attempt.response_status,
                            response_excerpt=attempt.response_excerpt,
                            error=attempt.error,
                        )
                        for attempt in attempts[item.id]
                    ],
                ),
            )
            for item in found.items
        ]
        return WebhookDeliveryConnection(
            edges=edges, page_info=page_info(found.has_next_page, edges)
        )


@strawberry.type(description="A page of webhook endpoints, newest first.")
class WebhookEndpointConnection:
    edges: list[WebhookEndpointEdge] = strawberry.field(description="The endpoints.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")

    @classmethod
    def of(cls, scope: ListScope, page: Page[service.WebhookEndpoint]) -> WebhookEndpointConnection:
        edges = [
            WebhookEndpointEdge(
                cursor=encode_cursor(scope, Position(endpoint.created_at, endpoint.id)),
                node=WebhookEndpointNode.from_endpoint(endpoint),
            )
            for endpoint in page.items
        ]
        return cls(edges=edges, page_info=page_info(page.has_next_page, edges))


@strawberry.type(description="A webhook endpoint and its cursor.")
class WebhookEndpointEdge:
    cursor: str = strawberry.field(description="Opaque; pass as `after` to continue from here.")
    node: WebhookEndpointNode = strawberry.field(description="The endpoint.")


@strawberry.input(description="A receiver of webhooks.")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(
        description="An absolute http(s) URL, at most 2048 characters, without credentials. "
        "Its host must be, and resolve to, public addresses only, unless the service runs "
        "with COUPONS_WEBHOOK_ALLOW_PRIVATE=true."
    )
    events: list[str] = strawberry.field(
        description=f"The event types to receive, at least one of: {EVENT_TYPE_LIST}."
    )


@strawberry.type(description="A webhook endpoint, or why not.")
class WebhookEndpointPayload:
    webhook_endpoint: WebhookEndpointNode | None = strawberry.field(
        description="Null when `errors` is not empty."
    )
    secret: str | None = strawberry.field(
        description="The signing secret (`whsec_` and base64), only in the answer to "
        "createWebhookEndpoint: it cannot be read again. Verify deliveries with it."
    )
    errors: list[CouponErrorType] = strawberry.field(description=ERRORS)

    @classmethod
    def of(
        cls, endpoint: service.WebhookEndpoint, secret: str | None = None
    ) -> WebhookEndpointPayload:
        return cls(
            webhook_endpoint=WebhookEndpointNode.from_endpoint(endpoint), secret=secret, errors=[]
        )

    @classmethod
    def failed(cls, error: CouponError) -> WebhookEndpointPayload:
        return cls(webhook_endpoint=None, secret=None, errors=[CouponErrorType.from_error(error)])
