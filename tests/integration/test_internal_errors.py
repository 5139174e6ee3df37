"""An unexpected failure answers a masked error with a request id, and changes nothing."""

from __future__ import annotations

import logging

import pytest

from tests.support.factories import REDEEM_COUPON, create_timed_coupon

FAULT = """
CREATE FUNCTION test_fault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'secret internals: table coupon_usages'; END $$;
CREATE TRIGGER test_fault BEFORE INSERT ON coupon_usages
    FOR EACH ROW EXECUTE FUNCTION test_fault();
"""


@pytest.fixture
def failing_inserts(db):
    db.execute(FAULT)
    yield
    db.execute("DROP TRIGGER test_fault ON coupon_usages; DROP FUNCTION test_fault();")


def test_a_database_fault_is_masked_and_logged_with_the_request_id(
    gql, db, failing_inserts, caplog
):
    # given a coupon whose usage insert will fail inside PostgreSQL
    create_timed_coupon(gql, code="FAULTY")
    variables = {"input": {"code": "FAULTY", "userId": "u", "orderId": "o", "orderValue": "10"}}
    # when
    with caplog.at_level(logging.ERROR, logger="graphql_api.errors"):
        response = gql.post(REDEEM_COUPON, variables, headers={"X-Request-ID": "fault-42"})
    # then the client learns nothing of the internals
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "Internal server error",
            "locations": body["errors"][0]["locations"],
            "path": ["redeemCoupon"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "fault-42"},
        }
    ]
    assert "secret" not in response.text
    assert "coupon_usages" not in response.text
    # and the log line has the same id and the real cause
    records = [r for r in caplog.records if getattr(r, "request_id", None) == "fault-42"]
    assert records
    assert "secret internals" in caplog.text
    # and nothing was written
    assert db.value("select current_total_uses from coupons") == 0
    assert db.value("select count(*) from coupon_usages") == 0
