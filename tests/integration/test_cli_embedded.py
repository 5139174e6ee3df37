"""`coupons serve` with no DATABASE_URL: a real PostgreSQL of its own, kept across restarts."""

from __future__ import annotations

import signal

import httpx

from tests.support.servers import process_server

CREATE = """mutation { createTimedCoupon(input: {code: "EMBEDDED", discountType: FIXED,
  discountValue: "5", validFrom: "2020-01-01", validUntil: "2100-01-01", maxUsesPerUser: 1}) {
  coupon { code } errors { code } } }"""
LOOKUP = '{ couponByCode(code: "embedded") { code discountValue } }'


def post(base_url: str, query: str) -> dict:
    response = httpx.post(f"{base_url}/graphql", json={"query": query}, timeout=30)
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


def test_embedded_database_starts_keeps_data_and_stops(tmp_path):
    env = {"COUPONS_DATA_DIR": str(tmp_path / "data")}
    pgdata = tmp_path / "data" / "pgdata"

    # given a first run that creates a coupon
    with process_server(env, unset=("DATABASE_URL",)) as server:
        assert post(server.base_url, CREATE)["data"]["createTimedCoupon"]["errors"] == []
        assert (pgdata / "postmaster.pid").exists()
        # when it is asked to stop
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=40) == 0
    # then the embedded server stopped with it
    assert not (pgdata / "postmaster.pid").exists()

    # and a second run finds the coupon again
    with process_server(env, unset=("DATABASE_URL",)) as server:
        assert post(server.base_url, LOOKUP)["data"]["couponByCode"] == {
            "code": "EMBEDDED",
            "discountValue": "5.00",
        }
