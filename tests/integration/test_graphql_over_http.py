"""GraphQL-over-HTTP in full: every MUST and SHOULD the `graphql-http` audit checks, and
`application/graphql-response+json` as the contract gives it ("HTTP and GraphQL-over-HTTP":
served when the client accepts it, 400 for parse and validation failures with no `data`
entry; `application/json` stays the default)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

import httpx
import pytest

from tests.support.callers import API_KEYS, KEYS
from tests.support.factories import CREATE_USER_COUPON, user_coupon_input
from tests.support.node import node_tools, run_node
from tests.support.servers import ThreadServer, thread_server

GRAPHQL_RESPONSE = "application/graphql-response+json"
ACCEPT_NEW = {"accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"}
LOOKUP = "query Lookup($code: String!) { couponByCode(code: $code) { code status } }"


def audit(url: str, authorization: str | None = None) -> list[dict[str, str]]:
    folder = node_tools("graphql-http")
    output = run_node(folder / "audit.mjs", url, *([authorization] if authorization else []))
    return [json.loads(line) for line in output.splitlines()]


def not_ok(results: list[dict[str, str]]) -> list[dict[str, str]]:
    return [result for result in results if result["status"] != "ok"]


def test_the_audit_passes_every_check_with_no_warning(server):
    # when
    results = audit(f"{server.base_url}/graphql")

    # then: all of them, the 13 MUSTs and every SHOULD included
    assert len(results) > 50
    assert sum(result["name"].startswith("MUST") for result in results) >= 13
    assert not_ok(results) == []


@pytest.mark.parametrize("path", ["compiled", "executed"])
def test_the_audit_passes_for_a_storefront_on_either_answering_path(keyed_servers, path):
    results = audit(f"{keyed_servers[path].base_url}/graphql", f"Bearer {KEYS['storefront']}")
    assert not_ok(results) == []


def post(base_url: str, body: Mapping[str, object], **headers: str) -> httpx.Response:
    return httpx.post(f"{base_url}/graphql", json=body, headers=headers, timeout=30)


def assert_request_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    body = response.json()
    assert "data" not in body, body
    assert {error["extensions"]["code"] for error in body["errors"]} == {code}
    assert {error["extensions"]["requestId"] for error in body["errors"]} == {
        response.headers["x-request-id"]
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ couponByCode(code: "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "{ " + "a: __typename " * 21 + "}"}, "GRAPHQL_VALIDATION_FAILED"),  # aliases
        ({"query": LOOKUP, "variables": {}}, "BAD_USER_INPUT"),
        ({"query": LOOKUP, "variables": {"code": 12}}, "BAD_USER_INPUT"),
    ],
    ids=["parse", "validation", "a-limit", "missing-variable", "variable-of-another-type"],
)
def test_a_request_error_is_a_400_with_no_data_entry(gql, body, code):
    assert_request_error(post(gql.base_url, body, **ACCEPT_NEW), 400, code)


@pytest.mark.parametrize(
    "body",
    [{"query": "{ couponByCode(code: "}, {"query": "{ noSuchField }"}],
    ids=["parse", "validation"],
)
def test_in_application_json_a_request_error_stays_a_200_with_null_data(gql, body):
    # GraphQL-over-HTTP keeps the legacy type's 200 for clients that cannot read a 4xx.
    for headers in ({}, {"accept": "application/json"}, {"accept": "*/*"}):
        response = post(gql.base_url, body, **headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.json()["data"] is None


def test_an_answer_whose_execution_began_keeps_200_and_its_data(gql):
    # given
    coupon = gql(CREATE_USER_COUPON, {"input": user_coupon_input()})["createUserCoupon"]["coupon"]

    # when
    found = post(
        gql.base_url, {"query": LOOKUP, "variables": {"code": coupon["code"]}}, **ACCEPT_NEW
    )
    missing = post(gql.base_url, {"query": LOOKUP, "variables": {"code": "NONE"}}, **ACCEPT_NEW)

    # then
    for response in (found, missing):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert found.json() == {"data": {"couponByCode": {"code": coupon["code"], "status": "ACTIVE"}}}
    assert missing.json() == {"data": {"couponByCode": None}}


def test_a_field_error_keeps_the_data_entry(keyed_servers):
    # given: a storefront may read a coupon but not its usages
    admin = {"authorization": f"Bearer {KEYS['admin']}"}
    storefront = {"authorization": f"Bearer {KEYS['storefront']}", **ACCEPT_NEW}
    base_url = keyed_servers["executed"].base_url
    created = post(
        base_url,
        {"query": CREATE_USER_COUPON, "variables": {"input": user_coupon_input()}},
        **admin,
    )
    code = created.json()["data"]["createUserCoupon"]["coupon"]["code"]
    query = """query Q($c: String!) {
      couponByCode(code: $c) { code usages(first: 1) { edges { node { id } } } }
    }"""

    # when
    response = post(base_url, {"query": query, "variables": {"c": code}}, **storefront)

    # then
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    body = response.json()
    assert "data" in body
    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]


@pytest.mark.parametrize("path", ["compiled", "executed"])
def test_a_compiled_answer_is_written_in_the_type_asked_for(keyed_servers, path):
    storefront = {"authorization": f"Bearer {KEYS['storefront']}"}
    base_url = keyed_servers[path].base_url
    body = {"query": LOOKUP, "variables": {"code": "NOT-THERE"}}
    new = post(base_url, body, **storefront, **ACCEPT_NEW)
    old = post(base_url, body, **storefront)
    assert new.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert old.headers["content-type"] == "application/json"
    assert new.json() == old.json() == {"data": {"couponByCode": None}}


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"authorization": "Bearer wrong"}, 401, "UNAUTHENTICATED"),
        ({"content-type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
)
def test_refusals_before_graphql_are_in_the_type_asked_for_too(
    keyed_servers, headers, status, code
):
    response = httpx.post(
        f"{keyed_servers['executed'].base_url}/graphql",
        content=b'{"query": "{ __typename }"}',
        headers={
            "authorization": f"Bearer {KEYS['storefront']}",
            "content-type": "application/json",
            **ACCEPT_NEW,
            **headers,
        },
    )
    assert_request_error(response, status, code)


@pytest.fixture(scope="module")
def production(database_url: str) -> Iterator[ThreadServer]:
    with thread_server(database_url, env="production", api_keys=API_KEYS) as server:
        yield server


def test_introspection_refused_in_production_is_a_403_with_no_data(production):
    response = post(
        production.base_url,
        {"query": "{ __schema { queryType { name } } }"},
        authorization=f"Bearer {KEYS['storefront']}",
        **ACCEPT_NEW,
    )
    assert_request_error(response, 403, "FORBIDDEN")


@pytest.mark.parametrize(
    "lines",
    [
        ["application/json", GRAPHQL_RESPONSE],
        [GRAPHQL_RESPONSE, "application/json"],
        ["application/json;q=0.5", f"{GRAPHQL_RESPONSE};q=0.9"],
    ],
)
def test_several_accept_lines_are_one_list_and_one_choice(gql, lines):
    # given Accept over several lines (RFC 9110: one comma-separated list), in either order
    headers = [("accept", line) for line in lines] + [("content-type", "application/json")]

    # when
    response = httpx.post(
        f"{gql.base_url}/graphql", content=b'{"query": "{ noSuchField }"}', headers=headers
    )

    # then the type and the status agree: both the new type's
    assert_request_error(response, 400, "GRAPHQL_VALIDATION_FAILED")


def test_every_answer_says_it_varies_with_accept(gql):
    for headers in ({}, ACCEPT_NEW):
        response = post(gql.base_url, {"query": "{ __typename }"}, **headers)
        assert response.headers["vary"] == "Accept"
