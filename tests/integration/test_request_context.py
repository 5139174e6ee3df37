"""Every log line written while a request is answered carries its id and the caller's role,
whoever writes it: the id travels in a context variable, nobody passes it by hand."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from graphql_api.logs import JsonFormatter
from graphql_api.services import redemption
from tests.support.factories import REDEEM_COUPON
from tests.support.graphql import GraphQLClient
from tests.support.servers import ThreadServer, thread_server

SERVICE_LOGGER = "graphql_api.services.redemption"


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


def redeem_input(user_id: str) -> dict:
    return {"input": {"code": "NO-SUCH", "userId": user_id, "orderId": "o", "orderValue": "10"}}


def service_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == SERVICE_LOGGER]


@pytest.fixture
def chatty_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """The redemption service, logging a warning of its own that knows of no request id."""
    real = redemption.redeem_coupon

    async def chatty(hot, request, policy):
        logging.getLogger(SERVICE_LOGGER).warning("redeeming for %s", request.user_id)
        return await real(hot, request, policy)

    monkeypatch.setattr(redemption, "redeem_coupon", chatty)


def test_a_service_warning_carries_the_request_id_and_the_role(client, chatty_service, caplog):
    # when
    with caplog.at_level(logging.WARNING, logger=SERVICE_LOGGER):
        response = client.post(REDEEM_COUPON, redeem_input("u"), {"X-Request-ID": "deep-1"})
    # then
    assert response.status_code == 200
    assert response.json()["data"]["redeemCoupon"]["errors"][0]["code"] == "NOT_FOUND"
    [record] = service_lines(caplog)
    # and its JSON line names the request and the role (no keys set: every caller is admin)
    line = json.loads(JsonFormatter().format(record))
    assert (line["request_id"], line["role"]) == ("deep-1", "admin")


def test_an_unexpected_errors_log_line_carries_the_request_id(
    client, monkeypatch: pytest.MonkeyPatch, caplog
):
    # given a service that fails in a way nobody planned for
    async def broken(hot, request, policy):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(redemption, "redeem_coupon", broken)
    # when
    with caplog.at_level(logging.ERROR, logger="graphql_api.errors"):
        response = client.post(REDEEM_COUPON, redeem_input("u"), {"X-Request-ID": "broken-2"})
    # then the answer and the log line name the same request
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "broken-2"}
    [record] = [r for r in caplog.records if r.name == "graphql_api.errors"]
    assert getattr(record, "request_id", None) == "broken-2"
    assert record.exc_info is not None
    assert "secret internals" in caplog.text


def test_concurrent_requests_log_their_own_ids(client, monkeypatch: pytest.MonkeyPatch, caplog):
    # given a service that waits, mid-request, until both requests are inside it
    real = redemption.redeem_coupon
    inside: list[str] = []

    async def overlapping(hot, request, policy):
        log = logging.getLogger(SERVICE_LOGGER)
        inside.append(request.user_id)
        log.warning("entered for %s", request.user_id)
        for _ in range(500):
            if len(inside) == 2:
                break
            await asyncio.sleep(0.01)
        log.warning("leaving for %s", request.user_id)
        return await real(hot, request, policy)

    monkeypatch.setattr(redemption, "redeem_coupon", overlapping)

    # when two requests run at once
    def send(user_id: str) -> str:
        headers = {"X-Request-ID": f"together-{user_id}"}
        response = client.post(REDEEM_COUPON, redeem_input(user_id), headers)
        assert response.status_code == 200
        return response.headers["x-request-id"]

    with (
        caplog.at_level(logging.WARNING, logger=SERVICE_LOGGER),
        ThreadPoolExecutor(2) as pool,
    ):
        echoed = list(pool.map(send, ["a", "b"]))
    # then they overlapped, and each line carries the id of its own request
    assert echoed == ["together-a", "together-b"]
    assert sorted(inside) == ["a", "b"]
    lines = [(r.getMessage(), getattr(r, "request_id", None)) for r in service_lines(caplog)]
    assert all(m.startswith("entered") for m, _ in lines[:2]), lines  # neither left first
    assert sorted(lines) == [
        ("entered for a", "together-a"),
        ("entered for b", "together-b"),
        ("leaving for a", "together-a"),
        ("leaving for b", "together-b"),
    ]


@pytest.mark.parametrize(
    "sent",
    [None, "", "x" * 129, "has space", 'quote"d', "new\tline"],
    ids=["none", "empty", "too long", "space", "quote", "tab"],
)
def test_a_request_without_a_sane_id_gets_a_fresh_one_everywhere(gql, chatty_service, caplog, sent):
    # when
    headers = {} if sent is None else {"X-Request-ID": sent}
    with caplog.at_level(logging.WARNING, logger=SERVICE_LOGGER):
        first = gql.post(REDEEM_COUPON, redeem_input("u"), headers)
        second = gql.post(REDEEM_COUPON, redeem_input("u"), headers)
    # then each gets an id of its own, never the one sent, in the header and in the log
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", made) for made in ids), ids
    assert ids[0] != ids[1]
    assert [getattr(r, "request_id", None) for r in service_lines(caplog)] == ids
