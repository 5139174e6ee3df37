"""Webhooks against real receivers on loopback: signed as Standard Webhooks says (checked
with its own library), retried with the same id, in order per coupon, never held up by a
receiver that does not answer, and delivered after a restart.

A database of their own, with a server and a `coupons worker` allowed to reach loopback
and retrying within seconds, so the session's worker (which refuses loopback) never sees
these endpoints.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from db.migrate import upgrade_to_head
from tests.support.database import Database, throwaway_database
from tests.support.factories import (
    all_events,
    create_campaign,
    create_endpoint,
    create_timed_coupon,
    generate_codes,
    redeem,
    release,
    reserve,
    rollback,
)
from tests.support.graphql import GraphQLClient
from tests.support.receivers import Received, http_receiver, silent_receiver
from tests.support.servers import thread_server
from tests.support.workers import COUPONS_WORKER, WorkerProcess, wait_for, worker_processes

DELIVERIES = """
query Deliveries($first: Int, $status: WebhookDeliveryStatus) {
  webhookEndpoints(first: 10) {
    edges { node { id url deliveries(first: $first, status: $status) {
      edges { node {
        id status attemptCount nextAttemptAt lastAttemptAt deliveredAt
        event { id type occurredAt data }
        attempts { attemptedAt durationMs responseStatus responseExcerpt error }
      } }
      pageInfo { hasNextPage endCursor }
    } } }
  }
}
"""

ALL_TYPES = [
    "coupon.created",
    "campaign.created",
    "codes.generated",
    "reservation.created",
    "reservation.released",
    "reservation.expired",
    "redemption.succeeded",
    "redemption.rolled_back",
    "coupon.exhausted",
    "campaign.exhausted",
]
# One attempt may take this long; a failed one is tried again after 0.3, 0.6, 1 s.
TIMEOUT_SECONDS = 3
WORKER_SETTINGS = {
    "COUPONS_WEBHOOK_ALLOW_PRIVATE": "true",
    "COUPONS_WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
    "COUPONS_WEBHOOK_RETRY_SECONDS": "0.3,0.6,1",
    "COUPONS_RESERVATION_SWEEP_SECONDS": "1",
}


@pytest.fixture(scope="module")
def hooks_url() -> Iterator[str]:
    with throwaway_database() as url:
        upgrade_to_head(url)
        yield url


@pytest.fixture(scope="module")
def hooks_db(hooks_url: str) -> Database:
    return Database(hooks_url)


@pytest.fixture
def clean(hooks_db: Database) -> Database:
    hooks_db.truncate()  # before the test's worker starts
    return hooks_db


@pytest.fixture
def worker(hooks_url: str, clean: Database) -> Iterator[list[WorkerProcess]]:
    """A worker per test: one test stops it."""
    with worker_processes(hooks_url, 1, *COUPONS_WORKER, env=WORKER_SETTINGS) as workers:
        yield workers


@pytest.fixture(scope="module")
def hooks_server(hooks_url: str) -> Iterator[str]:
    with thread_server(hooks_url, webhook_allow_private=True) as running:
        yield running.base_url


@pytest.fixture
def hooks(
    hooks_server: str, hooks_db: Database, worker: list[WorkerProcess]
) -> Iterator[GraphQLClient]:
    client = GraphQLClient(hooks_server)
    yield client
    client.close()


def register(gql: GraphQLClient, url: str, events: list[str] | None = None) -> tuple[str, str]:
    payload = create_endpoint(gql, url, events or ALL_TYPES)
    assert payload["errors"] == [], payload["errors"]
    return payload["webhookEndpoint"]["id"], payload["secret"]


def verified(secret: str, received: Received) -> dict[str, Any]:
    """The payload, once the Standard Webhooks library has checked its signature."""
    payload: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return payload


def test_every_event_type_arrives_signed(hooks: GraphQLClient, hooks_db: Database) -> None:
    with http_receiver() as receiver:
        # given
        _, secret = register(hooks, receiver.url)

        # when: every change the contract lists
        coupon = create_timed_coupon(hooks, maxTotalUses=1)
        reserve(hooks, code=coupon["code"], userId="u1", orderId="held", orderValue="50.00")
        release(hooks, "held")
        reserve(hooks, code=coupon["code"], userId="u1", orderId="lapsed", orderValue="50.00")
        hooks_db.execute(
            "UPDATE coupon_reservations SET expires_at = created_at + interval '1 ms'"
            " WHERE order_id = 'lapsed'"
        )
        receiver.wait_for(4)  # the first four events; the sweep expires the hold meanwhile
        redeem(hooks, code=coupon["code"], userId="u1", orderId="o1", orderValue="50.00")
        rollback(hooks, "o1")
        campaign = create_campaign(hooks, maxTotalUses=1)
        generate_codes(hooks, campaign["id"], 2)
        code = hooks_db.value("SELECT code FROM coupons WHERE campaign_id = $1", campaign["id"])
        redeem(hooks, code=code, userId="u2", orderId="o2", orderValue="50.00")

        # then: each type arrives, verified by the library, as the feed has it
        received = receiver.wait_for(13)
    by_id = {node["id"]: node for node in all_events(hooks)}
    types = []
    for request in received:
        payload = verified(secret, request)
        event = by_id[request.webhook_id]
        assert payload == {
            "type": event["type"],
            "timestamp": payload["timestamp"],
            "data": event["data"],
        }
        types.append(payload["type"])
    assert sorted(set(types)) == sorted(ALL_TYPES), types
    assert len(types) == len(by_id) == 13
    assert types.count("coupon.exhausted") == 2  # the timed coupon, then the campaign's code

    # ... and a tampered body, or another secret, is refused by the same library
    request = received[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(request.body + b" ", request.headers)
    _, other_secret = register(hooks, receiver.url)
    with pytest.raises(WebhookVerificationError):
        Webhook(other_secret).verify(request.body, request.headers)


def test_redemption_event_carries_usage_coupon_and_campaign(hooks: GraphQLClient) -> None:
    # given
    campaign = create_campaign(hooks, maxTotalUses=10)
    generate_codes(hooks, campaign["id"], 1)
    code = all_events(hooks, ["codes.generated"])
    assert [e["data"]["count"] for e in code] == [1]

    # when
    coupon_code = hooks(
        "query C($id: ID!) { campaign(id: $id) { codes(first: 1) { edges { node { code } } } } }",
        {"id": campaign["id"]},
    )["campaign"]["codes"]["edges"][0]["node"]["code"]
    usage = redeem(
        hooks,
        code=coupon_code,
        userId="u9",
        orderId="o9",
        orderValue="80.00",
        ipAddress="203.0.113.9",
    )["usage"]

    # then
    [event] = all_events(hooks, ["redemption.succeeded"])
    data = event["data"]
    assert data["usage"]["id"] == usage["id"]
    assert data["usage"]["orderId"] == "o9"
    assert data["usage"]["discountApplied"] == usage["discountApplied"]
    assert data["usage"]["ipAddress"] == "203.0.113.9"
    assert data["coupon"]["code"] == coupon_code
    assert data["coupon"]["currentTotalUses"] == 1
    assert data["campaign"]["id"] == campaign["id"]
    assert data["campaign"]["totalUses"] == 1


def test_a_receiver_failing_three_times_gets_the_same_id_until_it_acknowledges(
    hooks: GraphQLClient,
) -> None:
    with http_receiver(lambda index: 500 if index < 3 else 200, body=b"x" * 10_000) as receiver:
        # given
        _, secret = register(hooks, receiver.url, ["coupon.created"])

        # when
        create_timed_coupon(hooks)

        # then
        receiver.wait_for(1)
        time.sleep(1.5)  # time for a wrong extra retry to come
    assert [r.answered for r in receiver.received] == [500, 500, 500, 200]
    assert len({r.webhook_id for r in receiver.received}) == 1
    assert len({verified(secret, r)["type"] for r in receiver.received}) == 1
    [endpoint] = hooks(DELIVERIES, {"first": 5})["webhookEndpoints"]["edges"]
    [delivery] = endpoint["node"]["deliveries"]["edges"]
    node = delivery["node"]
    assert node["status"] == "DELIVERED"
    assert node["attemptCount"] == 4
    assert node["event"]["id"] == receiver.received[0].webhook_id
    assert [a["responseStatus"] for a in node["attempts"]] == [500, 500, 500, 200]
    # a short excerpt of the body, never all of it
    assert all(len(a["responseExcerpt"]) == 200 for a in node["attempts"])


def test_a_silent_receiver_holds_up_neither_redemptions_nor_other_endpoints(
    hooks: GraphQLClient, hooks_db: Database
) -> None:
    with silent_receiver() as (silent_url, connections), http_receiver() as receiver:
        # given
        register(hooks, silent_url, ["redemption.succeeded"])
        register(hooks, receiver.url, ["redemption.succeeded"])
        coupons = [create_timed_coupon(hooks, maxUsesPerUser=5) for _ in range(5)]

        # when
        for number in range(20):
            result = redeem(
                hooks,
                code=coupons[number % 5]["code"],
                userId=f"u{number}",
                orderId=f"o{number}",
                orderValue="30.00",
            )
            assert result["errors"] == []

        # then: the other endpoint gets each event sooner than one attempt on the silent
        # one can take: it never waits for it
        receiver.wait_for(20, timeout=TIMEOUT_SECONDS * 10)
        wait_for(
            hooks_db,
            "SELECT count(*) FROM webhook_deliveries WHERE state = 'DELIVERED'",
            20,
        )
        latencies = hooks_db.fetch(
            "SELECT extract(epoch FROM d.delivered_at - e.occurred_at) AS seconds"
            " FROM webhook_deliveries d JOIN events e ON e.id = d.event_id"
            " JOIN webhook_endpoints w ON w.id = d.endpoint_id WHERE w.url = $1",
            receiver.url,
        )
        assert len(latencies) == 20
        assert max(row["seconds"] for row in latencies) < TIMEOUT_SECONDS
        assert connections, "the silent receiver was never called"
        # and the silent one's attempts end as timeouts, written down, to be retried
        deadline = time.monotonic() + TIMEOUT_SECONDS * 10
        while not hooks_db.value(
            "SELECT count(*) FROM webhook_attempts WHERE error = $1",
            f"no answer within {TIMEOUT_SECONDS} s",
        ):
            assert time.monotonic() < deadline, "no timeout was written down"
            time.sleep(0.1)


def test_events_of_one_coupon_arrive_in_order(hooks: GraphQLClient) -> None:
    with http_receiver() as receiver:
        # given
        _, secret = register(
            hooks, receiver.url, ["redemption.succeeded", "redemption.rolled_back"]
        )
        coupon = create_timed_coupon(hooks, maxUsesPerUser=100)

        # when: redemptions and rollbacks one after the other
        for number in range(10):
            redeem(hooks, code=coupon["code"], userId="u", orderId=f"o{number}", orderValue="9.00")
            if number % 3 == 0:
                rollback(hooks, f"o{number}")

        # then
        received = receiver.wait_for(14)
    counts = [verified(secret, r)["data"]["coupon"]["currentTotalUses"] for r in received]
    kinds = [r.payload["type"] for r in received]
    expected_counts = []
    uses = 0
    expected_kinds = []
    for number in range(10):
        uses += 1
        expected_counts.append(uses)
        expected_kinds.append("redemption.succeeded")
        if number % 3 == 0:
            uses -= 1
            expected_counts.append(uses)
            expected_kinds.append("redemption.rolled_back")
    assert kinds == expected_kinds
    assert counts == expected_counts


@pytest.mark.race
def test_a_thousand_racing_redemptions_make_a_thousand_events_in_order_per_coupon(
    hooks: GraphQLClient, hooks_server: str
) -> None:
    with http_receiver() as receiver:
        # given
        _, secret = register(hooks, receiver.url, ["redemption.succeeded"])
        coupons = [create_timed_coupon(hooks, maxUsesPerUser=1000) for _ in range(10)]

        # when: 1,000 redemptions from 40 clients at once
        def one(number: int) -> None:
            client = GraphQLClient(hooks_server)
            try:
                result = redeem(
                    client,
                    code=coupons[number % 10]["code"],
                    userId=f"user-{number % 7}",
                    orderId=f"race-{number}",
                    orderValue="10.00",
                )
                assert result["errors"] == []
            finally:
                client.close()

        with ThreadPoolExecutor(max_workers=40) as pool:
            list(pool.map(one, range(1000)))

        # then: exactly 1,000 events in the feed, each coupon's counted up one by one
        events = all_events(hooks, ["redemption.succeeded"])
        assert len(events) == 1000
        assert len({e["data"]["usage"]["orderId"] for e in events}) == 1000
        seen: dict[str, list[int]] = defaultdict(list)
        for event in events:
            seen[event["data"]["coupon"]["code"]].append(
                event["data"]["coupon"]["currentTotalUses"]
            )
        assert {code: uses for code, uses in seen.items()} == {
            c["code"]: list(range(1, 101)) for c in coupons
        }

        # ... and as webhooks: each once acknowledged, in the same order per coupon
        received = receiver.wait_for(1000, timeout=120)
    delivered: dict[str, list[int]] = defaultdict(list)
    ids = set()
    for request in received:
        data = verified(secret, request)["data"]
        if request.webhook_id in ids:
            continue
        ids.add(request.webhook_id)
        delivered[data["coupon"]["code"]].append(data["coupon"]["currentTotalUses"])
    assert len(ids) == 1000
    assert delivered == seen


def test_a_restarted_worker_delivers_the_whole_backlog(
    hooks: GraphQLClient, hooks_url: str, worker: list[WorkerProcess]
) -> None:
    with http_receiver(delay=0.01) as receiver:
        # given: a backlog of 300 events, delivery under way
        _, secret = register(hooks, receiver.url, ["coupon.created"])
        for _ in range(300):
            create_timed_coupon(hooks)
        receiver.wait_for(20)

        # when: the worker stops mid-backlog and another takes over
        assert worker[0].stop() == 0
        stopped_at = len(receiver.acknowledged)
        with worker_processes(hooks_url, 1, *COUPONS_WORKER, env=WORKER_SETTINGS) as again:
            assert again
            receiver.wait_for_ids(300, timeout=90)

        # then: every event, each verified
        ids = {r.webhook_id for r in receiver.acknowledged if verified(secret, r)}
    assert stopped_at < 300
    assert len(ids) == 300


def test_a_failed_transaction_leaves_no_event(hooks: GraphQLClient, hooks_db: Database) -> None:
    # given
    coupon = create_timed_coupon(hooks)
    before = len(all_events(hooks))

    # when: the redemption's change and its event are written, then the transaction fails
    hooks_db.execute(
        """
        DO $$
        BEGIN
            PERFORM coupon_redeem('REDEEM', {code!r}, 'u', 'o', 10.00, NULL, NULL,
                                  ARRAY['user:u'], 10, interval '1 minute', NULL);
            RAISE EXCEPTION 'the order service failed';
        EXCEPTION WHEN raise_exception THEN
            NULL;  -- the block's writes are rolled back
        END
        $$
        """.replace("{code!r}", "'" + coupon["code"] + "'")
    )

    # then
    assert hooks_db.value("SELECT count(*) FROM coupon_usages") == 0
    assert len(all_events(hooks)) == before
    # a refused redemption writes no event either
    assert redeem(hooks, code="NOSUCHCODE", userId="u", orderId="x", orderValue="1.00")["errors"]
    assert len(all_events(hooks)) == before


def test_secrets_reach_no_log(
    hooks: GraphQLClient, worker: list[WorkerProcess], caplog: pytest.LogCaptureFixture
) -> None:
    # given: a receiver that always fails, so the worker logs the delivery's end
    with http_receiver(lambda _: 500) as receiver:
        caplog.set_level(logging.DEBUG)
        endpoint_id, secret = register(hooks, receiver.url, ["coupon.created"])
        create_timed_coupon(hooks)

        # when: every retry fails (0.3, 0.6 and 1 s apart)
        deadline = time.monotonic() + 30
        while "failed for good" not in worker[0].log():
            assert time.monotonic() < deadline, worker[0].log()
            time.sleep(0.1)

    # then: the worker said so, naming the endpoint by id, and nobody logged the secret
    assert len(receiver.received) == 4
    assert endpoint_id in worker[0].log()
    assert secret.removeprefix("whsec_") not in worker[0].log()
    assert secret.removeprefix("whsec_") not in caplog.text
    [node] = hooks(DELIVERIES, {"first": 5, "status": "FAILED"})["webhookEndpoints"]["edges"]
    assert [d["node"]["attemptCount"] for d in node["node"]["deliveries"]["edges"]] == [4]


def test_two_workers_deliver_each_event_once_and_in_order(
    hooks: GraphQLClient, hooks_url: str, worker: list[WorkerProcess]
) -> None:
    with (
        http_receiver() as receiver,
        worker_processes(hooks_url, 1, *COUPONS_WORKER, env=WORKER_SETTINGS),
    ):
        # given: two workers on one database
        _, secret = register(hooks, receiver.url, ["redemption.succeeded"])
        coupons = [create_timed_coupon(hooks, maxUsesPerUser=100) for _ in range(4)]

        # when
        for number in range(200):
            redeem(
                hooks,
                code=coupons[number % 4]["code"],
                userId="u",
                orderId=f"two-{number}",
                orderValue="10.00",
            )

        # then: no event twice (a healthy receiver), each coupon's in order
        received = receiver.wait_for(200)
        time.sleep(1)  # time for a wrong second delivery to arrive
    assert len(receiver.received) == 200
    assert len({r.webhook_id for r in received}) == 200
    counts: dict[str, list[int]] = defaultdict(list)
    for request in received:
        coupon = verified(secret, request)["data"]["coupon"]
        counts[coupon["code"]].append(coupon["currentTotalUses"])
    assert counts == {c["code"]: list(range(1, 51)) for c in coupons}


def test_a_worker_killed_mid_delivery_leaves_a_retry_not_a_loss(
    hooks: GraphQLClient, hooks_url: str, worker: list[WorkerProcess]
) -> None:
    # a receiver slow enough that the kill lands while its requests are in flight
    with http_receiver(delay=1.0) as receiver:
        # given
        _, secret = register(hooks, receiver.url, ["coupon.created"])
        for _ in range(10):
            create_timed_coupon(hooks)
        deadline = time.monotonic() + 30
        while not receiver.arrived:
            assert time.monotonic() < deadline, "no delivery was attempted"
            time.sleep(0.02)

        # when: the worker dies mid-batch, nothing written down
        worker[0].process.kill()
        worker[0].process.wait()

        # the requests in flight are answered into a dead connection: written down here,
        # never by the worker
        deadline = time.monotonic() + 30
        while len(receiver.received) < receiver.arrived:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        cut_off = len(receiver.received)
        events = {event["id"] for event in all_events(hooks, ["coupon.created"])}

        # then: once the lease runs out, another worker sends the batch again, same ids
        with worker_processes(hooks_url, 1, *COUPONS_WORKER, env=WORKER_SETTINGS):
            deadline = time.monotonic() + 90
            while not events <= {r.webhook_id for r in receiver.received[cut_off:]}:
                assert time.monotonic() < deadline, "the batch was not sent again"
                time.sleep(0.05)
    assert all(verified(secret, r) for r in receiver.received)
    assert len(events) == 10
    # what was in flight when the worker died was among what was sent again
    assert {r.webhook_id for r in receiver.received[:cut_off]} <= events
    assert cut_off >= 1
