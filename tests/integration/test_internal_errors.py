"""An unexpected failure answers a masked error with a request id, and changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.support.factories import REDEEM_COUPON, create_timed_coupon
from tests.support.graphql import GraphQLClient
from tests.support.servers import ThreadServer, thread_server

FAULT = """
CREATE SEQUENCE test_fault_attempts;
CREATE FUNCTION test_fault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('test_fault_attempts');  -- not rolled back: counts every attempt
    RAISE EXCEPTION 'secret internals: table coupon_usages';
END $$;
CREATE TRIGGER test_fault BEFORE INSERT ON coupon_usages
    FOR EACH ROW EXECUTE FUNCTION test_fault();
"""


@pytest.fixture
def failing_inserts(db):
    db.execute(FAULT)
    yield
    db.execute(
        "DROP TRIGGER test_fault ON coupon_usages; DROP FUNCTION test_fault();"
        " DROP SEQUENCE test_fault_attempts;"
    )


@pytest.fixture(scope="module")
def executed(database_url: str) -> Iterator[ThreadServer]:
    with thread_server(database_url, compiled_operations=False) as running:
        yield running


@pytest.fixture(params=["compiled", "executed"])
def client(request, gql, executed) -> Iterator[GraphQLClient]:
    """A client of the compiled path (the default server) or of GraphQL execution."""
    chosen = gql if request.param == "compiled" else GraphQLClient(executed.base_url)
    yield chosen
    if chosen is not gql:
        chosen.close()


def test_a_database_fault_is_masked_and_logged_with_the_request_id(
    gql, client, db, failing_inserts, caplog
):
    # given a coupon whose usage insert will fail inside PostgreSQL
    create_timed_coupon(gql, code="FAULTY")
    variables = {"input": {"code": "FAULTY", "userId": "u", "orderId": "o", "orderValue": "10"}}
    # when
    with caplog.at_level(logging.ERROR, logger="graphql_api.errors"):
        response = client.post(REDEEM_COUPON, variables, headers={"X-Request-ID": "fault-42"})
    # then the client learns nothing of the internals
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "Internal server error",
            "locations": [{"line": 3, "column": 3}],  # redeemCoupon in REDEEM_COUPON
            "path": ["redeemCoupon"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "fault-42"},
        }
    ]
    assert "secret" not in response.text
    assert "coupon_usages" not in response.text
    # and the log line has the same id and the real cause
    records = [r for r in caplog.records if getattr(r, "request_id", None) == "fault-42"]
    assert [r.levelname for r in records] == ["ERROR"]  # one line: it ran once, and said so
    assert "secret internals" in caplog.text
    # and the redemption was attempted once, not once more by another path
    assert db.value("select last_value from test_fault_attempts") == 1
    # and nothing was written
    assert db.value("select current_total_uses from coupons") == 0
    assert db.value("select count(*) from coupon_usages") == 0
