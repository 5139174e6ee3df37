"""The HTTP surface: /graphql over POST and GET, /health, and bad requests that are not 5xx."""

from __future__ import annotations

import httpx
import pytest


def test_health_answers_when_the_database_does(server):
    response = httpx.get(f"{server.base_url}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


def test_graphiql_is_served_to_browsers(server):
    response = httpx.get(f"{server.base_url}/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


def test_queries_work_over_get_as_graphiql_sends_them(gql, server):
    response = httpx.get(
        f"{server.base_url}/graphql",
        params={
            "query": "query($c: String!) { couponByCode(code: $c) { code } }",
            "variables": '{"c": "NOPE"}',
        },
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"couponByCode": None}}


def test_mutations_are_refused_over_get(gql, server, db):
    response = httpx.get(
        f"{server.base_url}/graphql",
        params={
            "query": 'mutation { createUserCoupon(input: {userId: "u", '
            'discountType: FIXED, discountValue: "1"}) { errors { code } } }'
        },
    )
    assert response.status_code in (400, 405)
    assert db.value("select count(*) from coupons") == 0


def test_a_request_id_is_made_or_echoed(server):
    query = {"query": "{ __typename }"}
    made = httpx.post(f"{server.base_url}/graphql", json=query)
    assert len(made.headers["x-request-id"]) >= 16
    echoed = httpx.post(
        f"{server.base_url}/graphql", json=query, headers={"X-Request-ID": "req-123"}
    )
    assert echoed.headers["x-request-id"] == "req-123"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"query": "{ __typename }", "variables": {"x": NaN}}',
        b'{"query": "{ __typename }", "variables": {"x": Infinity}}',
        b"\xff\xfe\x00garbage",
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["syntax", "NaN", "Infinity", "not utf-8", "deep nesting"],
)
def test_malformed_json_is_a_400(server, body):
    response = httpx.post(
        f"{server.base_url}/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"query": 42},
        {"query": "{ __typename }", "variables": "nope"},
        {"query": "{ nope }"},
        {"query": "{"},
        {"query": "query { couponByCode(code: 5) { code } }"},
        {"query": '{ activeCampaigns(first: "ten") { totalCount } }'},
        {"query": 'mutation { redeemCoupon(input: {code: "X"}) { errors { code } } }'},
        {
            "query": 'mutation($v: Decimal!) { redeemCoupon(input: {code: "X", userId: "u", '
            'orderId: "o", orderValue: $v}) { errors { code } } }',
            "variables": {"v": "abc"},
        },
        {
            "query": 'mutation($v: Decimal!) { redeemCoupon(input: {code: "X", userId: "u", '
            'orderId: "o", orderValue: $v}) { errors { code } } }',
            "variables": {"v": True},
        },
        {"query": '{ userCoupons(userId: "u", first: 99999999999) { totalCount } }'},
        {
            "query": "mutation { createTimedCoupon(input: {discountType: FIXED, "
            'discountValue: 1, validFrom: "yesterday", validUntil: "2030-01-01", '
            "maxUsesPerUser: 1}) { errors { code } } }"
        },
    ],
)
def test_client_mistakes_are_never_a_5xx(gql, db, payload):
    response = gql.http.post("/graphql", json=payload)
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    assert db.value("select count(*) from coupons") == 0


def test_graphql_type_errors_are_top_level_errors(gql):
    errors = gql.errors('{ activeCampaigns(first: "ten") { totalCount } }')
    assert "Int cannot represent" in errors[0]["message"]
