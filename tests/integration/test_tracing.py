"""COUPONS_TRACING: OpenTelemetry spans of requests, operations, resolvers and SQL, sent
over OTLP/HTTP to a real receiver on loopback; and, off (the default), nothing at all.

The service runs as `coupons serve --workers 2`, as production runs it: tracing is set up
in each worker process. The batch processor waits ten minutes between exports, so every
span arrives by the flush of a worker's shutdown, which these tests also check.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.callers import ADMIN_KEY, API_KEYS, STOREFRONT_KEY
from tests.support.factories import CREATE_USER_COUPON, user_coupon_input
from tests.support.otlp import ReceivedSpan, trace_receiver
from tests.support.servers import REPO, environment, process_server

LOOKUP = "query Lookup($code: String!) { couponByCode(code: $code) { code } }"
# heldUses has a resolver of its own: the compiled path leaves this one to GraphQL execution.
LOOKUP_EXECUTED = (
    "query LookupExecuted($code: String!) { couponByCode(code: $code) { code heldUses } }"
)
REDEEM = """
mutation Redeem($input: RedeemCouponInput!) {
  redeemCoupon(input: $input) { usage { orderId } errors { code } }
}
"""
REDEEM_EXECUTED = """
mutation RedeemExecuted($input: RedeemCouponInput!) {
  redeemCoupon(input: $input) { usage { orderId coupon { heldUses } } errors { code } }
}
"""
ROOTS = ("Query", "Mutation")
STATUS_ERROR = 2  # OTLP's Status.STATUS_CODE_ERROR
USER_ID = "tracing-user-5d1e"
ORDER_VALUE = "4321.09"


@dataclass
class Sent:
    """What the requests sent (values only a span that recorded variables, arguments or SQL
    parameters could show) and what they were answered."""

    codes: list[str]
    order_ids: dict[str, str]
    answers: dict[str, Any]

    @property
    def values(self) -> list[str]:
        return [*self.codes, *self.order_ids.values(), USER_ID, ORDER_VALUE]


def serve_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "COUPONS_API_KEYS": API_KEYS,
        "COUPONS_BACKGROUND_WORKER": "false",
        # Ten minutes: nothing leaves before a worker's shutdown flushes it.
        "OTEL_BSP_SCHEDULE_DELAY": "600000",
        **extra,
    }


def graphql(base_url: str, query: str, variables: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = httpx.post(
        f"{base_url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {STOREFRONT_KEY}", **headers},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


def create_coupon(base_url: str) -> str:
    response = httpx.post(
        f"{base_url}/graphql",
        json={
            "query": CREATE_USER_COUPON,
            "variables": {"input": user_coupon_input(userId=USER_ID)},
        },
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=10,
    )
    payload = response.json()["data"]["createUserCoupon"]
    assert payload["errors"] == [], payload
    code: str = payload["coupon"]["code"]
    return code


def redemption(code: str, order_id: str) -> dict[str, Any]:
    return {
        "input": {"code": code, "userId": USER_ID, "orderId": order_id, "orderValue": ORDER_VALUE}
    }


def send_the_requests(base_url: str) -> Sent:
    """A named lookup and a named redemption on each path, and a lookup over GET."""
    code, other_code = create_coupon(base_url), create_coupon(base_url)
    order_ids = {name: f"order-{secrets.token_hex(6)}" for name in ("Redeem", "RedeemExecuted")}
    answers = {
        "Lookup": graphql(base_url, LOOKUP, {"code": code}),
        "LookupExecuted": graphql(base_url, LOOKUP_EXECUTED, {"code": code}),
        "Redeem": graphql(base_url, REDEEM, redemption(code, order_ids["Redeem"])),
        "RedeemExecuted": graphql(
            base_url, REDEEM_EXECUTED, redemption(other_code, order_ids["RedeemExecuted"])
        ),
    }
    over_get = httpx.get(
        f"{base_url}/graphql",
        params={
            "query": LOOKUP.replace("Lookup", "LookupOverGet"),
            "variables": json.dumps({"code": code}),
        },
        headers={"Authorization": f"Bearer {STOREFRONT_KEY}", "Accept": "application/json"},
        timeout=10,
    )
    assert over_get.status_code == 200, over_get.text
    answers["LookupOverGet"] = over_get.json()["data"]
    return Sent([code, other_code], order_ids, answers)


def expected_answers(sent: Sent) -> dict[str, Any]:
    code, order_ids = sent.codes[0], sent.order_ids
    return {
        "Lookup": {"couponByCode": {"code": code}},
        "LookupExecuted": {"couponByCode": {"code": code, "heldUses": 0}},
        "Redeem": {"redeemCoupon": {"usage": {"orderId": order_ids["Redeem"]}, "errors": []}},
        "RedeemExecuted": {
            "redeemCoupon": {
                "usage": {"orderId": order_ids["RedeemExecuted"], "coupon": {"heldUses": 0}},
                "errors": [],
            }
        },
        "LookupOverGet": {"couponByCode": {"code": code}},
    }


def operation_span(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    [span] = [
        s
        for s in spans
        if s.kind == "server" and s.attributes.get("graphql.operation.name") == name
        if s.name in ("query", "mutation")
    ]
    return span


def descendants(spans: list[ReceivedSpan], root: ReceivedSpan) -> list[ReceivedSpan]:
    children = {s.span_id: s for s in spans if s.parent_id == root.span_id}
    found = list(children.values())
    for child in children.values():
        found += descendants(spans, child)
    return found


def everything_told(spans: list[ReceivedSpan]) -> list[Any]:
    """What spans say besides their names: attributes, events' attributes, status messages."""
    return [*(s.attributes for s in spans), *(s.events for s in spans)] + [
        s.status_message for s in spans
    ]


def strings_in(values: Iterable[Any]) -> list[str]:
    found: list[str] = []
    for value in values:
        if isinstance(value, list | tuple):
            found += strings_in(value)
        elif isinstance(value, dict):
            found += strings_in(value.values())
        else:
            found.append(str(value))
    return found


def test_spans_carry_the_operation_from_request_to_sql_on_both_paths(database_url):
    with trace_receiver() as receiver:
        env = serve_env(
            database_url,
            COUPONS_TRACING="true",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_SERVICE_NAME="coupons-under-test",
            # An operator asking for every request header: a key must still not be told.
            OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST=".*",
        )
        # given a traced service
        with process_server(env, "--workers", "2") as server:
            # when a named query and a named redemption go through each path
            sent = send_the_requests(server.base_url)
            made_up = httpx.get(f"{server.base_url}/made-up/{secrets.token_hex(4)}", timeout=10)
            assert made_up.status_code == 404
            # and a lookup from a BFF that is tracing too (W3C Trace Context)
            bff_trace, bff_span = secrets.token_hex(16), secrets.token_hex(8)
            in_bff_trace = LOOKUP.replace("Lookup", "LookupInBffTrace")
            traceparent = f"00-{bff_trace}-{bff_span}-01"
            graphql(server.base_url, in_bff_trace, {"code": sent.codes[0]}, traceparent=traceparent)
            assert receiver.received() == []  # not yet: they wait for the batch
        # then by the time its workers have stopped, every span has been exported
        spans = receiver.received()

    assert sent.answers == expected_answers(sent)
    assert {span.resource["service.name"] for span in spans} == {"coupons-under-test"}
    for name, operation_type, resolved in [
        ("Lookup", "query", set()),  # the compiled paths have no resolvers
        ("LookupExecuted", "query", {"couponByCode", "heldUses"}),
        ("LookupOverGet", "query", {"couponByCode"}),  # over GET: always executed
        ("Redeem", "mutation", set()),
        ("RedeemExecuted", "mutation", {"redeemCoupon", "coupon", "heldUses"}),
    ]:
        # the operation span, named as the semantic conventions name it
        operation = operation_span(spans, name)
        assert operation.name == operation_type
        assert operation.attributes["graphql.operation.type"] == operation_type
        # inside the request's HTTP server span, which carries the operation too
        [request] = [s for s in spans if s.span_id == operation.parent_id]
        assert request.kind == "server"
        assert request.parent_id == ""  # the trace's root
        assert request.name in ("POST /graphql", "GET /graphql")
        assert request.attributes["http.route"] == "/graphql"
        assert request.attributes["graphql.operation.name"] == name
        assert request.attributes["graphql.operation.type"] == operation_type
        assert request.attributes["coupons.request_id"]
        # and under it, the SQL statements it ran, in the same trace
        inside = descendants(spans, operation)
        assert {s.trace_id for s in inside} == {request.trace_id}
        statements = [s for s in inside if s.attributes.get("db.system") == "postgresql"]
        assert statements, (name, [s.name for s in inside])
        assert all(s.kind == "client" and s.attributes["db.statement"] for s in statements)
        # on GraphQL execution, a span for each resolver, with its SQL beneath it
        resolvers = [s for s in inside if s.name.startswith("GraphQL Resolving: ")]
        assert {s.name.removeprefix("GraphQL Resolving: ") for s in resolvers} == resolved
        for resolver in resolvers:
            assert any(s.parent_id == resolver.span_id for s in statements), resolver.name
        root_fields = [s for s in resolvers if s.attributes["graphql.parentType"] in ROOTS]
        assert all(s.parent_id == operation.span_id for s in root_fields)

    # a caller's trace goes on into the service
    [request] = [
        s
        for s in spans
        if s.name == "POST /graphql"
        and s.attributes.get("graphql.operation.name") == "LookupInBffTrace"
    ]
    assert (request.trace_id, request.parent_id) == (bff_trace, bff_span)
    # a path that is none of the app's routes is no span's name: the client made it up
    [stray] = [s for s in spans if s.attributes.get("http.target", "").startswith("/made-up/")]
    assert (stray.name, stray.attributes["http.status_code"]) == ("GET", 404)
    assert "http.route" not in stray.attributes
    # headers are recorded as asked, but a key only as [REDACTED]
    assert list(request.attributes["http.request.header.authorization"]) == ["[REDACTED]"]
    assert "http.request.header.content_type" in request.attributes
    # and nothing in any span is a key, a variable's value or a SQL parameter
    recorded = "\n".join(strings_in(everything_told(spans)))
    secret = [ADMIN_KEY, STOREFRONT_KEY, *sent.values]
    assert [value for value in secret if value in recorded] == []


# Fails inside PostgreSQL, with a message that must not reach a span, for these orders only.
FAULT = """
CREATE FUNCTION test_tracing_fault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.order_id LIKE 'fault-%' THEN
        RAISE EXCEPTION 'secret internals: table coupon_usages';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER test_tracing_fault BEFORE INSERT ON coupon_usages
    FOR EACH ROW EXECUTE FUNCTION test_tracing_fault();
"""


@pytest.fixture
def failing_redemptions(db):
    db.execute(FAULT)
    yield
    db.execute(
        "DROP TRIGGER test_tracing_fault ON coupon_usages; DROP FUNCTION test_tracing_fault();"
    )


def test_a_failure_is_an_error_span_that_keeps_its_message_to_the_log(
    database_url, failing_redemptions
):
    with trace_receiver() as receiver:
        env = serve_env(
            database_url, COUPONS_TRACING="true", OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint
        )
        with process_server(env) as server:
            # given a coupon whose redemption will fail inside PostgreSQL
            code = create_coupon(server.base_url)
            # when it is redeemed on each path
            for query in (REDEEM, REDEEM_EXECUTED):
                response = httpx.post(
                    f"{server.base_url}/graphql",
                    json={"query": query, "variables": redemption(code, "fault-order")},
                    headers={"Authorization": f"Bearer {STOREFRONT_KEY}"},
                    timeout=10,
                )
                [error] = response.json()["errors"]
                assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        spans = receiver.received()

    # then each operation span says it failed, and how, in the error code the client saw
    for name in ("Redeem", "RedeemExecuted"):
        operation = operation_span(spans, name)
        assert operation.status_code == STATUS_ERROR
        assert operation.attributes["error.type"] == "INTERNAL_SERVER_ERROR"
    # and so does the resolver that raised, by the exception's type alone
    [resolver] = [s for s in spans if s.name == "GraphQL Resolving: redeemCoupon"]
    assert resolver.status_code == STATUS_ERROR
    assert resolver.attributes["error.type"]
    # as does each statement that failed, with the exception's type, not its text
    failed = [s for s in spans if s.kind == "client" and s.status_code == STATUS_ERROR]
    assert len(failed) == 2
    assert [[e.get("exception.type") for e in s.events] for s in failed] == [
        ["asyncpg.exceptions.RaiseError"]
    ] * 2
    # while the exception's message is nowhere in them
    recorded = "\n".join(strings_in(everything_told(spans)))
    assert "secret internals" not in recorded


@pytest.mark.parametrize(
    "tracing",
    [
        {},  # off, the default: COUPONS_TRACING unset
        # on, but no request sampled: unsampled requests skip the GraphQL hooks altogether
        {"COUPONS_TRACING": "true", "OTEL_TRACES_SAMPLER": "always_off"},
    ],
    ids=["off", "on-unsampled"],
)
def test_untraced_the_same_requests_answer_alike_and_nothing_is_sent(database_url, tracing):
    with trace_receiver() as receiver:
        # given a service with the OTEL_* variables set, that traces nothing
        env = serve_env(database_url, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, **tracing)
        unset = () if tracing else ("COUPONS_TRACING",)
        with process_server(env, "--workers", "2", unset=unset) as server:
            # when the same requests are sent
            sent = send_the_requests(server.base_url)
        # then they answer as they do traced, and no span was sent, even at shutdown
        assert sent.answers == expected_answers(sent)
        assert receiver.requests == 0


def test_off_nothing_of_opentelemetry_is_even_imported(database_url):
    # given the app as a worker process makes it, with tracing off (the default)
    script = (
        "import sys\n"
        "from graphql_api.app import create_app\n"
        "from graphql_api.settings import Settings\n"
        f"create_app(Settings(database_url={database_url!r}))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'opentelemetry'))\n"
    )
    # when it is made
    finished = subprocess.run(  # noqa: S603  # our own interpreter, our own script
        [sys.executable, "-c", script],
        cwd=REPO,
        env=environment({}, unset=("COUPONS_TRACING",)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # then no module of OpenTelemetry was loaded
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "[]"


def test_traced_with_one_worker_the_metrics_still_count_requests(database_url):
    # given a traced service of one worker, which runs in serve's own process (reading the
    # settings checks the exporter, and that import once came before the metrics' directory)
    with trace_receiver() as receiver:
        env = serve_env(
            database_url, COUPONS_TRACING="true", OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint
        )
        with process_server(env, "--workers", "1") as server:
            # when
            graphql(server.base_url, "query Typename { __typename }", {})
            metrics = httpx.get(f"{server.base_url}/metrics", timeout=10).text

    # then
    assert 'coupons_graphql_requests_total{operation="introspection",outcome="ok"}' in metrics
