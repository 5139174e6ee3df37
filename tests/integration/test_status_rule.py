"""The effective status: one rule, in the database, on the database's clock.

Contract, "Status": effective at the moment of the read, whether or not the row has been
rewritten yet: EXPIRED once `validUntil` has passed, EXHAUSTED once `currentTotalUses`
reaches `maxTotalUses`; the first of INACTIVE, EXPIRED, EXHAUSTED that applies, else ACTIVE.
A campaign's code also takes its campaign's status: a paused campaign pauses its codes, a
spent budget of uses or of money exhausts them, a closed window expires them. A
reservation is HELD until `expiresAt`, EXPIRED from then on, REDEEMED or RELEASED as written.

db/sql/coupon_status.sql, campaign_status.sql and reservation_status.sql are the rule's one
home; rows are arranged here with plain SQL and read back through the functions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import product
from typing import Any

import asyncpg
import pytest

from tests.support.database import Database, asyncpg_dsn

DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)
STATUSES = ("ACTIVE", "INACTIVE", "EXPIRED", "EXHAUSTED")
PRECEDENCE = ("INACTIVE", "EXPIRED", "EXHAUSTED")

# Enum columns are sent as text and cast: one function for every table below.
CASTS = {
    "coupons": {"type": "coupon_type", "discount_type": "discount_type", "status": "coupon_status"},
    "campaigns": {"discount_type": "discount_type", "status": "campaign_status"},
    "coupon_reservations": {"status": "reservation_status"},
}


def first_that_applies(applying: set[str]) -> str:
    return next((status for status in PRECEDENCE if status in applying), "ACTIVE")


def insert_statement(table: str, columns: list[str]) -> str:
    """INSERT of one row of `table` with `columns` as $1, $2, ...; answers its id."""
    placeholders = ", ".join(
        f"${n}::text::{CASTS[table][name]}" if name in CASTS.get(table, {}) else f"${n}"
        for n, name in enumerate(columns, start=1)
    )
    # Table and column names are this module's own keywords, never outside input.
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) RETURNING id"  # noqa: S608


def insert(db: Database, table: str, **columns: Any) -> Any:
    """One row of `table`, exactly as given; its id."""
    return db.value(insert_statement(table, list(columns)), *columns.values())


def insert_timed_coupon(db: Database, code: str, **overrides: Any) -> Any:
    """A TIME_SPECIFIC coupon open from yesterday to tomorrow, 1 of 5 uses taken."""
    now = datetime.now(UTC)
    columns: dict[str, Any] = {
        "code": code,
        "type": "TIME_SPECIFIC",
        "discount_type": "PERCENTAGE",
        "discount_value": Decimal("10.00"),
        "valid_from": now - DAY,
        "valid_until": now + DAY,
        "max_uses_per_user": 1,
        "max_total_uses": 5,
        "current_total_uses": 1,
    }
    return insert(db, "coupons", **{**columns, **overrides})


# A campaign's budgets: 1 of 5 uses and 10.00 of 50.00 spent (its window comes apart).
CAMPAIGN: dict[str, Any] = {
    "name": "Spring",
    "discount_type": "FIXED",
    "discount_value": Decimal("10.00"),
    "max_total_uses": 5,
    "max_total_discount": Decimal("50.00"),
    "total_uses": 1,
    "total_discount": Decimal("10.00"),
}
# A code of a campaign: unused, with no window and no limit of its own.
CAMPAIGN_CODE: dict[str, Any] = {
    "type": "CAMPAIGN",
    "discount_type": "FIXED",
    "discount_value": Decimal("10.00"),
    "max_uses_per_user": 1,
}


def insert_campaign(db: Database, **overrides: Any) -> Any:
    """A campaign open from yesterday to tomorrow, with budgets left (CAMPAIGN)."""
    now = datetime.now(UTC)
    window = {"valid_from": now - DAY, "valid_until": now + DAY}
    return insert(db, "campaigns", **{**CAMPAIGN, **window, **overrides})


def insert_campaign_code(db: Database, campaign_id: Any, code: str, **overrides: Any) -> Any:
    """An unused code of the campaign (CAMPAIGN_CODE)."""
    return insert(
        db, "coupons", **{**CAMPAIGN_CODE, "code": code, "campaign_id": campaign_id, **overrides}
    )


def case_id(value: object) -> str:
    if isinstance(value, bool):
        return "closed" if value else "open"
    return str(value)


def coupon_status(db: Database, coupon_id: Any) -> str:
    status: str = db.value(
        "SELECT coupon_status(c, k) FROM coupons c LEFT JOIN campaigns k ON k.id = c.campaign_id"
        " WHERE c.id = $1",
        coupon_id,
    )
    return status


def campaign_status(db: Database, campaign_id: Any) -> str:
    status: str = db.value(
        "SELECT campaign_status(k) FROM campaigns k WHERE k.id = $1", campaign_id
    )
    return status


# Coupons


def test_an_open_coupon_with_uses_left_is_active(clean_db):
    # given
    coupon = insert_timed_coupon(clean_db, "OPEN-1")
    # then
    assert coupon_status(clean_db, coupon) == "ACTIVE"


async def test_a_coupon_is_expired_exactly_from_valid_until_and_active_from_valid_from(
    clean_db, database_url
):
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        # now() stands still within a transaction: a window can start or end exactly at it
        async with connection.transaction():
            now = await connection.fetchval("SELECT now()")
            # given
            insert_timed_coupon(clean_db, "OPENS-NOW", valid_from=now, valid_until=now + DAY)
            insert_timed_coupon(clean_db, "CLOSES-NOW", valid_from=now - DAY, valid_until=now)
            insert_timed_coupon(
                clean_db, "CLOSES-NEXT", valid_from=now - DAY, valid_until=now + MICROSECOND
            )
            insert_timed_coupon(
                clean_db, "CLOSED-BEFORE", valid_from=now - DAY, valid_until=now - MICROSECOND
            )
            # when
            rows = await connection.fetch(
                "SELECT code, coupon_status(c, k) AS status FROM coupons c"
                " LEFT JOIN campaigns k ON k.id = c.campaign_id"
            )
    finally:
        await connection.close()
    # then
    assert {row["code"]: row["status"] for row in rows} == {
        "OPENS-NOW": "ACTIVE",
        "CLOSES-NOW": "EXPIRED",
        "CLOSES-NEXT": "ACTIVE",
        "CLOSED-BEFORE": "EXPIRED",
    }


def test_a_coupon_that_has_not_started_reads_active(clean_db):
    # given a window that opens tomorrow (a redemption answers NOT_YET_VALID)
    now = datetime.now(UTC)
    coupon = insert_timed_coupon(
        clean_db, "LATER-1", valid_from=now + DAY, valid_until=now + 2 * DAY
    )
    # then
    assert coupon_status(clean_db, coupon) == "ACTIVE"


@pytest.mark.parametrize(
    ("current_total_uses", "expected"), [(4, "ACTIVE"), (5, "EXHAUSTED")], ids=["4-of-5", "5-of-5"]
)
def test_a_coupon_is_exhausted_once_its_uses_reach_the_maximum(
    clean_db, current_total_uses, expected
):
    # given a coupon still stored ACTIVE
    coupon = insert_timed_coupon(
        clean_db, "COUNTED-1", max_total_uses=5, current_total_uses=current_total_uses
    )
    # then
    assert coupon_status(clean_db, coupon) == expected


def test_unlimited_uses_are_never_exhausted(clean_db):
    # given
    coupon = insert_timed_coupon(
        clean_db, "UNLIMITED-1", max_total_uses=None, current_total_uses=2**31 - 1
    )
    # then
    assert coupon_status(clean_db, coupon) == "ACTIVE"


def test_a_user_coupon_has_no_window_and_never_expires(clean_db):
    # given
    coupon = insert(
        clean_db,
        "coupons",
        code="ALICE-1",
        type="USER_SPECIFIC",
        discount_type="FIXED",
        discount_value=Decimal("10.00"),
        user_id="alice",
        max_uses_per_user=1,
        max_total_uses=1,
    )
    # then
    assert coupon_status(clean_db, coupon) == "ACTIVE"


@pytest.mark.parametrize("stored", ["INACTIVE", "EXPIRED", "EXHAUSTED"])
def test_the_stored_status_still_counts(clean_db, stored):
    # given an open coupon with uses left, stored with another status
    coupon = insert_timed_coupon(clean_db, "STORED-1", status=stored)
    # then
    assert coupon_status(clean_db, coupon) == stored


@pytest.mark.parametrize(
    ("stored", "closed", "spent"),
    [
        pytest.param(stored, closed, spent, id=f"{stored}-{case_id(closed)}-{spent=}")
        for stored, closed, spent in product(STATUSES, (False, True), (False, True))
    ],
)
def test_where_several_apply_the_first_of_inactive_expired_exhausted_wins(
    clean_db, stored, closed, spent
):
    # given a coupon stored with one status, whose window and count may say more
    now = datetime.now(UTC)
    coupon = insert_timed_coupon(
        clean_db,
        "SEVERAL-1",
        status=stored,
        valid_until=now - DAY / 2 if closed else now + DAY,
        current_total_uses=5 if spent else 1,
    )
    applying = {stored} | ({"EXPIRED"} if closed else set()) | ({"EXHAUSTED"} if spent else set())
    # then
    assert coupon_status(clean_db, coupon) == first_that_applies(applying)


# Campaigns, and the codes that take their status

# What makes a campaign's status apply, beside the stored one: a closed window, a spent
# budget of uses, a spent budget of money.
CAMPAIGN_CASES = list(product(STATUSES, (False, True), ("none", "uses", "money")))


def campaign_columns(stored: str, closed: bool, spent: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "status": stored,
        "valid_until": now - DAY / 2 if closed else now + DAY,
        "total_uses": 5 if spent == "uses" else 1,
        "total_discount": Decimal("50.00") if spent == "money" else Decimal("10.00"),
    }


def campaign_applying(stored: str, closed: bool, spent: str) -> set[str]:
    return (
        {stored}
        | ({"EXPIRED"} if closed else set())
        | ({"EXHAUSTED"} if spent != "none" else set())
    )


def test_an_open_campaign_with_budgets_left_is_active(clean_db):
    assert campaign_status(clean_db, insert_campaign(clean_db)) == "ACTIVE"


def test_a_campaign_that_has_not_started_reads_active(clean_db):
    # given a campaign that opens tomorrow, and its code (a redemption answers NOT_YET_VALID)
    now = datetime.now(UTC)
    campaign = insert_campaign(clean_db, valid_from=now + DAY, valid_until=now + 2 * DAY)
    code = insert_campaign_code(clean_db, campaign, "LATER-CODE-1")
    # then
    assert campaign_status(clean_db, campaign) == "ACTIVE"
    assert coupon_status(clean_db, code) == "ACTIVE"


def test_a_campaign_without_budgets_or_window_is_never_spent_nor_expired(clean_db):
    # given
    campaign = insert_campaign(
        clean_db,
        valid_from=None,
        valid_until=None,
        max_total_uses=None,
        max_total_discount=None,
        total_uses=2**31 - 1,
        total_discount=Decimal("9999999999.99"),
    )
    # then
    assert campaign_status(clean_db, campaign) == "ACTIVE"


@pytest.mark.parametrize(
    ("uses", "discount", "expected"),
    [
        (4, Decimal("49.99"), "ACTIVE"),
        (5, Decimal("10.00"), "EXHAUSTED"),
        (1, Decimal("50.00"), "EXHAUSTED"),
    ],
    ids=["both-left", "uses-spent", "money-spent"],
)
def test_a_campaign_is_exhausted_once_either_budget_is_spent(clean_db, uses, discount, expected):
    # given a campaign still stored ACTIVE
    campaign = insert_campaign(clean_db, total_uses=uses, total_discount=discount)
    code = insert_campaign_code(clean_db, campaign, "BUDGET-CODE-1")
    # then
    assert campaign_status(clean_db, campaign) == expected
    assert coupon_status(clean_db, code) == expected


async def test_a_campaign_is_expired_exactly_from_valid_until(clean_db, database_url):
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with connection.transaction():
            now = await connection.fetchval("SELECT now()")
            # given
            closing = insert_campaign(clean_db, valid_from=now - DAY, valid_until=now)
            insert_campaign_code(clean_db, closing, "CLOSING-CODE")
            open_ = insert_campaign(clean_db, valid_from=now, valid_until=now + MICROSECOND)
            insert_campaign_code(clean_db, open_, "OPEN-CODE")
            # when
            campaigns = await connection.fetch(
                "SELECT id, campaign_status(k) AS status FROM campaigns k"
            )
            codes = await connection.fetch(
                "SELECT code, coupon_status(c, k) AS status FROM coupons c"
                " LEFT JOIN campaigns k ON k.id = c.campaign_id"
            )
    finally:
        await connection.close()
    # then
    assert {row["id"]: row["status"] for row in campaigns} == {
        closing: "EXPIRED",
        open_: "ACTIVE",
    }
    assert {row["code"]: row["status"] for row in codes} == {
        "CLOSING-CODE": "EXPIRED",
        "OPEN-CODE": "ACTIVE",
    }


@pytest.mark.parametrize(("stored", "closed", "spent"), CAMPAIGN_CASES, ids=case_id)
def test_a_campaign_reads_the_first_that_applies_and_its_active_code_reads_the_same(
    clean_db, stored, closed, spent
):
    # given a campaign in each state, and an ACTIVE code of it with uses left
    campaign = insert_campaign(clean_db, **campaign_columns(stored, closed, spent))
    code = insert_campaign_code(clean_db, campaign, "TAKES-1", max_total_uses=3)
    expected = first_that_applies(campaign_applying(stored, closed, spent))
    # then
    assert campaign_status(clean_db, campaign) == expected
    assert coupon_status(clean_db, code) == expected


def test_a_codes_own_inactive_wins_over_its_campaigns_exhausted(clean_db):
    # given a spent campaign, and a paused code of it
    campaign = insert_campaign(clean_db, total_uses=5)
    code = insert_campaign_code(clean_db, campaign, "PAUSED-1", status="INACTIVE")
    # then
    assert campaign_status(clean_db, campaign) == "EXHAUSTED"
    assert coupon_status(clean_db, code) == "INACTIVE"


# Every state of a code (stored status, own window, own count) under every state of its
# campaign: the first of INACTIVE, EXPIRED, EXHAUSTED that applies to either.
CODE_CASES = list(product(STATUSES, (False, True), (False, True)))


async def test_a_code_and_its_campaign_together_read_the_first_that_applies_to_either(
    clean_db, database_url
):
    now = datetime.now(UTC)
    expected = {}
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        # given one code in each state, of one campaign in each state (one connection:
        # four hundred rows)
        campaigns = {}
        for case in CAMPAIGN_CASES:
            columns = {**CAMPAIGN, **campaign_columns(*case)}
            campaigns[case] = await connection.fetchval(
                insert_statement("campaigns", list(columns)), *columns.values()
            )
        for n, (case, (stored, closed, spent)) in enumerate(product(CAMPAIGN_CASES, CODE_CASES)):
            code = f"BOTH-{n:04d}"
            columns = {
                **CAMPAIGN_CODE,
                "code": code,
                "campaign_id": campaigns[case],
                "status": stored,
                "valid_from": now - DAY,
                "valid_until": now - DAY / 2 if closed else now + DAY,
                "max_total_uses": 3,
                "current_total_uses": 3 if spent else 0,
            }
            await connection.execute(insert_statement("coupons", list(columns)), *columns.values())
            applying = (
                {stored}
                | ({"EXPIRED"} if closed else set())
                | ({"EXHAUSTED"} if spent else set())
                | campaign_applying(*case)
            )
            expected[code] = first_that_applies(applying)
        # when
        rows = await connection.fetch(
            "SELECT code, coupon_status(c, k) AS status FROM coupons c"
            " LEFT JOIN campaigns k ON k.id = c.campaign_id"
        )
    finally:
        await connection.close()
    # then
    assert {row["code"]: row["status"] for row in rows} == expected
    assert len(expected) == 24 * 16


def test_a_standalone_coupon_takes_no_campaigns_status(clean_db):
    # given a spent, paused campaign beside a timed coupon
    insert_campaign(clean_db, status="INACTIVE", total_uses=5)
    coupon = insert_timed_coupon(clean_db, "ALONE-1")
    # then
    assert coupon_status(clean_db, coupon) == "ACTIVE"


# Reservations


def insert_reservation(db: Database, coupon_id: Any, order_id: str, **overrides: Any) -> Any:
    """A hold of 10.00 off a 50.00 order, made a minute ago, lasting ten minutes."""
    now = datetime.now(UTC)
    columns: dict[str, Any] = {
        "coupon_id": coupon_id,
        "user_id": "alice",
        "order_id": order_id,
        "order_value": Decimal("50.00"),
        "discount_amount": Decimal("10.00"),
        "final_amount": Decimal("40.00"),
        "created_at": now - timedelta(minutes=1),
        "expires_at": now + timedelta(minutes=9),
    }
    return insert(db, "coupon_reservations", **{**columns, **overrides})


def reservation_statuses(rows: list[asyncpg.Record]) -> dict[str, str]:
    return {row["order_id"]: row["status"] for row in rows}


async def test_a_hold_is_held_before_expires_at_and_expired_from_it(clean_db, database_url):
    # given
    coupon = insert_timed_coupon(clean_db, "HOLDS-1", max_total_uses=None)
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        async with connection.transaction():
            now = await connection.fetchval("SELECT now()")
            created = now - timedelta(minutes=10)
            for order_id, expires_at in [
                ("later", now + timedelta(minutes=5)),
                ("next", now + MICROSECOND),
                ("now", now),
                ("before", now - MICROSECOND),
                ("long-ago", now - timedelta(minutes=5)),
            ]:
                insert_reservation(
                    clean_db, coupon, order_id, created_at=created, expires_at=expires_at
                )
            # when
            rows = await connection.fetch(
                "SELECT order_id, reservation_status(r) AS status FROM coupon_reservations r"
            )
    finally:
        await connection.close()
    # then
    assert reservation_statuses(rows) == {
        "later": "HELD",
        "next": "HELD",
        "now": "EXPIRED",
        "before": "EXPIRED",
        "long-ago": "EXPIRED",
    }


def insert_usage(db: Database, coupon_id: Any, order_id: str) -> Any:
    return db.value(
        "INSERT INTO coupon_usages (coupon_id, user_id, order_id, order_value,"
        " discount_applied, final_amount) VALUES ($1, 'alice', $2, 50.00, 10.00, 40.00)"
        " RETURNING id",
        coupon_id,
        order_id,
    )


def test_ended_holds_read_as_written_whatever_their_expiry(clean_db):
    # given one hold of each ended kind, before and after its expiry
    coupon = insert_timed_coupon(clean_db, "ENDED-1", max_total_uses=None)
    now = datetime.now(UTC)
    for when, expires_at in [("live", now + timedelta(minutes=9)), ("past", now - MICROSECOND)]:
        for status in ("REDEEMED", "RELEASED", "EXPIRED"):
            order_id = f"{status}-{when}"
            insert_reservation(
                clean_db,
                coupon,
                order_id,
                status=status,
                expires_at=expires_at,
                ended_at=now - timedelta(seconds=30),
                usage_id=insert_usage(clean_db, coupon, order_id) if status == "REDEEMED" else None,
            )
    # when
    rows = clean_db.fetch(
        "SELECT order_id, reservation_status(r) AS status FROM coupon_reservations r"
    )
    # then
    assert reservation_statuses(rows) == {
        f"{status}-{when}": status
        for when in ("live", "past")
        for status in ("REDEEMED", "RELEASED", "EXPIRED")
    }
