"""The event feed and webhook endpoints, on a service that keeps webhooks to public
addresses (the default): refusals, the secret shown once, paging the feed, who may see it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from standardwebhooks.webhooks import Webhook

from db.engine import Database as ServiceDatabase
from db.engine import create_engine
from graphql_api.domain.pagination import encode_feed_cursor
from graphql_api.domain.webhooks import WebhookPolicy
from graphql_api.schema.paged_lists import EVENTS
from graphql_api.services import events
from graphql_api.services.webhook_sender import WebhookSender
from tests.support.callers import KEYS
from tests.support.database import Database
from tests.support.factories import (
    FEED,
    create_endpoint,
    create_timed_coupon,
    redeem,
    rollback,
)
from tests.support.graphql import GraphQLClient
from tests.support.receivers import http_receiver

DELETE_ENDPOINT = """
mutation Delete($id: ID!) {
  deleteWebhookEndpoint(id: $id) {
    webhookEndpoint { id url enabled }
    secret
    errors { code field message }
  }
}
"""

ENDPOINTS = """
query Endpoints($first: Int, $after: String) {
  webhookEndpoints(first: $first, after: $after) {
    edges { cursor node { id url events enabled } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://127.0.0.1:9/hooks", "loopback"),
        ("http://[::1]/hooks", "loopback"),
        ("http://10.0.0.5/hooks", "private"),
        ("http://192.168.0.10/hooks", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://100.100.100.200/", "metadata"),
        ("http://[::ffff:127.0.0.1]/hooks", "loopback"),
        ("http://localhost:8080/hooks", "resolves to"),
        ("http://no-such-host.invalid/hooks", "does not resolve"),
    ],
)
def test_endpoints_on_addresses_that_are_not_public_are_refused(
    gql: GraphQLClient, clean_db: Database, url: str, said: str
) -> None:
    # when
    payload = create_endpoint(gql, url, ["redemption.succeeded"])

    # then
    assert payload["webhookEndpoint"] is None
    assert payload["secret"] is None
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", "url")
    assert said in error["message"]
    assert clean_db.value("SELECT count(*) FROM webhook_endpoints") == 0


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"url": "ftp://93.184.216.34/x", "events": ["coupon.created"]}, "url"),
        ({"url": "https://u:p@93.184.216.34/x", "events": ["coupon.created"]}, "url"),
        ({"url": "https://93.184.216.34/x", "events": []}, "events"),
        ({"url": "https://93.184.216.34/x", "events": ["coupon.deleted"]}, "events"),
    ],
)
def test_malformed_endpoints_are_refused(
    gql: GraphQLClient, clean_db: Database, variables: dict[str, Any], field: str
) -> None:
    payload = create_endpoint(gql, variables["url"], variables["events"])
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", field)]
    assert clean_db.value("SELECT count(*) FROM webhook_endpoints") == 0


def test_the_secret_is_shown_once_and_endpoints_are_listed_and_deleted(
    gql: GraphQLClient, clean_db: Database
) -> None:
    # given
    made = create_endpoint(gql, "https://93.184.216.34/hooks", ["coupon.created"])
    assert made["errors"] == []
    endpoint = made["webhookEndpoint"]
    secret = made["secret"]

    # then: a Standard Webhooks secret, which the library takes
    assert secret.startswith("whsec_")
    Webhook(secret)
    assert endpoint["enabled"] is True
    assert endpoint["events"] == ["coupon.created"]

    # the list shows it, and no field anywhere answers the secret again
    listed = gql(ENDPOINTS, {"first": 10})["webhookEndpoints"]["edges"]
    assert [edge["node"]["id"] for edge in listed] == [endpoint["id"]]
    errors = gql.errors("{ webhookEndpoints { edges { node { secret } } } }")
    assert errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

    # when deleted: answered disabled, gone from the list, then NOT_FOUND
    gone = gql(DELETE_ENDPOINT, {"id": endpoint["id"]})["deleteWebhookEndpoint"]
    assert gone["webhookEndpoint"] == {
        "id": endpoint["id"],
        "url": endpoint["url"],
        "enabled": False,
    }
    assert gone["secret"] is None
    assert gql(ENDPOINTS, {"first": 10})["webhookEndpoints"]["edges"] == []
    again = gql(DELETE_ENDPOINT, {"id": endpoint["id"]})["deleteWebhookEndpoint"]
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("NOT_FOUND", "id")]
    malformed = gql(DELETE_ENDPOINT, {"id": "not-a-uuid"})["deleteWebhookEndpoint"]
    assert [(e["code"], e["field"]) for e in malformed["errors"]] == [("INVALID_INPUT", "id")]


def test_endpoints_page_newest_first(gql: GraphQLClient, clean_db: Database) -> None:
    ids = [
        create_endpoint(gql, f"https://93.184.216.34/{n}", ["coupon.created"])["webhookEndpoint"][
            "id"
        ]
        for n in range(3)
    ]
    first = gql(ENDPOINTS, {"first": 2})["webhookEndpoints"]
    rest = gql(ENDPOINTS, {"first": 2, "after": first["pageInfo"]["endCursor"]})["webhookEndpoints"]
    seen = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert seen == list(reversed(ids))
    assert (first["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasNextPage"]) == (True, False)


def test_the_feed_pages_oldest_first_and_a_cursor_holds_across_filters(
    gql: GraphQLClient, clean_db: Database
) -> None:
    # given: coupon.created, redemption.succeeded, redemption.rolled_back, twice over
    codes = []
    for number in range(2):
        coupon = create_timed_coupon(gql, maxUsesPerUser=5)
        codes.append(coupon["code"])
        redeem(gql, code=coupon["code"], userId="u", orderId=f"o{number}", orderValue="20.00")
        rollback(gql, f"o{number}", "cancelled")

    # when: paged two at a time
    nodes = []
    after = None
    while True:
        page = gql(FEED, {"first": 2, "after": after})["events"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    # then
    assert [n["type"] for n in nodes] == [
        "coupon.created",
        "redemption.succeeded",
        "redemption.rolled_back",
    ] * 2
    assert [n["data"]["coupon"]["code"] for n in nodes] == [codes[0]] * 3 + [codes[1]] * 3
    rolled_back = nodes[2]["data"]
    assert rolled_back["usage"]["status"] == "ROLLED_BACK"
    assert rolled_back["usage"]["rollbackReason"] == "cancelled"
    assert rolled_back["coupon"]["currentTotalUses"] == 0

    # the end of the feed: asked again with the last cursor, nothing new until a change
    assert gql(FEED, {"after": after})["events"]["edges"][-1]["node"]["id"] == nodes[-1]["id"]
    last = gql(FEED, {"first": 100})["events"]["edges"][-1]["cursor"]
    # an empty page's end cursor is the one asked with: keeping it loses no place
    assert gql(FEED, {"after": last})["events"] == {
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": last},
    }
    create_timed_coupon(gql)
    assert [e["node"]["type"] for e in gql(FEED, {"after": last})["events"]["edges"]] == [
        "coupon.created"
    ]

    # a filter, and a cursor from one filter used with another
    only = gql(FEED, {"types": ["redemption.rolled_back"], "first": 1})["events"]
    assert [e["node"]["id"] for e in only["edges"]] == [nodes[2]["id"]]
    after_it = gql(FEED, {"types": ["coupon.created"], "after": only["pageInfo"]["endCursor"]})
    assert next(e["node"]["id"] for e in after_it["events"]["edges"]) == nodes[3]["id"]


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"after": "bm90LWEtY3Vyc29y"}, "after"),
        ({"after": "not a cursor"}, "after"),
        ({"types": ["coupon.created", "nope"]}, "types"),
        ({"types": []}, "types"),
    ],
)
def test_bad_feed_arguments_are_refused(
    gql: GraphQLClient, clean_db: Database, variables: dict[str, Any], field: str
) -> None:
    [error] = gql.errors(FEED, variables)
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["extensions"]["field"] == field


def test_a_cursor_of_another_list_is_refused_by_the_feed(
    gql: GraphQLClient, clean_db: Database
) -> None:
    create_endpoint(gql, "https://93.184.216.34/a", ["coupon.created"])
    cursor = gql(ENDPOINTS, {"first": 1})["webhookEndpoints"]["edges"][0]["cursor"]
    [error] = gql.errors(FEED, {"after": cursor})
    assert error["extensions"]["code"] == "INVALID_INPUT"


@pytest.fixture
def storefront(keyed_servers: dict[str, Any], clean_db: Database) -> Iterator[GraphQLClient]:
    client = GraphQLClient(keyed_servers["executed"].base_url)
    client.http.headers["Authorization"] = f"Bearer {KEYS['storefront']}"
    yield client
    client.close()


@pytest.mark.parametrize(
    ("document", "root"),
    [
        ("{ events { edges { node { id } } } }", "events"),
        ("{ webhookEndpoints { edges { node { id } } } }", "webhookEndpoints"),
        (
            'mutation { createWebhookEndpoint(input: {url: "https://93.184.216.34/", '
            'events: ["coupon.created"]}) { secret } }',
            "createWebhookEndpoint",
        ),
        (
            'mutation { deleteWebhookEndpoint(id: "00000000-0000-0000-0000-000000000000") '
            "{ errors { code } } }",
            "deleteWebhookEndpoint",
        ),
    ],
)
def test_events_and_endpoints_are_for_admins_only(
    storefront: GraphQLClient, clean_db: Database, document: str, root: str
) -> None:
    body = storefront.post(document).json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert body["errors"][0]["path"] == [root]
    assert clean_db.value("SELECT count(*) FROM webhook_endpoints") == 0


def test_a_delivery_to_a_refused_address_is_not_made() -> None:
    """The check holds when the delivery is made, whatever the endpoint's row says (a host
    that came to resolve to a loopback address, an endpoint stored before the setting
    changed): by address, and by a name resolving to one."""

    async def attempt(url: str) -> str | None:
        async with WebhookSender(WebhookPolicy(allow_private=False, timeout=2)) as sender:
            made = await sender.send(uuid4(), url, Webhook("whsec_" + "A" * 32), "evt", "{}")
        assert made.status is None
        return made.error

    with http_receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        by_address = asyncio.run(attempt(receiver.url))
        by_name = asyncio.run(attempt(f"http://localhost:{port}/hooks"))
        assert receiver.received == []
    assert by_address is not None
    assert by_address.startswith("refused: 127.0.0.1 is a loopback")
    assert by_name is not None
    assert "refused" in by_name
    assert "localhost" in by_name

    # ... and with the setting on, the same receiver is reached
    async def allowed() -> int | None:
        async with WebhookSender(WebhookPolicy(allow_private=True, timeout=2)) as sender:
            made = await sender.send(
                uuid4(), receiver.url, Webhook("whsec_" + "A" * 32), "evt", "{}"
            )
        return made.status

    with http_receiver() as receiver:
        assert asyncio.run(allowed()) == 204
        assert len(receiver.received) == 1


def test_old_events_are_forgotten_but_not_the_newest_nor_one_a_delivery_waits_on(
    gql: GraphQLClient, clean_db: Database, database_url: str
) -> None:
    # given: three events, forty days old; a delivery still waits on the second
    for _ in range(3):
        create_timed_coupon(gql)
    ids = [node["node"]["id"] for node in gql(FEED)["events"]["edges"]]
    endpoint = create_endpoint(gql, "https://93.184.216.34/x", ["campaign.created"])
    clean_db.execute(
        "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_position, stream_key)"
        " SELECT $1::uuid, id, position, coupon_id FROM events WHERE id = $2::uuid",
        endpoint["webhookEndpoint"]["id"],
        ids[1],
    )
    clean_db.execute("UPDATE events SET occurred_at = occurred_at - interval '40 days'")
    last_position = clean_db.value("SELECT max(position) FROM events")

    # when
    async def forget() -> int:
        engine = create_engine(database_url)
        try:
            return await events.forget_old_events(ServiceDatabase(engine), 30)
        finally:
            await engine.dispose()

    forgotten = asyncio.run(forget())

    # then
    assert forgotten == 1
    assert [e["node"]["id"] for e in gql(FEED)["events"]["edges"]] == ids[1:]
    create_timed_coupon(gql)
    assert gql(FEED, {"first": 100})["events"]["edges"][-1]["node"]["type"] == "coupon.created"
    assert clean_db.value("SELECT max(position) FROM events") == last_position + 1


def test_a_cursor_past_the_end_of_the_feed_is_refused(
    gql: GraphQLClient, clean_db: Database
) -> None:
    """A cursor this list could have issued, but on another database (restored, say):
    following it would skip every event up to its position."""
    create_timed_coupon(gql)
    last = gql(FEED)["events"]["edges"][-1]["cursor"]
    assert gql(FEED, {"after": last})["events"]["edges"] == []
    beyond = encode_feed_cursor(EVENTS.scope(), 10**9)
    [error] = gql.errors(FEED, {"after": beyond})
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["extensions"]["field"] == "after"
    assert "past the end" in error["message"]
