"""SIGTERM: stop accepting, let in-flight requests finish, close the pool, exit 0."""

from __future__ import annotations

import asyncio
import signal

import asyncpg
import httpx

from tests.support.database import asyncpg_dsn
from tests.support.factories import REDEEM_COUPON, create_timed_coupon
from tests.support.servers import process_server

SERVICE_PIDS = (
    "SELECT pid FROM pg_stat_activity"
    " WHERE application_name = 'coupons' AND datname = current_database()"
)
SERVICE_CONNECTIONS = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE application_name = 'coupons' AND datname = current_database()"
)


async def test_sigterm_drains_in_flight_requests_then_exits_cleanly(gql, db, database_url):
    create_timed_coupon(gql, code="DRAIN", maxUsesPerUser=1)
    # (the in-process test server has connections of its own; they are not the ones we watch)
    others = {row["pid"] for row in db.fetch(SERVICE_PIDS)}
    with process_server({"DATABASE_URL": database_url}) as server:
        # given a redemption held inside its transaction by a lock the test owns
        blocker = await asyncpg.connect(asyncpg_dsn(database_url))
        hold = blocker.transaction()
        await hold.start()
        await blocker.execute("SELECT 1 FROM coupons WHERE code = 'DRAIN' FOR UPDATE")
        variables = {"input": {"code": "DRAIN", "userId": "u", "orderId": "o", "orderValue": "9"}}
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            in_flight = asyncio.create_task(
                client.post("/graphql", json={"query": REDEEM_COUPON, "variables": variables})
            )
            for _ in range(300):
                waiting = await asyncio.to_thread(
                    db.value, SERVICE_CONNECTIONS + " AND wait_event_type = 'Lock'"
                )
                if waiting:
                    break
                await asyncio.sleep(0.01)
            assert waiting == 1

            # when the service is told to stop
            server.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(1.0)
            # then it takes no new connections, but it has not dropped the one in flight
            try:
                async with httpx.AsyncClient(timeout=2) as fresh:
                    refused = (await fresh.get(f"{server.base_url}/health")).status_code != 200
            except httpx.TransportError:
                refused = True
            assert refused
            assert server.process.poll() is None
            await hold.commit()
            response = await in_flight
        await blocker.close()

        # and the request finished with its real answer
        assert response.status_code == 200
        assert response.json()["data"]["redeemCoupon"]["errors"] == []
        # and the process exits 0 having closed its pool
        assert await asyncio.to_thread(server.process.wait, 40) == 0
    assert {row["pid"] for row in db.fetch(SERVICE_PIDS)} <= others
    assert db.value("SELECT count(*) FROM coupon_usages") == 1
