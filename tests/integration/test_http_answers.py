"""Every answer the service writes, at every status, is JSON in the GraphQL error shape.

Contract, "HTTP and GraphQL-over-HTTP": whatever the status (400, 401, 404, 405, 413, 415,
500, 503), the body is `{"errors": [{"message", "extensions": {"code", "requestId"}}]}` and
`X-Request-ID` carries the same id. A body that is JSON but not an object is a 400. A
document with several operations and no `operationName`, or an unknown `operationName`,
is a 400 and runs nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from starlette.routing import Route

from graphql_api.app import create_app
from graphql_api.settings import Settings
from tests.support.factories import CREATE_USER_COUPON, user_coupon_input
from tests.support.graphql import assert_error_answer, top_errors
from tests.support.servers import ThreadServer, thread_server

TWO_QUERIES = "query A { a: __typename } query B { b: __typename }"
TWO_MUTATIONS = """
mutation First { createUserCoupon(input: {userId: "first", discountType: FIXED,
  discountValue: "1"}) { errors { code } } }
mutation Second { createUserCoupon(input: {userId: "second", discountType: FIXED,
  discountValue: "1"}) { errors { code } } }
"""


def post_raw(gql, body: bytes, content_type: str = "application/json") -> httpx.Response:
    response: httpx.Response = gql.http.post(
        "/graphql", content=body, headers={"content-type": content_type}
    )
    return response


# --- 400: a request the service will not run ---


@pytest.mark.parametrize(
    "body", [b"null", b"123", b'"x"', b"true", b"12.5", b"[]"], ids=lambda b: b.decode()
)
def test_a_json_body_that_is_not_an_object_is_a_400(gql, body):
    assert_error_answer(post_raw(gql, body), 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    "body",
    [
        b'[{"query": "{ __typename }"}]',
        b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]',
    ],
)
def test_a_batch_is_a_400_that_says_so(gql, body):
    error = assert_error_answer(post_raw(gql, body), 400, "BAD_REQUEST")
    assert "one operation" in error["message"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"query": "{ __typename }", "variables": {"x": NaN}}', b"\xff\xfe\x00"],
    ids=["syntax", "NaN", "not utf-8"],
)
def test_malformed_json_is_a_400_in_the_error_shape(gql, body):
    assert_error_answer(post_raw(gql, body), 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    "payload",
    [
        {"query": 42},
        {"query": "{ __typename }", "variables": "nope"},
        {"query": "{ __typename }", "extensions": 7},
        {},
        {"query": None},
        {"query": "{ __typename }", "operationName": 5},
    ],
    ids=["query not a string", "variables", "extensions", "no query", "null query", "name"],
)
def test_a_request_object_of_the_wrong_shape_is_a_400(gql, payload):
    assert_error_answer(gql.http.post("/graphql", json=payload), 400, "BAD_REQUEST")


def test_several_operations_without_an_operation_name_run_nothing(gql, db):
    # when: two queries, then two mutations, with no operationName
    for document in (TWO_QUERIES, TWO_MUTATIONS):
        response = gql.post(document)
        # then
        error = assert_error_answer(response, 400, "BAD_REQUEST")
        assert "operationName" in error["message"]
    assert db.value("SELECT count(*) FROM coupons") == 0


@pytest.mark.parametrize("name", ["Third", "first", ""])
def test_an_operation_name_the_document_lacks_runs_nothing(gql, db, name):
    # when
    response = gql.post(TWO_MUTATIONS, operation_name=name)
    # then
    assert_error_answer(response, 400, "BAD_REQUEST")
    assert db.value("SELECT count(*) FROM coupons") == 0


def test_an_operation_name_on_a_one_operation_document_must_match_it(gql):
    response = gql.post("query Only { __typename }", operation_name="Other")
    assert_error_answer(response, 400, "BAD_REQUEST")


def test_the_named_operation_of_several_is_the_one_that_runs(gql, db):
    # when
    queries = gql.post(TWO_QUERIES, operation_name="B")
    mutations = gql.post(TWO_MUTATIONS, operation_name="Second")
    # then
    assert queries.json() == {"data": {"b": "Query"}}
    assert mutations.json() == {"data": {"createUserCoupon": {"errors": []}}}
    assert [r["user_id"] for r in db.fetch("SELECT user_id FROM coupons")] == ["second"]


def test_a_single_anonymous_operation_needs_no_name(gql):
    assert gql.post("{ __typename }").json() == {"data": {"__typename": "Query"}}


# --- 404, 405, 413, 415 ---


@pytest.mark.parametrize("path", ["/nope", "/graphiql", "/health/x", "/metrics.txt"])
def test_an_unknown_path_is_a_404_pointing_to_graphql(gql, path):
    error = assert_error_answer(gql.http.get(path), 404, "NOT_FOUND")
    assert "/graphql" in error["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/graphql"), ("DELETE", "/graphql"), ("POST", "/health"), ("POST", "/metrics")],
)
def test_a_method_a_route_does_not_take_is_a_405_with_allow(gql, method, path):
    response = gql.http.request(method, path)
    assert_error_answer(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def test_graphql_allows_get_and_post_whichever_layer_refuses(gql, method):
    response = gql.http.request(method, "/graphql")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


@pytest.mark.parametrize("accept", ["*/*", "application/json", ""])
def test_a_get_without_a_query_is_an_error_unless_a_browser_asks_for_html(gql, accept):
    # curl and fetch send */*: their GET whose query went missing gets its error, not a page
    response = gql.http.get("/graphql", params={"variables": "{}"}, headers={"accept": accept})
    assert_error_answer(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize("parameter", ["variables", "extensions"])
def test_a_get_parameter_that_is_not_json_says_which_kind_of_fault(gql, parameter):
    response = gql.http.get("/graphql", params={"query": "{ __typename }", parameter: "{not json"})
    error = assert_error_answer(response, 400, "BAD_REQUEST")
    assert f"The {parameter} parameter must be a JSON object" in error["message"]


def test_a_mutation_over_get_is_a_405_and_writes_nothing(gql, db):
    # when
    response = gql.http.get(
        "/graphql",
        params={"query": TWO_MUTATIONS, "operationName": "First"},
    )
    # then
    assert_error_answer(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"
    assert db.value("SELECT count(*) FROM coupons") == 0


def test_a_query_over_get_still_runs(gql):
    response = gql.http.get("/graphql", params={"query": TWO_QUERIES, "operationName": "A"})
    assert response.json() == {"data": {"a": "Query"}}


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/graphql",
        "multipart/form-data",
    ],
)
def test_a_body_that_is_not_json_is_a_415(gql, db, content_type):
    create = {"query": CREATE_USER_COUPON, "variables": {"input": user_coupon_input()}}
    response = post_raw(gql, json.dumps(create).encode(), content_type)
    assert_error_answer(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert db.value("SELECT count(*) FROM coupons") == 0


def test_json_with_a_charset_is_json(gql):
    response = post_raw(gql, b'{"query": "{ __typename }"}', "application/json; charset=utf-8")
    assert response.json() == {"data": {"__typename": "Query"}}


def test_a_body_over_the_limit_is_a_413_in_the_error_shape(gql):
    response = post_raw(gql, b'{"query": "' + b" " * (1024 * 1024) + b'{ __typename }"}')
    assert_error_answer(response, 413, "PAYLOAD_TOO_LARGE")


# --- where to go ---


def test_the_root_points_clients_to_the_endpoints(gql):
    response = gql.http.get("/")
    assert response.status_code == 200
    assert response.json() == {
        "graphql": "/graphql",
        "exports": ["/exports/codes.csv", "/exports/usages.csv"],
        "health": "/health",
        "metrics": "/metrics",
    }


def test_the_root_sends_a_browser_to_graphiql(gql):
    response = gql.http.get("/", headers={"accept": "text/html"})
    assert response.status_code == 307
    assert response.headers["location"] == "/graphql"


@pytest.fixture(scope="module")
def production(database_url: str) -> Iterator[ThreadServer]:
    with thread_server(database_url, env="production", api_keys="admin:root-test-key") as server:
        yield server


def test_in_production_the_root_points_nowhere(production):
    response = httpx.get(f"{production.base_url}/", headers={"accept": "text/html"})
    assert_error_answer(response, 404, "NOT_FOUND")


def test_in_production_graphiql_is_a_404_in_the_error_shape(production):
    response = httpx.get(
        f"{production.base_url}/graphql",
        headers={"accept": "text/html", "authorization": "Bearer root-test-key"},
    )
    assert_error_answer(response, 404, "NOT_FOUND")


# --- 500 and 503 ---


def test_an_unhandled_error_is_a_json_500_with_the_request_id_in_the_log(database_url, caplog):
    # given the service's own app, with one route that fails in a way nothing handles
    async def broken(_):
        raise RuntimeError("secret internals")

    app = create_app(Settings(database_url=database_url))
    app.router.routes.append(Route("/broken", broken))

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
            return await client.get("/broken", headers={"X-Request-ID": "broken-1"})

    # when
    response = asyncio.run(call())
    # then
    error = assert_error_answer(response, 500, "INTERNAL_SERVER_ERROR")
    assert "secret" not in response.text
    assert error["extensions"]["requestId"] == "broken-1"
    assert any(getattr(r, "request_id", None) == "broken-1" for r in caplog.records)
    assert "secret internals" in caplog.text


def test_a_failing_health_check_is_a_503_in_the_error_shape_too(database_url):
    # given a service whose database does not exist
    gone = database_url.rsplit("/", 1)[0] + "/coupons_no_such_database"
    app = create_app(Settings(database_url=gone))

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
            return await client.get("/health")

    # when
    response = asyncio.run(call())
    # then the contract's health body, and the error shape beside it
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["errors"] == [
        {
            "message": body["errors"][0]["message"],
            "extensions": {
                "code": "SERVICE_UNAVAILABLE",
                "requestId": response.headers["x-request-id"],
            },
        }
    ]


# --- every GraphQL error names its code and the request ---


@pytest.mark.parametrize(
    ("document", "variables", "code"),
    [
        ("{ couponByCode(code: ", None, "GRAPHQL_PARSE_FAILED"),
        ("{ " + "__typename " * 2001 + "}", None, "GRAPHQL_PARSE_FAILED"),  # the token limit
        ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("{ couponByCode { code } }", None, "GRAPHQL_VALIDATION_FAILED"),  # missing argument
        (
            "{ " + " ".join(f"a{n}: __typename" for n in range(21)) + " }",
            None,
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "query($first: Int) { activeCampaigns(first: $first) { totalCount } }",
            {"first": "ten"},
            "BAD_USER_INPUT",
        ),
        ("{ activeCampaigns(first: 500) { totalCount } }", None, "INVALID_INPUT"),
    ],
    ids=["syntax", "tokens", "unknown field", "missing argument", "aliases", "variable", "page"],
)
def test_every_graphql_error_names_its_code_and_the_request(gql, document, variables, code):
    # when
    response = gql.post(document, variables, headers={"X-Request-ID": "coded-1"})
    # then (top_errors also checks that each error carries the request id)
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert {error["extensions"]["code"] for error in top_errors(response)} == {code}
