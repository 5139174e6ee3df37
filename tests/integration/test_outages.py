"""The database going away: clean, fast errors, a 503 health, recovery on its own."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from db.embedded import EmbeddedPostgres
from db.migrate import upgrade_to_head
from tests.support.database import asyncpg_dsn
from tests.support.factories import REDEEM_COUPON, create_timed_coupon
from tests.support.graphql import GraphQLClient
from tests.support.servers import thread_server

LEAKS = ("asyncpg", "sqlalchemy", "terminat", "Traceback", "SELECT", "INSERT", "postgres")
KILL_SERVICE_CONNECTIONS = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE application_name = 'coupons' AND datname = current_database() AND pid <> pg_backend_pid()
"""


def assert_clean(body: dict) -> None:
    for error in body.get("errors") or ():
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", error
        assert error["extensions"]["requestId"]
        text = str(error)
        assert not any(leak in text for leak in LEAKS), error


async def test_killing_connections_mid_flight_fails_cleanly_and_recovers(gql, db, server):
    # given a campaign whose row the test holds locked, so redemptions pile up inside
    # their transactions
    create_timed_coupon(gql, code="KILLED", maxUsesPerUser=1)
    blocker = await asyncpg.connect(asyncpg_dsn(db.url))
    blocking = blocker.transaction()
    await blocking.start()
    await blocker.execute("SELECT 1 FROM coupons WHERE code = 'KILLED' FOR UPDATE")

    async def redeem(client: httpx.AsyncClient, n: int) -> dict:
        variables = {
            "input": {"code": "KILLED", "userId": f"u{n}", "orderId": f"o{n}", "orderValue": "20"}
        }
        response = await client.post(
            "/graphql", json={"query": REDEEM_COUPON, "variables": variables}
        )
        assert response.status_code == 200, response.text
        return response.json()

    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        in_flight = [asyncio.create_task(redeem(client, n)) for n in range(40)]
        await wait_for_lock_waiters(db, at_least=3)
        # when the service's connections are killed mid-statement, and killed again when the
        # service retries on fresh ones (a redemption is safe to retry: the order decides)
        killed = await asyncio.to_thread(db.value, KILL_SERVICE_CONNECTIONS)
        await wait_for_lock_waiters(db, at_least=1)
        killed += await asyncio.to_thread(db.value, KILL_SERVICE_CONNECTIONS)
        await blocking.commit()
        bodies = await asyncio.gather(*in_flight)
    await blocker.close()

    # then every answer is a success (the service retries a statement whose connection died
    # under it once, on a fresh one) or a clean SERVICE_UNAVAILABLE
    assert killed >= 3
    for body in bodies:
        assert_clean(body)
    outcomes = Counter("unavailable" if b.get("errors") else "ok" for b in bodies)
    # and the service recovers by itself
    answer = GraphQLClient(server.base_url)(
        REDEEM_COUPON,
        {"input": {"code": "KILLED", "userId": "after", "orderId": "after", "orderValue": "20"}},
    )
    assert answer["redeemCoupon"]["errors"] == []
    # and the counter equals the usage rows: no redemption half-written
    usages = db.value("SELECT count(*) FROM coupon_usages")
    assert db.value("SELECT current_total_uses FROM coupons") == usages
    assert usages == outcomes["ok"] + 1


async def wait_for_lock_waiters(db, at_least: int) -> None:
    # From a connection of its own: inside a transaction, pg_stat_activity is a snapshot.
    for _ in range(200):
        waiting = await asyncio.to_thread(
            db.value,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'coupons'"
            " AND wait_event_type = 'Lock' AND datname = current_database()",
        )
        if waiting >= at_least:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("redemptions never queued on the row lock")


@pytest.fixture
def embedded_service() -> Iterator[tuple[EmbeddedPostgres, str]]:
    """A service on an embedded PostgreSQL that the test may stop and start."""
    with tempfile.TemporaryDirectory(prefix="coupons-outage-") as data_dir:
        embedded = EmbeddedPostgres(Path(data_dir))
        url = embedded.start()
        try:
            upgrade_to_head(url)
            with thread_server(url, pool_timeout=2.0, connect_timeout=2.0) as server:
                yield embedded, server.base_url
        finally:
            embedded.stop()  # before the directory goes


def timed_post(base_url: str, query: str) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    response = httpx.post(f"{base_url}/graphql", json={"query": query}, timeout=30)
    return time.monotonic() - started, response


def test_a_stopped_database_fails_fast_and_the_service_recovers_when_it_returns(
    embedded_service,
):
    embedded, base_url = embedded_service
    lookup = '{ couponByCode(code: "ANY-CODE") { code } }'
    assert timed_post(base_url, lookup)[1].json() == {"data": {"couponByCode": None}}

    # when the database stops under the running service
    embedded.stop()
    try:
        # then requests fail fast and clean, and health says so
        for _ in range(3):
            elapsed, response = timed_post(base_url, lookup)
            assert response.status_code == 200
            assert elapsed < 5, elapsed
            body = response.json()
            assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert_clean(body)
        health = httpx.get(f"{base_url}/health", timeout=10)
        assert health.status_code == 503
        assert health.json()["status"] == "unhealthy"
    finally:
        # when it comes back
        embedded.start()
    # then the service recovers without a restart
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if httpx.get(f"{base_url}/health", timeout=10).status_code == 200:
            break
        time.sleep(0.2)
    assert timed_post(base_url, lookup)[1].json() == {"data": {"couponByCode": None}}
