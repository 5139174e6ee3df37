"""/metrics in Prometheus format, one JSON log line per request, X-Request-ID echoed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.factories import REDEEM_COUPON, create_timed_coupon, redeem
from tests.support.servers import ProcessServer, process_server

SECRET_KEY = "s3cret-admin-key-never-logged"


def samples(base_url: str) -> dict[tuple[str, tuple], float]:
    response = httpx.get(f"{base_url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_outcomes_latency_and_redemptions(gql, server):
    # given
    create_timed_coupon(gql, code="METRIC", maxUsesPerUser=1)
    before = samples(server.base_url)
    # when
    redeem(gql, code="METRIC", userId="a", orderId="m1", orderValue="10")
    redeem(gql, code="METRIC", userId="a", orderId="m1", orderValue="10")  # a retry
    redeem(gql, code="METRIC", userId="a", orderId="m2", orderValue="10")  # over the limit
    redeem(gql, code="NO-SUCH", userId="b", orderId="m3", orderValue="10")
    after = samples(server.base_url)

    # then
    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "coupons_graphql_requests_total"
    assert grew(requests, operation="redeemCoupon", outcome="ok") == 2
    assert grew(requests, operation="redeemCoupon", outcome="refused") == 2
    redemptions = "coupons_redemptions_total"
    assert grew(redemptions, result="OK") == 1
    assert grew(redemptions, result="REPLAYED") == 1
    assert grew(redemptions, result="USER_LIMIT_REACHED") == 1
    assert grew(redemptions, result="NOT_FOUND") == 1
    latency = "coupons_graphql_request_duration_seconds_count"
    assert grew(latency, operation="redeemCoupon") == 4
    assert ("coupons_db_pool_connections_in_use", ()) in after


def test_made_up_field_names_never_become_metric_labels(gql, server):
    # given
    before = samples(server.base_url)
    # when documents that do not parse or validate name fields nobody has
    for n in range(5):
        gql.post(f"{{ madeUp{n} }}")
        gql.post(f"{{ madeUp{n}(")
        gql.post(f"query($v: Int!) {{ madeUp{n}(first: $v) }}", {"v": "x"})
    after = samples(server.base_url)
    # then they are counted under one label, and no label names them
    requests = "coupons_graphql_requests_total"
    grown = value(after, requests, operation="invalid", outcome="invalid_request") - value(
        before, requests, operation="invalid", outcome="invalid_request"
    )
    assert grown == 15
    assert not [key for key in after if "madeUp" in str(key)]


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[ProcessServer]:
    env = {"DATABASE_URL": database_url, "COUPONS_API_KEYS": f"admin:{SECRET_KEY}"}
    with process_server(env, "--workers", "2") as server:
        yield server


def log_entries(server: ProcessServer) -> list[dict]:
    return [json.loads(line) for line in server.log_lines()]  # every line is JSON


def request_lines(server: ProcessServer, request_id: str) -> list[dict]:
    """The log lines of a request; the line is written just after the response is sent."""
    deadline = time.monotonic() + 5
    while True:
        lines = [e for e in log_entries(server) if e.get("request_id") == request_id]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_one_json_log_line_per_request_with_its_id_and_no_secrets(clean_db, served):
    # when
    started = time.monotonic()
    response = httpx.post(
        f"{served.base_url}/graphql",
        json={
            "query": REDEEM_COUPON,
            "operationName": "RedeemCoupon",
            "variables": {
                "input": {"code": "NONE", "userId": "u", "orderId": "o", "orderValue": "5"}
            },
        },
        headers={"Authorization": f"Bearer {SECRET_KEY}", "X-Request-ID": "trace-abc-123"},
        timeout=10,
    )
    round_trip_ms = (time.monotonic() - started) * 1000
    # then the id is echoed
    assert response.headers["x-request-id"] == "trace-abc-123"
    # and the log has exactly one line for the request, with what an operator needs
    lines = request_lines(served, "trace-abc-123")
    assert len(lines) == 1, lines
    line = lines[0]
    assert line["operation"] == "RedeemCoupon"
    assert line["root_fields"] == "redeemCoupon"
    assert line["outcome"] == "refused"
    assert line["status"] == 200
    assert line["role"] == "admin"  # the key's role, never the key
    # the time spent serving it, in milliseconds: within the client's round trip
    assert 0 < line["duration_ms"] <= round_trip_ms
    assert SECRET_KEY not in served.log_path.read_text()


def test_unauthenticated_requests_are_logged_too(served):
    httpx.post(
        f"{served.base_url}/graphql",
        json={"query": "{ __typename }"},
        headers={"X-Request-ID": "no-key-1"},
        timeout=10,
    )
    lines = request_lines(served, "no-key-1")
    assert [(line["status"], line["outcome"]) for line in lines] == [(401, "unauthenticated")]


def test_metrics_add_up_across_workers(clean_db, served):
    # given
    headers = {"Authorization": f"Bearer {SECRET_KEY}"}
    before = samples(served.base_url)
    # when 30 requests are spread over the two workers
    with httpx.Client(base_url=served.base_url, headers=headers, timeout=10) as client:
        for _ in range(30):
            client.post("/graphql", json={"query": '{ couponByCode(code: "X-1") { code } }'})
    after = samples(served.base_url)
    # then /metrics, whichever worker answers, counts all 30
    name, labels = "coupons_graphql_requests_total", {"operation": "couponByCode", "outcome": "ok"}
    assert value(after, name, **labels) - value(before, name, **labels) == 30


def test_log_lines_carry_nothing_meant_for_a_terminal(served):
    # given uvicorn's start-up lines, which come with a coloured copy of their message
    entries = log_entries(served)
    assert any(e["message"].startswith("Started parent process") for e in entries)
    # then no line has the copy, nor any escape code
    assert [e for e in entries if "color_message" in e] == []
    text = served.log_path.read_text()
    assert "\x1b" not in text
    assert "\\u001b" not in text
