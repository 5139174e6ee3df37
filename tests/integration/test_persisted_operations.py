"""Automatic persisted queries over real HTTP, request by request as Apollo Client sends them:
the hash alone, PERSISTED_QUERY_NOT_FOUND, the hash with the document, then the hash alone
runs. Allow-list mode: test_persisted_allow_list.py; real clients and build tools:
test_persisted_clients.py."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from graphql_api.schema.compiled import Plan
from tests.support.callers import API_KEYS, KEYS
from tests.support.factories import create_timed_coupon
from tests.support.graphql import assert_error_answer
from tests.support.persisted import (
    LOOKUP,
    NO_CACHE,
    REDEEM,
    by_hash,
    compiled_plans,
    data,
    get,
    headers_of,
    post,
    requests_counted,
    sha256,
)
from tests.support.servers import REPO, ThreadServer, process_server, thread_server

CODE = "PERSIST-5"
VARIABLES = {"code": CODE}
EXPECTED = {"couponByCode": {"code": CODE, "status": "ACTIVE", "discountValue": "5.00"}}


@pytest.fixture
def apq(database_url: str) -> Iterator[ThreadServer]:
    """A fresh worker with API keys: it knows no hash yet."""
    with thread_server(database_url, api_keys=API_KEYS) as server:
        yield server


@pytest.fixture
def coupon(gql) -> dict[str, Any]:
    return create_timed_coupon(gql, code=CODE, discountType="FIXED", discountValue="5")


def assert_not_found(response: httpx.Response) -> None:
    """Apollo Server's answer to an unknown hash, which APQ clients retry on: HTTP 200,
    never cached, Apollo's message and code."""
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == NO_CACHE
    assert response.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {
                    "code": "PERSISTED_QUERY_NOT_FOUND",
                    "requestId": response.headers["x-request-id"],
                },
            }
        ]
    }


def test_a_hash_runs_once_its_document_was_sent_over_post(coupon, apq):
    # given
    hashed = {"operationName": "PersistedLookup", "variables": VARIABLES, **by_hash(sha256(LOOKUP))}
    not_found_before = requests_counted(apq, "persisted_query_not_found")
    # when the client sends the hash alone
    first = post(apq, hashed)
    # then the service does not know it, and counts the miss
    assert_not_found(first)
    assert requests_counted(apq, "persisted_query_not_found") == not_found_before + 1
    # when the client sends it again with the document
    registered = post(apq, {**hashed, "query": LOOKUP})
    # then the document runs
    assert data(registered) == EXPECTED
    # and from then on the hash alone runs it
    assert data(post(apq, hashed)) == EXPECTED
    assert data(post(apq, {**hashed, "variables": {"code": "NO-SUCH"}})) == {"couponByCode": None}


def test_a_hash_runs_once_its_document_was_sent_over_get(coupon, apq):
    # given Apollo Client's useGETForHashedQueries: the hash alone over GET
    hashed = {"operationName": "PersistedLookup", "variables": VARIABLES, **by_hash(sha256(LOOKUP))}
    # when
    first = get(apq, hashed)
    # then
    assert_not_found(first)
    # when the client sends the document, by POST as Apollo Client does
    assert data(post(apq, {**hashed, "query": LOOKUP})) == EXPECTED
    # then the hash alone runs over GET, where a CDN may cache it
    again = get(apq, hashed)
    assert data(again) == EXPECTED
    assert "cache-control" not in again.headers


def test_a_client_of_graphql_response_json_gets_the_same_answers_in_its_type(coupon, apq):
    # given a client that prefers GraphQL-over-HTTP's media type, as Apollo Client 4 does
    accept = {"accept": "application/graphql-response+json,application/json;q=0.9"}
    hashed = {"variables": VARIABLES, **by_hash(sha256(LOOKUP))}
    # when
    missing = post(apq, hashed, **accept)
    mismatched = post(apq, {**hashed, "query": LOOKUP + " "}, **accept)
    # then in its type; the miss keeps Apollo Server's 200, on which clients resend
    for answer, status in ((missing, 200), (mismatched, 400)):
        assert answer.status_code == status
        assert answer.headers["content-type"].startswith("application/graphql-response+json")
        assert "data" not in answer.json()
    assert missing.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_a_persisted_mutation_is_never_run_over_get(coupon, apq, clean_db):
    # given a redemption registered by POST
    redemption = {"code": CODE, "userId": "u1", "orderId": "pq-get-1", "orderValue": "20"}
    hashed = by_hash(sha256(REDEEM))
    registered = post(apq, {"query": REDEEM, "variables": {"input": redemption}, **hashed})
    assert data(registered)["redeemCoupon"]["errors"] == []
    # when its hash comes over GET, with another order
    over_get = get(apq, {"variables": {"input": {**redemption, "orderId": "pq-get-2"}}, **hashed})
    # then it is refused as any mutation over GET is, and nothing is written
    assert_error_answer(over_get, 405, "METHOD_NOT_ALLOWED")
    assert over_get.headers["allow"] == "POST"
    orders = clean_db.fetch("SELECT order_id FROM coupon_usages ORDER BY order_id")
    assert [row["order_id"] for row in orders] == ["pq-get-1"]


def test_a_hash_that_is_not_its_documents_is_refused_and_registers_nothing(coupon, apq):
    # given a document sent with another document's hash
    other = LOOKUP.replace("discountValue", "type")
    # when
    mismatched = post(apq, {"query": other, "variables": VARIABLES, **by_hash(sha256(LOOKUP))})
    # then it is a request error, and it ran nothing
    error = assert_error_answer(mismatched, 400, "PERSISTED_QUERY_HASH_MISMATCH")
    assert (
        error["message"] == "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query"
    )
    # and neither hash now names a document: no one can plant a document under a hash
    assert_not_found(post(apq, {"variables": VARIABLES, **by_hash(sha256(LOOKUP))}))
    assert_not_found(post(apq, {"variables": VARIABLES, **by_hash(sha256(other))}))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            by_hash(sha256(LOOKUP), version=2),
            "Unsupported persisted query version: only version 1 is supported",
        ),
        (
            by_hash(sha256(LOOKUP), version=None),
            "Unsupported persisted query version: only version 1 is supported",
        ),
        (
            by_hash(sha256(LOOKUP), version="1"),
            "Unsupported persisted query version: only version 1 is supported",
        ),
        (
            by_hash(sha256(LOOKUP), version=True),
            "Unsupported persisted query version: only version 1 is supported",
        ),
        (
            {"extensions": {"persistedQuery": sha256(LOOKUP)}},
            "extensions.persistedQuery must be an object",
        ),
        (
            {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": 42}}},
            "extensions.persistedQuery.sha256Hash must be a non-empty string",
        ),
        (
            {"documentId": f"sha256:{sha256(LOOKUP)}", "query": LOOKUP},
            "Name the document one way: documentId, or extensions.persistedQuery, or query",
        ),
        (
            {"documentId": f"sha256:{sha256(LOOKUP)}", **by_hash(sha256(LOOKUP))},
            "Name the document one way: documentId, or extensions.persistedQuery, or query",
        ),
        ({"documentId": 7}, "documentId must be a string"),  # POST only: GET has text only
    ],
    ids=[
        "version 2",
        "no version",
        "version as text",
        "version true",
        "not an object",
        "hash not text",
        "documentId and query",
        "documentId and hash",
        "documentId not text",
    ],
)
def test_a_persisted_request_of_another_shape_is_a_request_error(apq, body, message):
    # when
    answers = [post(apq, {"variables": VARIABLES, **body})]
    if not isinstance(body.get("documentId"), int):
        answers.append(get(apq, {"variables": VARIABLES, **body}))
    # then
    for answer in answers:
        error = assert_error_answer(answer, 400, "BAD_REQUEST")
        assert error["message"] == message


def test_a_persisted_redemption_takes_the_compiled_path_and_answers_as_execution_does(
    coupon, database_url, clean_db
):
    # given the two answering paths, and a redemption each has registered (the second a
    # retry of the first: the same usage comes back)
    redemption = {"code": CODE, "userId": "u1", "orderId": "pq-compiled-1", "orderValue": "20"}
    hashed = {"variables": {"input": redemption}, **by_hash(sha256(REDEEM))}
    with (
        thread_server(database_url, api_keys=API_KEYS) as compiled,
        thread_server(database_url, api_keys=API_KEYS, compiled_operations=False) as executed,
    ):
        registered = [
            data(post(server, {**hashed, "query": REDEEM})) for server in (compiled, executed)
        ]
        plans = compiled_plans(compiled)
        plans.clear()
        # when each runs it by its hash alone
        by_id = [data(post(server, hashed)) for server in (compiled, executed)]
        # then the compiled path answered it, from a plan made for the document
        assert isinstance(plans.get(REDEEM), Plan)
    # and all four answers are the one redemption, alike to the byte
    assert registered[0]["redeemCoupon"]["errors"] == []
    assert registered[0]["redeemCoupon"]["usage"]["orderId"] == "pq-compiled-1"
    assert registered[1] == registered[0]
    assert by_id == [registered[0], registered[0]]
    assert clean_db.value("SELECT count(*) FROM coupon_usages") == 1


@pytest.mark.parametrize("order_value", ["20.000000000000000001", "19.99", "1e1"])
def test_numbers_reach_a_document_named_by_hash_exactly_as_sent(coupon, apq, clean_db, order_value):
    # given a redemption, and an amount written as a JSON number (one that a binary float
    # would round to two places, one that has them, one with an exponent)
    as_json = '{"code": "%s", "userId": "%s", "orderId": "%s", "orderValue": %s}'
    extensions = f'"extensions": {json.dumps(by_hash(sha256(REDEEM))["extensions"])}'

    def sent(user: str, named: str) -> httpx.Response:
        redemption = as_json % (CODE, user, f"order-of-{user}", order_value)
        return httpx.post(
            f"{apq.base_url}/graphql",
            content=f'{{"variables": {{"input": {redemption}}}, {named}}}'.encode(),
            headers={**headers_of("storefront"), "content-type": "application/json"},
        )

    # when it comes with its document (registering it), then by its hash alone
    as_text = sent("u1", f'"query": {json.dumps(REDEEM)}, {extensions}')
    by_id = sent("u2", extensions)
    # then both read the amount alike: refused with more than two places, else the same sums
    text_payload, id_payload = (data(a)["redeemCoupon"] for a in (as_text, by_id))
    assert id_payload["errors"] == text_payload["errors"]
    assert id_payload["finalAmount"] == text_payload["finalAmount"]
    if order_value == "20.000000000000000001":
        assert [e["code"] for e in id_payload["errors"]] == ["INVALID_INPUT"]
        assert clean_db.value("SELECT count(*) FROM coupon_usages") == 0
    else:
        assert id_payload["finalAmount"] == {"19.99": "14.99", "1e1": "5.00"}[order_value]


def test_an_unknown_key_is_refused_before_any_persisted_work(coupon, apq):
    # given
    hashed = {"variables": VARIABLES, **by_hash(sha256(LOOKUP))}
    # when a hash, or a hash and its document, come with a made-up key or none
    for role in ("made-up-key", None):
        for body in (hashed, {**hashed, "query": LOOKUP}):
            # then the key check answers first
            assert_error_answer(post(apq, body, role=role), 401, "UNAUTHENTICATED")
    assert_error_answer(get(apq, hashed, role="made-up-key"), 401, "UNAUTHENTICATED")
    # and nothing was registered by them
    assert_not_found(post(apq, hashed))


def test_the_graphiql_page_never_runs_a_persisted_document(coupon, apq):
    # given a registered document, and a browser asking for the page without a key
    hashed = {"variables": VARIABLES, **by_hash(sha256(LOOKUP))}
    assert data(post(apq, {**hashed, "query": LOOKUP})) == EXPECTED
    browser = {"accept": "text/html"}
    # when its hash, or its id, comes along
    for params in (hashed, {"variables": VARIABLES, "documentId": f"sha256:{sha256(LOOKUP)}"}):
        page = get(apq, params, role=None, **browser)
        # then the page is all it gets: no data
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert CODE not in page.text


def test_with_apq_off_a_hash_alone_is_not_supported(coupon, database_url):
    # given
    hashed = {"variables": VARIABLES, **by_hash(sha256(LOOKUP))}
    with thread_server(database_url, automatic_persisted_queries=False) as server:
        # when
        alone = post(server, hashed, role=None)
        # then Apollo Client stops hashing on this answer, and sends documents from then on
        assert alone.status_code == 200
        assert alone.headers["cache-control"] == NO_CACHE
        [error] = alone.json()["errors"]
        assert (error["message"], error["extensions"]["code"]) == (
            "PersistedQueryNotSupported",
            "PERSISTED_QUERY_NOT_SUPPORTED",
        )
        # and a hash with its document runs the document, registering nothing
        assert data(post(server, {**hashed, "query": LOOKUP}, role=None)) == EXPECTED
        assert post(server, hashed, role=None).json()["errors"][0]["message"] == (
            "PersistedQueryNotSupported"
        )


def test_the_readmes_example_by_hand_runs_as_it_says(gql, apq):
    # given the README's shell lines, its coupon, and a storefront key
    section = (REPO / "README.md").read_text().split("### Persisted operations", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found is not None
    script = found.group(1).replace("http://127.0.0.1:8000", apq.base_url)
    create_timed_coupon(gql, code="SPRING-2025")
    # when
    ran = subprocess.run(  # noqa: S603 - bash with the README's own lines
        ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607 - bash from PATH, as a reader's
        env={**os.environ, "KEY": KEYS["storefront"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # then each line answers what its comment says
    assert ran.returncode == 0, ran.stderr
    said = re.findall(r"^ask  # (.*?)(?:\.\.\.)?$", script, re.M)
    first, registered, again = ran.stdout.splitlines()
    assert first.startswith(said[0]), first
    assert again == said[1] == registered


def lookup(index: int) -> str:
    """One of five documents, each with its own answer's shape: a mix-up shows."""
    return f"query ($code: String!) {{ couponByCode(code: $code) {{ code{index}: code status }} }}"


async def apollo_flow(client: httpx.AsyncClient, document: str, code: str) -> list[Any]:
    """What Apollo Client does for one operation, twice: the hash alone, and the hash with
    the document when the answer is PERSISTED_QUERY_NOT_FOUND. The answers' data."""
    hashed = {"variables": {"code": code}, **by_hash(sha256(document))}
    answers = []
    for _ in range(2):
        answer = await client.post("/graphql", json=hashed)
        assert answer.status_code == 200, answer.text
        if "errors" in answer.json():
            assert answer.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
            answer = await client.post("/graphql", json={**hashed, "query": document})
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
    return answers


def test_many_clients_registering_the_same_hashes_at_once_all_get_right_answers(gql, database_url):
    # given five coupons, five documents, and two workers that each keep their own registry
    codes = [f"MANY-{n}" for n in range(5)]
    for code in codes:
        create_timed_coupon(gql, code=code)
    env = {"DATABASE_URL": database_url, "COUPONS_BACKGROUND_WORKER": "false"}

    async def fifty_clients(base_url: str) -> list[list[Any]]:
        # A connection each, so the requests spread over both workers.
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
            return await asyncio.gather(
                *(apollo_flow(client, lookup(n % 5), codes[n // 10]) for n in range(50))
            )

    with process_server(env, "--workers", "2") as server:
        # when fifty clients run their operation at once, each twice
        answers = asyncio.run(fifty_clients(server.base_url))
    # then each got its own coupon both times
    for n, both in enumerate(answers):
        coupon = {f"code{n % 5}": codes[n // 10], "status": "ACTIVE"}
        expected = {"data": {"couponByCode": coupon}}
        assert both == [expected, expected], n
