"""Coupons past their window are written EXPIRED by the background worker on its own.

Contract: the sweep writes EXPIRED on ACTIVE coupons whose `validUntil` has passed, and
on nothing else: a paused coupon stays INACTIVE (and reads INACTIVE), an EXHAUSTED or
already EXPIRED row is left as it is, and reads compute the status anyway.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from tests.support.database import Database
from tests.support.factories import create_timed_coupon
from tests.support.graphql import GraphQLClient
from tests.support.workers import COUPONS_WORKER, worker_processes

STATUS = """
query Status($code: String!) {
  couponByCode(code: $code) { status }
}
"""

SWEEP_DEADLINE_SECONDS = 10
SWEEP_EVERY_SECOND = {"COUPONS_EXPIRY_SWEEP_SECONDS": "1"}


def wait_for_status(db: Database, code: str, status: str) -> None:
    """Poll the stored status of `code` until it is `status`; fail past the deadline."""
    deadline = time.monotonic() + SWEEP_DEADLINE_SECONDS
    while db.value("select status::text from coupons where code = $1", code) != status:
        assert time.monotonic() < deadline, f"{code} was never written {status}"
        time.sleep(0.05)


def test_the_sweep_writes_expired_on_coupons_past_their_window(gql, db, database_url):
    # given a running coupon and one whose window has closed, both stored ACTIVE
    create_timed_coupon(gql, code="RUNNING")
    create_timed_coupon(gql, code="CLOSED")
    db.execute("update coupons set valid_until = now() - interval '1 second' where code = 'CLOSED'")
    # when `coupons worker` sweeping every second runs until the closed one is written EXPIRED
    with worker_processes(database_url, 1, *COUPONS_WORKER, env=SWEEP_EVERY_SECOND):
        wait_for_status(db, "CLOSED", "EXPIRED")
    # then only the closed one was rewritten
    statuses = dict(db.fetch("select code, status::text from coupons"))
    assert statuses == {"RUNNING": "ACTIVE", "CLOSED": "EXPIRED"}


def insert_campaign(db: Database, code: str, status: str, *, closed: bool, **columns: Any) -> None:
    """A campaign stored with `status`, its window closed a minute ago or open for a day,
    last written a day ago."""
    until = "now() - interval '1 minute'" if closed else "now() + interval '1 day'"
    db.execute(
        f"""
        INSERT INTO coupons (code, type, discount_type, discount_value, valid_from, valid_until,
                             max_uses_per_user, max_total_uses, current_total_uses, status,
                             created_at, updated_at)
        VALUES ($1, 'TIME_SPECIFIC', 'FIXED', 5, now() - interval '2 days', {until}, 1, $2, $3,
                $4::text::coupon_status, now() - interval '2 days', now() - interval '1 day')
        """,  # noqa: S608  # `until` is one of this function's two constants
        code,
        columns.get("max_total_uses"),
        columns.get("current_total_uses", 0),
        status,
    )


def stored(db: Database) -> dict[str, tuple[str, datetime]]:
    return {
        row["code"]: (row["status"], row["updated_at"])
        for row in db.fetch("select code, status::text, updated_at from coupons")
    }


def read_status(gql: GraphQLClient, code: str) -> str:
    status: str = gql(STATUS, {"code": code})["couponByCode"]["status"]
    return status


def test_the_sweep_rewrites_active_coupons_past_their_window_and_nothing_else(
    gql, db, database_url
):
    # given coupons of every stored status, each past its window and within it
    insert_campaign(db, "ACTIVE-CLOSED", "ACTIVE", closed=True)
    insert_campaign(db, "ACTIVE-OPEN", "ACTIVE", closed=False)
    insert_campaign(db, "PAUSED-CLOSED", "INACTIVE", closed=True)
    insert_campaign(db, "PAUSED-OPEN", "INACTIVE", closed=False)
    insert_campaign(db, "EXPIRED-CLOSED", "EXPIRED", closed=True)
    used_up = {"max_total_uses": 1, "current_total_uses": 1}
    insert_campaign(db, "USED-UP-OPEN", "EXHAUSTED", closed=False, **used_up)
    insert_campaign(db, "USED-UP-CLOSED", "EXHAUSTED", closed=True, **used_up)
    insert_campaign(db, "LATER", "ACTIVE", closed=False)
    before = stored(db)
    # when `coupons worker` sweeping every second has written the closed ACTIVE one EXPIRED
    with worker_processes(database_url, 1, *COUPONS_WORKER, env=SWEEP_EVERY_SECOND):
        wait_for_status(db, "ACTIVE-CLOSED", "EXPIRED")
        # and, for a window that closes after that, has finished a whole later round too
        db.execute("update coupons set valid_until = now() where code = 'LATER'")
        wait_for_status(db, "LATER", "EXPIRED")
    after = stored(db)
    # then the closed ACTIVE coupons were rewritten EXPIRED, just now
    for code in ("ACTIVE-CLOSED", "LATER"):
        assert after[code][0] == "EXPIRED"
        assert after[code][1] > before[code][1]
    # and no other row was written at all
    untouched = set(before) - {"ACTIVE-CLOSED", "LATER"}
    assert {code: after[code] for code in untouched} == {code: before[code] for code in untouched}
    # and a paused coupon past its window still reads as paused
    assert read_status(gql, "PAUSED-CLOSED") == "INACTIVE"
    assert read_status(gql, "ACTIVE-CLOSED") == "EXPIRED"
