"""Migration 0005 (campaigns and the redemption lifecycle) keeps the data it finds.

Migration 0005's promise: existing coupons, usages and counters are kept as they are; a
usage written before is a live redemption, and `rolled_back_uses` starts at 0. So a
database filled at 0004 migrates to head with every old row and column unchanged, reads
the same effective status, and its coupons, orders and usages keep working through the
new functions. Going back down to 0004 works while nothing of the new model exists, and
is refused, rather than losing data, once a rollback or a campaign does.

Each test fills its own throwaway database with plain SQL, as 0004's schema allows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError

from db.migrate import alembic_config, upgrade_to_head
from tests.support.database import Database, throwaway_database

DAY = timedelta(days=1)
# Moments in the past, so that "unchanged" cannot be mistaken for "just written".
CREATED = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
UPDATED = datetime(2026, 6, 2, 10, 45, 12, 345678, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999998, tzinfo=UTC)  # 0004's last storable moment

COUPON_COLUMNS = (
    "code, type, discount_type, discount_value, max_discount_amount, min_order_value,"
    " description, user_id, valid_from, valid_until, max_uses_per_user, max_total_uses,"
    " current_total_uses, status, created_by, created_at, updated_at"
)
INSERT_COUPON = f"""
    INSERT INTO coupons ({COUPON_COLUMNS})
    VALUES ($1, $2::text::coupon_type, $3::text::discount_type, $4, $5, $6, $7, $8, $9, $10,
            $11, $12, $13, $14::text::coupon_status, $15, $16, $17)
"""  # noqa: S608 (this module's own constant)
INSERT_USAGE = """
    INSERT INTO coupon_usages (coupon_id, user_id, order_id, order_value, discount_applied,
                               final_amount, used_at, ip_address, user_agent)
    SELECT id, $2, $3, $4::numeric, $5::numeric, $4::numeric - $5::numeric, $6, $7::inet, $8
    FROM coupons WHERE code = $1
"""
# The new model's tables: empty after the upgrade.
NEW_TABLES = (
    "campaigns",
    "code_generation_jobs",
    "coupon_reservations",
    # and those of later revisions (0010: events and webhooks)
    "events",
    "webhook_endpoints",
    "webhook_deliveries",
    "webhook_streams",
    "webhook_attempts",
)
# The columns 0005 adds to old tables, and what every old row holds in them.
NEW_COLUMNS: dict[str, dict[str, Any]] = {
    "coupons": {"campaign_id": None, "rolled_back_uses": 0},
    "coupon_usages": {"campaign_id": None, "rolled_back_at": None, "rollback_reason": None},
    "guess_counters": {},
}


@dataclass(frozen=True)
class OldCoupon:
    code: str
    type: str
    discount_type: str
    discount_value: Decimal
    status: str
    max_uses_per_user: int
    max_total_uses: int | None
    current_total_uses: int
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    user_id: str | None = None
    max_discount_amount: Decimal | None = None
    min_order_value: Decimal = Decimal("0.00")
    description: str | None = None
    created_by: str | None = None

    def row(self) -> tuple[Any, ...]:
        return (
            self.code,
            self.type,
            self.discount_type,
            self.discount_value,
            self.max_discount_amount,
            self.min_order_value,
            self.description,
            self.user_id,
            self.valid_from,
            self.valid_until,
            self.max_uses_per_user,
            self.max_total_uses,
            self.current_total_uses,
            self.status,
            self.created_by,
            CREATED,
            UPDATED,
        )


def old_coupons(now: datetime) -> list[OldCoupon]:
    """Coupons of every shape 0004 allows; their use counts match the usages below."""

    def user(code: str, user_id: str, **fields: Any) -> OldCoupon:
        base: dict[str, Any] = {
            "code": code,
            "type": "USER_SPECIFIC",
            "discount_type": "FIXED",
            "discount_value": Decimal("10.00"),
            "status": "ACTIVE",
            "user_id": user_id,
            "max_uses_per_user": 1,
            "max_total_uses": 1,
            "current_total_uses": 0,
        }
        return OldCoupon(**{**base, **fields})

    def timed(code: str, **fields: Any) -> OldCoupon:
        base: dict[str, Any] = {
            "code": code,
            "type": "TIME_SPECIFIC",
            "discount_type": "PERCENTAGE",
            "discount_value": Decimal("15.00"),
            "status": "ACTIVE",
            "valid_from": now - 30 * DAY,
            "valid_until": now + 30 * DAY,
            "max_uses_per_user": 2,
            "max_total_uses": 5,
            "current_total_uses": 0,
        }
        return OldCoupon(**{**base, **fields})

    return [
        # redeemed once: its one use is spent
        user("ALICE-USED", "alice", status="EXHAUSTED", current_total_uses=1),
        user(
            "BOB-FRESH",
            "bob",
            discount_type="PERCENTAGE",
            discount_value=Decimal("20.00"),
            max_discount_amount=Decimal("15.00"),
            min_order_value=Decimal("30.00"),
            description="Welcome back, Bob",
            created_by="support@example.com",
        ),
        user("CAROL-PAUSED", "carol", status="INACTIVE"),
        # 3 of 5 used, by alice once and bob twice (bob is at his limit of 2)
        timed("SPRING-OPEN", current_total_uses=3, max_discount_amount=Decimal("25.00")),
        timed(
            "FIVE-OFF-ANY",
            discount_type="FIXED",
            discount_value=Decimal("5.00"),
            max_total_uses=None,
            max_uses_per_user=3,
            current_total_uses=2,
            valid_until=LATEST,
        ),
        # written EXPIRED by the sweep; one use before it closed
        timed(
            "WINTER-OVER",
            status="EXPIRED",
            valid_from=now - 90 * DAY,
            valid_until=now - 60 * DAY,
            current_total_uses=1,
        ),
        # closed, but not yet written down: reads EXPIRED all the same
        timed("AUTUMN-CLOSED", valid_from=now - 90 * DAY, valid_until=now - DAY),
        # spent, but not yet written down: reads EXHAUSTED all the same
        timed("TWO-ONLY", max_total_uses=2, current_total_uses=2, max_uses_per_user=1),
        timed("SUMMER-LATER", valid_from=now + 10 * DAY, valid_until=now + 40 * DAY),
        timed(
            "PAUSED-SALE",
            status="INACTIVE",
            valid_until=now - DAY,
            max_total_uses=1,
            current_total_uses=1,
        ),
    ]


def old_usages(now: datetime) -> list[tuple[Any, ...]]:
    """(code, user, order, order value, discount, used at, ip address, user agent)."""
    return [
        ("ALICE-USED", "alice", "order-1", Decimal("80.00"), Decimal("10.00"), now - 5 * DAY,
         "203.0.113.7", "Shop/1.0 (iPhone)"),
        ("SPRING-OPEN", "alice", "order-2", Decimal("40.00"), Decimal("6.00"), now - 4 * DAY,
         "2001:db8::1", None),
        ("SPRING-OPEN", "bob", "order-3", Decimal("200.00"), Decimal("25.00"), now - 3 * DAY,
         None, "Shop/2.1"),
        ("SPRING-OPEN", "bob", "order-4", Decimal("19.99"), Decimal("3.00"), now - 2 * DAY,
         "198.51.100.23", "curl/8.0"),
        ("FIVE-OFF-ANY", "carol", "order-5", Decimal("4.50"), Decimal("4.50"), now - DAY,
         "::ffff:192.0.2.5", ""),
        ("FIVE-OFF-ANY", "dave", "order-6", Decimal("12.34"), Decimal("5.00"), now - DAY / 2,
         None, None),
        ("WINTER-OVER", "erin", "order-7", Decimal("60.00"), Decimal("9.00"), now - 70 * DAY,
         "192.0.2.1", "Shop/0.9"),
        ("TWO-ONLY", "frank", "order-8", Decimal("30.00"), Decimal("4.50"), now - 10 * DAY,
         None, None),
        ("TWO-ONLY", "grace", "order-9", Decimal("31.00"), Decimal("4.65"), now - 9 * DAY,
         "203.0.113.8", "Shop/1.0"),
        ("PAUSED-SALE", "heidi", "order-10", Decimal("10.00"), Decimal("1.50"), now - 8 * DAY,
         None, None),
    ]  # fmt: skip


def guess_counters(now: datetime) -> list[tuple[str, datetime, int]]:
    return [
        ("user:mallory", now - timedelta(seconds=20), 7),
        ("ip:198.51.100.66", now - timedelta(seconds=5), 11),
        ("user:old-guesser", now - 3 * DAY, 2),
    ]


Snapshot = dict[str, list[dict[str, Any]]]


def tables(db: Database) -> list[str]:
    rows = db.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        " AND tablename <> 'alembic_version'"
        # the job queue's own tables (migration 0006) hold no coupon data
        " AND tablename NOT LIKE 'procrastinate%' ORDER BY tablename"
    )
    return [row["tablename"] for row in rows]


def snapshot(db: Database) -> Snapshot:
    """Every row of every table, in primary key order (ORDER BY id, or subject)."""
    taken = {}
    for table in tables(db):
        key = db.value(
            "SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.n)"
            " FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, n), pg_attribute a"
            " WHERE i.indrelid = $1::regclass AND i.indisprimary"
            " AND a.attrelid = i.indrelid AND a.attnum = k.attnum",
            table,
        )
        # Names read from the catalog, quoted by PostgreSQL.
        rows = db.fetch(f"SELECT * FROM {table} ORDER BY {key}")  # noqa: S608
        taken[table] = [dict(row) for row in rows]
    return taken


def fill_at_0004(db: Database) -> datetime:
    """The coupons, usages and guessing counters of a shop running 0004; the fill's now()."""
    now: datetime = db.value("SELECT now()")
    for coupon in old_coupons(now):
        db.execute(INSERT_COUPON, *coupon.row())
    for usage in old_usages(now):
        db.execute(INSERT_USAGE, *usage)
    for subject, window_started, failures in guess_counters(now):
        db.execute(
            "INSERT INTO guess_counters (subject, window_started, failures) VALUES ($1, $2, $3)",
            subject,
            window_started,
            failures,
        )
    # the counters are the usages
    mismatched = db.fetch(
        "SELECT c.code FROM coupons c"
        " WHERE c.current_total_uses <> (SELECT count(*) FROM coupon_usages u"
        " WHERE u.coupon_id = c.id)"
    )
    assert mismatched == []
    return now


def stored_rule(coupon: dict[str, Any], now: datetime) -> str:
    """The effective status as the service computed it before 0005 (in Python)."""
    if coupon["status"] == "INACTIVE":
        return "INACTIVE"
    if coupon["status"] == "EXPIRED" or (
        coupon["valid_until"] is not None and now >= coupon["valid_until"]
    ):
        return "EXPIRED"
    if coupon["status"] == "EXHAUSTED" or (
        coupon["max_total_uses"] is not None
        and coupon["current_total_uses"] >= coupon["max_total_uses"]
    ):
        return "EXHAUSTED"
    return "ACTIVE"


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str:
    revision: str = db.value("SELECT version_num FROM alembic_version")
    return revision


@dataclass(frozen=True)
class Filled:
    db: Database
    url: str
    before: Snapshot  # at 0004
    now: datetime


@pytest.fixture
def filled_at_0004() -> Iterator[Filled]:
    """A throwaway database at 0004, filled; not yet upgraded."""
    with throwaway_database() as url:
        command.upgrade(alembic_config(url), "0004")
        db = Database(url)
        now = fill_at_0004(db)
        yield Filled(db, url, snapshot(db), now)


@pytest.fixture
def upgraded(filled_at_0004: Filled) -> Filled:
    upgrade_to_head(filled_at_0004.url)
    return filled_at_0004


# The redemption function's call, as the service makes it; its answer read flat.
REDEEM = """
    SELECT r.outcome, r.replayed, r.discount, r.final_amount, r.coupon_status,
           (r.usage).id AS usage_id, (r.usage).order_id AS usage_order_id,
           (r.coupon).current_total_uses AS current_total_uses
    FROM coupon_redeem('REDEEM', $1, $2, $3, $4, NULL, NULL, ARRAY['user:x'], 10,
                       interval '60 seconds', NULL) AS r
"""
ROLLBACK = """
    SELECT r.outcome, r.replayed, r.coupon_status, (r.usage).id AS usage_id,
           (r.usage).rolled_back_at AS rolled_back_at,
           (r.usage).rollback_reason AS rollback_reason,
           (r.coupon).current_total_uses AS current_total_uses,
           (r.coupon).rolled_back_uses AS rolled_back_uses, (r.coupon).status AS stored_status
    FROM coupon_rollback($1, $2) AS r
"""


def redeem(db: Database, code: str, user: str, order_id: str, value: Decimal) -> asyncpg.Record:
    rows = db.fetch(REDEEM, code, user, order_id, value)
    assert len(rows) == 1
    return rows[0]


def usage_of(before: Snapshot, order_id: str) -> dict[str, Any]:
    return next(u for u in before["coupon_usages"] if u["order_id"] == order_id)


def coupon_of(before: Snapshot, code: str) -> dict[str, Any]:
    return next(c for c in before["coupons"] if c["code"] == code)


# Upgrading


def test_the_upgrade_keeps_every_old_row_and_column_and_fills_new_columns_with_defaults(
    upgraded,
):
    # given the snapshot at 0004, and the database upgraded to head
    after = snapshot(upgraded.db)
    # then the old tables hold the same rows, their old columns unchanged
    assert current_revision(upgraded.db) == head_revision()
    for table, old_rows in upgraded.before.items():
        new_rows = after[table]
        assert len(new_rows) == len(old_rows), table
        for old, new in zip(old_rows, new_rows, strict=True):
            assert {name: new[name] for name in old} == old, table
            # and every column 0005 added holds its default
            assert {name: new[name] for name in new if name not in old} == NEW_COLUMNS[table]
    # and the new model's tables are there, empty
    assert set(after) == set(upgraded.before) | set(NEW_TABLES)
    assert {table: after[table] for table in NEW_TABLES} == {table: [] for table in NEW_TABLES}


def test_the_fill_has_every_shape_the_upgrade_must_keep(filled_at_0004):
    # the test above is only as good as the data it carries
    before = filled_at_0004.before
    assert {c["type"] for c in before["coupons"]} == {"USER_SPECIFIC", "TIME_SPECIFIC"}
    assert {c["status"] for c in before["coupons"]} == {
        "ACTIVE",
        "INACTIVE",
        "EXPIRED",
        "EXHAUSTED",
    }
    assert any(c["max_total_uses"] is None for c in before["coupons"])
    assert {u["ip_address"] is None for u in before["coupon_usages"]} == {True, False}
    assert {u["user_agent"] is None for u in before["coupon_usages"]} == {True, False}
    assert len(before["guess_counters"]) == 3


def test_each_old_coupon_reads_the_effective_status_the_old_rule_gave(upgraded):
    # when
    rows = upgraded.db.fetch(
        "SELECT c.id, coupon_status(c, k) AS status, now() AS now FROM coupons c"
        " LEFT JOIN campaigns k ON k.id = c.campaign_id"
    )
    # then
    now = rows[0]["now"]
    assert {row["id"]: row["status"] for row in rows} == {
        coupon["id"]: stored_rule(coupon, now) for coupon in upgraded.before["coupons"]
    }
    codes = {coupon["id"]: coupon["code"] for coupon in upgraded.before["coupons"]}
    assert {codes[row["id"]]: row["status"] for row in rows} == {
        "ALICE-USED": "EXHAUSTED",
        "BOB-FRESH": "ACTIVE",
        "CAROL-PAUSED": "INACTIVE",
        "SPRING-OPEN": "ACTIVE",
        "FIVE-OFF-ANY": "ACTIVE",
        "WINTER-OVER": "EXPIRED",
        "AUTUMN-CLOSED": "EXPIRED",
        "TWO-ONLY": "EXHAUSTED",
        "SUMMER-LATER": "ACTIVE",
        "PAUSED-SALE": "INACTIVE",
    }


def test_an_old_coupon_with_uses_left_redeems_through_the_new_function(upgraded):
    # when dave redeems SPRING-OPEN (3 of 5 used) on a new order
    answer = redeem(upgraded.db, "SPRING-OPEN", "dave", "order-new-1", Decimal("100.00"))
    # then: 15% of 100.00, capped at 25.00
    assert (answer["outcome"], answer["replayed"]) == ("OK", False)
    assert (answer["discount"], answer["final_amount"]) == (Decimal("15.00"), Decimal("85.00"))
    assert answer["usage_order_id"] == "order-new-1"
    assert answer["current_total_uses"] == 4
    assert answer["coupon_status"] == "ACTIVE"
    assert upgraded.db.value("SELECT count(*) FROM coupon_usages") == 11


def test_an_old_orders_retry_is_answered_with_its_old_usage(upgraded):
    # given order-3: bob's 200.00 order on SPRING-OPEN, before the upgrade
    old = usage_of(upgraded.before, "order-3")
    # when it is retried
    answer = redeem(upgraded.db, "SPRING-OPEN", "bob", "order-3", Decimal("200.00"))
    # then the old usage, unchanged, and no count moved
    assert (answer["outcome"], answer["replayed"]) == ("OK", True)
    assert answer["usage_id"] == old["id"]
    assert (answer["discount"], answer["final_amount"]) == (
        old["discount_applied"],
        old["final_amount"],
    )
    assert answer["current_total_uses"] == 3
    assert snapshot(upgraded.db)["coupon_usages"] == [
        {**usage, **NEW_COLUMNS["coupon_usages"]} for usage in upgraded.before["coupon_usages"]
    ]


def test_an_old_order_used_on_another_coupon_is_already_used(upgraded):
    # when order-1 (alice's, on ALICE-USED) is offered with another coupon
    answer = redeem(upgraded.db, "FIVE-OFF-ANY", "alice", "order-1", Decimal("80.00"))
    # then
    assert (answer["outcome"], answer["replayed"]) == ("ORDER_ALREADY_USED", False)
    assert answer["usage_id"] is None
    assert answer["current_total_uses"] == 2


def test_an_old_usage_rolls_back_and_gives_its_use_back(upgraded):
    # given ALICE-USED: alice's one use, spent on order-1 before the upgrade
    old = usage_of(upgraded.before, "order-1")
    # when order-1 is rolled back
    rows = upgraded.db.fetch(ROLLBACK, "order-1", "customer returned the goods")
    # then the old usage carries the rollback, and the use is back
    assert len(rows) == 1
    answer = rows[0]
    assert (answer["outcome"], answer["replayed"]) == ("OK", False)
    assert answer["usage_id"] == old["id"]
    assert answer["rolled_back_at"] is not None
    assert answer["rollback_reason"] == "customer returned the goods"
    assert (answer["current_total_uses"], answer["rolled_back_uses"]) == (0, 1)
    assert (answer["stored_status"], answer["coupon_status"]) == ("ACTIVE", "ACTIVE")
    # and what the usage recorded is untouched
    usage = upgraded.db.fetch("SELECT * FROM coupon_usages WHERE id = $1", old["id"])[0]
    assert {name: usage[name] for name in old} == old
    # and alice can use her coupon again, on the same order
    again = redeem(upgraded.db, "ALICE-USED", "alice", "order-1", Decimal("80.00"))
    assert (again["outcome"], again["replayed"]) == ("OK", False)
    assert again["usage_id"] != old["id"]
    assert again["current_total_uses"] == 1
    assert again["coupon_status"] == "EXHAUSTED"


# Downgrading


def test_the_downgrade_to_0004_restores_a_working_0004_schema(upgraded):
    # given a database at head with no campaigns and no rollbacks (one new redemption)
    redeem(upgraded.db, "FIVE-OFF-ANY", "ivan", "order-new-2", Decimal("20.00"))
    expected = snapshot(upgraded.db)
    # when
    command.downgrade(alembic_config(upgraded.url), "0004")
    # then the rows are kept, without 0005's columns and tables
    assert current_revision(upgraded.db) == "0004"
    after = snapshot(upgraded.db)
    assert set(after) == set(upgraded.before)
    for table, rows in after.items():
        assert rows == [
            {name: value for name, value in row.items() if name not in NEW_COLUMNS[table]}
            for row in expected[table]
        ], table
    # and an order is unique again, by 0001's constraint
    assert (
        upgraded.db.value(
            "SELECT count(*) FROM pg_constraint"
            " WHERE conname = 'uq_coupon_usages_order_id' AND contype = 'u'"
        )
        == 1
    )
    with pytest.raises(asyncpg.UniqueViolationError):
        upgraded.db.execute(
            INSERT_USAGE, "FIVE-OFF-ANY", "judy", "order-2", 10, 5, upgraded.now, None, None
        )
    # and 0003's redemption function works on the old coupons
    outcome = upgraded.db.value(
        "SELECT r_outcome FROM coupon_redeem('SPRING-OPEN', 'dave', 'order-new-3', 100.00,"
        " NULL, NULL, ARRAY['user:dave'], 10, interval '60 seconds', false)"
    )
    assert outcome == "OK"


def test_a_database_downgraded_to_0004_upgrades_again(upgraded):
    # given a database taken down to 0004 after running at head
    redeem(upgraded.db, "FIVE-OFF-ANY", "ivan", "order-new-2", Decimal("20.00"))
    command.downgrade(alembic_config(upgraded.url), "0004")
    kept = snapshot(upgraded.db)
    # when
    upgrade_to_head(upgraded.url)
    # then it is at head again, its rows kept
    assert current_revision(upgraded.db) == head_revision()
    after = snapshot(upgraded.db)
    for table, rows in kept.items():
        assert [{name: row[name] for name in rows[0]} for row in after[table]] == rows, table


def test_the_downgrade_is_refused_while_a_rollback_exists(upgraded):
    # given a rolled-back usage
    upgraded.db.fetch(ROLLBACK, "order-2", "refunded")
    kept = snapshot(upgraded.db)
    # when / then
    with pytest.raises(DBAPIError, match="campaigns or rollbacks exist"):
        command.downgrade(alembic_config(upgraded.url), "0004")
    # and nothing moved
    assert current_revision(upgraded.db) == head_revision()
    assert snapshot(upgraded.db) == kept


def test_the_downgrade_is_refused_while_a_campaign_exists(upgraded):
    # given a campaign, not even with codes
    upgraded.db.execute(
        "INSERT INTO campaigns (name, discount_type, discount_value)"
        " VALUES ('Spring', 'FIXED', 5.00)"
    )
    # when / then
    with pytest.raises(DBAPIError, match="campaigns or rollbacks exist"):
        command.downgrade(alembic_config(upgraded.url), "0004")
    assert current_revision(upgraded.db) == head_revision()
