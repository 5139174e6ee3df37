"""No row, however it got there, makes a read fail for everyone (contract, "Inputs").

Before migration 0004, a window end of 9999-12-31T23:59:59.999999Z was written as `infinity`
and read back as a naive datetime: the coupon's lookup, its redemption and every list that
held it answered INTERNAL_SERVER_ERROR. The migration brings such rows inside the range the
driver can read, and constraints keep every later row there.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import pytest
from alembic import command

from db.migrate import alembic_config, upgrade_to_head
from tests.support.database import Database, throwaway_database
from tests.support.graphql import GraphQLClient
from tests.support.servers import thread_server

POISONED = """
INSERT INTO coupons (code, type, discount_type, discount_value, valid_from, valid_until,
                     max_uses_per_user, max_total_uses)
VALUES ('FOREVER', 'TIME_SPECIFIC', 'FIXED', 5, now() - interval '1 day', 'infinity', 1, 10),
       ('ALWAYS', 'TIME_SPECIFIC', 'FIXED', 5, '-infinity', 'infinity', 1, 10),
       ('FAR-FUTURE', 'TIME_SPECIFIC', 'FIXED', 5, now() - interval '1 day',
        '12000-01-01 00:00:00+00', 1, 10),
       ('NORMAL', 'TIME_SPECIFIC', 'FIXED', 5, now() - interval '1 day',
        now() + interval '30 days', 1, 10)
"""
LATEST = "9999-12-31T23:59:59.999998+00:00"
EARLIEST = "0001-01-01T00:00:00.000001+00:00"
READS = """
query Reads($code: String!) {
  couponByCode(code: $code) { code validFrom validUntil status }
  activeCampaigns(first: 10) { totalCount edges { node { code } } }
}
"""
REDEEM = """
mutation Redeem($input: RedeemCouponInput!) {
  redeemCoupon(input: $input) { usage { orderId coupon { code validUntil } } errors { code } }
}
"""


@pytest.fixture(scope="module")
def migrated_from_0003() -> Iterator[str]:
    """A database that got the poisoned rows while it was at revision 0003, then migrated."""
    with throwaway_database() as url:
        command.upgrade(alembic_config(url), "0003")
        Database(url).execute(POISONED)
        upgrade_to_head(url)
        yield url


def test_the_migration_brings_unreadable_moments_inside_the_range(migrated_from_0003):
    # when
    rows = Database(migrated_from_0003).fetch(
        "SELECT code, valid_from, valid_until FROM coupons ORDER BY code"
    )
    # then every moment reads, and the open ends are as open as the range allows
    by_code = {row["code"]: row for row in rows}
    assert by_code["FOREVER"]["valid_until"].isoformat() == LATEST
    assert by_code["FAR-FUTURE"]["valid_until"].isoformat() == LATEST
    assert by_code["ALWAYS"]["valid_from"].isoformat() == EARLIEST
    assert by_code["ALWAYS"]["valid_until"].isoformat() == LATEST
    assert all(row["valid_until"].tzinfo is not None for row in rows)


def test_lookups_lists_and_redemptions_of_such_rows_answer(migrated_from_0003):
    with thread_server(migrated_from_0003) as server:
        gql = GraphQLClient(server.base_url)
        for code in ("FOREVER", "ALWAYS", "FAR-FUTURE", "NORMAL"):
            # when
            reads = gql(READS, {"code": code})
            redemption = gql(
                REDEEM,
                {"input": {"code": code, "userId": "u", "orderId": code, "orderValue": "20"}},
            )["redeemCoupon"]
            # then
            assert reads["couponByCode"]["code"] == code
            assert reads["couponByCode"]["status"] == "ACTIVE"
            assert reads["activeCampaigns"]["totalCount"] == 4
            assert redemption["errors"] == []
            assert redemption["usage"]["orderId"] == code
        gql.close()


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [
        ("now()", "'infinity'"),
        ("now()", "'12000-01-01 00:00:00+00'"),
        ("now()", "'9999-12-31 23:59:59.999999+00'"),
        ("'-infinity'", "now() + interval '1 day'"),
        ("'0001-01-01 00:00:00+00'", "now() + interval '1 day'"),
        ("'0001-12-31 00:00:00+00 BC'", "now() + interval '1 day'"),
    ],
)
def test_the_database_refuses_to_store_such_a_moment_directly(clean_db, valid_from, valid_until):
    # when a moment the driver cannot give back unchanged is written with SQL
    insert = (
        "INSERT INTO coupons (code, type, discount_type, discount_value, valid_from,"  # noqa: S608  # this test's own literals
        " valid_until, max_uses_per_user) VALUES ('DIRECT', 'TIME_SPECIFIC', 'FIXED', 5,"
        f" {valid_from}, {valid_until}, 1)"
    )
    # then
    with pytest.raises(asyncpg.CheckViolationError):
        clean_db.execute(insert)
    assert clean_db.value("SELECT count(*) FROM coupons") == 0
