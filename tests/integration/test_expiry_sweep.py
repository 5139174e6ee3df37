"""Coupons past their window are written EXPIRED by the service on its own."""

from __future__ import annotations

import time

from tests.support.factories import create_timed_coupon
from tests.support.servers import thread_server


def test_the_sweep_writes_expired_on_coupons_past_their_window(gql, db, database_url):
    # given a running coupon and one whose window has closed, both stored ACTIVE
    create_timed_coupon(gql, code="RUNNING")
    create_timed_coupon(gql, code="CLOSED")
    db.execute("update coupons set valid_until = now() - interval '1 second' where code = 'CLOSED'")
    # when a server sweeping every 0.1 s runs for a moment
    with thread_server(database_url, expiry_sweep_seconds=0.1):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if db.value("select status::text from coupons where code = 'CLOSED'") == "EXPIRED":
                break
            time.sleep(0.1)
    # then only the closed one was rewritten
    statuses = dict(db.fetch("select code, status::text from coupons"))
    assert statuses == {"RUNNING": "ACTIVE", "CLOSED": "EXPIRED"}
