"""The service as an Apollo Federation 2 subgraph (contract, "Federation"): `Coupon` keyed by
`id` and by `code`, `Campaign` and `Usage` by `id`; `schema.graphql` stays the client-facing
SDL. Tested through `_entities` directly and through a real gateway (@apollo/gateway from
npm) composing this service with a second subgraph, an order service whose `Order` points at
a `Coupon` by code."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    build_client_schema,
    build_schema,
    get_introspection_query,
    lexicographic_sort_schema,
    print_schema,
)

from graphql_api.schema import schema
from graphql_api.schema.federation import subgraph_sdl
from tests.support.callers import API_KEYS, KEYS
from tests.support.factories import (
    create_campaign,
    create_timed_coupon,
    create_user_coupon,
    redeem,
)
from tests.support.graphql import top_errors
from tests.support.node import node_tools
from tests.support.orders_subgraph import StoredOrder, orders_app, orders_schema
from tests.support.servers import REPO, ThreadServer, asgi_server, free_port, thread_server

ENTITIES = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Coupon { id code status discountType discountValue }
    ... on Campaign { id name }
    ... on Usage { id orderId discountApplied }
  }
}
"""
FEDERATION_TYPES = {"_Any", "_Entity", "_Service", "_FieldSet", "link__Import", "link__Purpose"}
FEDERATION_FIELDS = {"_entities", "_service"}


def entities(client: Any, *representations: object) -> httpx.Response:
    response: httpx.Response = client.post(ENTITIES, {"representations": list(representations)})
    assert response.status_code == 200, response.text
    return response


# --- the schema ---


def test_the_running_schema_without_federation_s_plumbing_is_schema_graphql(gql):
    # given: what a client sees by introspecting the running server
    response = gql.post(get_introspection_query(descriptions=True, specified_by_url=True))
    introspection = response.json()["data"]
    types = [t for t in introspection["__schema"]["types"] if t["name"] not in FEDERATION_TYPES]
    for named in types:
        if named["name"] == "Query":
            named["fields"] = [f for f in named["fields"] if f["name"] not in FEDERATION_FIELDS]
    introspection["__schema"]["types"] = types
    introspection["__schema"]["directives"] = [
        d for d in introspection["__schema"]["directives"] if d["name"] not in {"key", "link"}
    ]

    # when
    running = print_schema(lexicographic_sort_schema(build_client_schema(introspection)))
    committed = build_schema((REPO / "schema.graphql").read_text())

    # then
    assert running == print_schema(lexicographic_sort_schema(committed))


def test_service_sdl_is_the_subgraph_sdl_export_schema_prints(gql):
    sdl = gql("{ _service { sdl } }")["_service"]["sdl"]
    printed = subprocess.run(
        [sys.executable, "-m", "graphql_api", "export-schema", "--subgraph"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert sdl + "\n" == printed == subgraph_sdl(schema) + "\n"
    assert '@key(fields: "id", resolvable: true) @key(fields: "code", resolvable: true)' in sdl
    assert "union _Entity = Campaign | Coupon | Usage" in sdl


def test_schema_graphql_carries_no_federation_plumbing():
    sdl = (REPO / "schema.graphql").read_text()
    for plumbing in ("@key", "@link", "_entities", "_service", "_Any", "_Entity", "_Service"):
        assert plumbing not in sdl


# --- _entities: each reference answered as its root lookup answers it ---


def test_a_coupon_is_found_by_id_and_by_code_read_as_every_operation_reads_one(gql):
    # given
    coupon = create_user_coupon(gql)

    # when
    response = entities(
        gql,
        {"__typename": "Coupon", "id": coupon["id"]},
        {"__typename": "Coupon", "code": f"  {coupon['code'].lower()} "},
        {"__typename": "Coupon", "code": "NOT-A-CODE"},
        {"__typename": "Coupon", "id": "00000000-0000-4000-8000-000000000000"},
    )

    # then: found twice, in order; unknown references are null without an error
    body = response.json()
    assert "errors" not in body
    found = {
        "__typename": "Coupon",
        "id": coupon["id"],
        "code": coupon["code"],
        "status": "ACTIVE",
        "discountType": "FIXED",
        "discountValue": "10.00",
    }
    assert body["data"]["_entities"] == [found, found, None, None]


def test_a_usage_and_a_campaign_are_found_by_id(gql):
    # given
    coupon = create_timed_coupon(gql)
    usage = redeem(gql, code=coupon["code"], userId="u", orderId="o-1", orderValue="100")["usage"]
    campaign = create_campaign(gql)

    # when
    body = entities(
        gql,
        {"__typename": "Usage", "id": usage["id"]},
        {"__typename": "Campaign", "id": campaign["id"]},
    ).json()

    # then
    assert body["data"]["_entities"] == [
        {"__typename": "Usage", "id": usage["id"], "orderId": "o-1", "discountApplied": "10.00"},
        {"__typename": "Campaign", "id": campaign["id"], "name": campaign["name"]},
    ]


@pytest.mark.parametrize(
    ("representation", "field", "message"),
    [
        ({"__typename": "Coupon", "id": "not-a-uuid"}, "id", "UUID"),
        ({"__typename": "Usage", "id": "not-a-uuid"}, "id", "UUID"),
        ({"__typename": "Coupon", "code": "x" * 51}, "code", ""),
        ({"__typename": "Coupon", "code": 12}, "representations", "string"),
        ({"__typename": "Coupon"}, "representations", "id or code"),
        ({"__typename": "Order", "id": "1"}, "representations", "__typename"),
        ({"__typename": ["Coupon"], "id": "1"}, "representations", "__typename"),
        ({"__typename": {"name": "Coupon"}, "id": "1"}, "representations", "__typename"),
        ({"id": "1"}, "representations", "__typename"),
        ("Coupon:1", "representations", "object"),
    ],
)
def test_a_bad_reference_is_invalid_input_at_its_own_index(gql, representation, field, message):
    # given: a good reference beside it
    coupon = create_user_coupon(gql)

    # when
    response = entities(gql, {"__typename": "Coupon", "code": coupon["code"]}, representation)

    # then
    body = response.json()
    assert body["data"]["_entities"][0]["code"] == coupon["code"]
    assert body["data"]["_entities"][1] is None
    [error] = top_errors(response)
    assert error["path"] == ["_entities", 1]
    assert error["extensions"] == {"code": "INVALID_INPUT", "field": field}
    assert message in error["message"]


def test_references_by_code_are_looked_up_in_one_statement(server, gql, monkeypatch):
    # given: 30 coupons, and a spy on the statements of the server's hot pool
    codes = [create_user_coupon(gql, userId=f"user-{n}")["code"] for n in range(30)]
    hot = server.app.state.hot
    statements: list[str] = []
    for method in ("fetch", "fetchrow"):
        real = getattr(hot, method)

        async def counted(sql: str, *args: object, real: Any = real) -> object:
            statements.append(sql)
            return await real(sql, *args)

        monkeypatch.setattr(hot, method, counted)

    # when: the 30, and 10 that do not exist
    references = [{"__typename": "Coupon", "code": code.lower()} for code in codes]
    references += [{"__typename": "Coupon", "code": f"NONE-{n}"} for n in range(10)]
    found = entities(gql, *references).json()["data"]["_entities"]

    # then
    assert [entity and entity["code"] for entity in found] == codes + [None] * 10
    assert len(statements) == 1


def test_more_references_than_a_page_are_refused(gql):
    too_many = [{"__typename": "Coupon", "code": f"CODE-{n}"} for n in range(101)]
    response = entities(gql, *too_many)
    [error] = top_errors(response)
    assert error["extensions"] == {"code": "INVALID_INPUT", "field": "representations"}
    assert response.json()["data"] is None


def test_a_storefront_gets_coupons_and_usages_but_not_campaigns(keyed_servers, clean_db):
    # given
    admin = httpx.Client(
        base_url=keyed_servers["executed"].base_url,
        headers={"authorization": f"Bearer {KEYS['admin']}"},
    )
    storefront = httpx.Client(
        base_url=keyed_servers["executed"].base_url,
        headers={"authorization": f"Bearer {KEYS['storefront']}"},
    )
    campaign = admin.post(
        "/graphql",
        json={
            "query": 'mutation { createCampaign(input: {name: "Spring", discountType: FIXED, '
            'discountValue: "5"}) { campaign { id } errors { code } } }'
        },
    ).json()["data"]["createCampaign"]["campaign"]
    coupon = admin.post(
        "/graphql",
        json={
            "query": 'mutation { createUserCoupon(input: {userId: "u", discountType: FIXED, '
            'discountValue: "5"}) { coupon { code } } }'
        },
    ).json()["data"]["createUserCoupon"]["coupon"]

    # when
    representations = [
        {"__typename": "Campaign", "id": campaign["id"]},
        {"__typename": "Coupon", "code": coupon["code"]},
    ]
    body = {"query": ENTITIES, "variables": {"representations": representations}}
    as_storefront = storefront.post("/graphql", json=body)
    as_admin = admin.post("/graphql", json=body)

    # then: the campaign is refused as `campaign(id)` refuses it; the coupon is answered
    assert as_storefront.json()["data"]["_entities"][0] is None
    assert as_storefront.json()["data"]["_entities"][1]["code"] == coupon["code"]
    [error] = top_errors(as_storefront)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["path"] == ["_entities", 0]
    assert [entity["__typename"] for entity in as_admin.json()["data"]["_entities"]] == [
        "Campaign",
        "Coupon",
    ]
    admin.close()
    storefront.close()


@pytest.fixture(scope="module")
def production(database_url: str) -> Iterator[ThreadServer]:
    with thread_server(database_url, env="production", api_keys=API_KEYS) as server:
        yield server


def test_in_production_the_subgraph_sdl_is_for_admins_only_as_introspection_is(production):
    def service_sdl(role: str) -> httpx.Response:
        return httpx.post(
            f"{production.base_url}/graphql",
            json={"query": "{ _service { sdl } }"},
            headers={"authorization": f"Bearer {KEYS[role]}"},
        )

    refused = service_sdl("storefront")
    [error] = top_errors(refused)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert refused.json().get("data") is None
    assert service_sdl("admin").json()["data"]["_service"]["sdl"] == subgraph_sdl(schema)


# --- a real gateway ---


@contextmanager
def gateway(coupons_url: str, orders_url: str, **env: str) -> Iterator[str]:
    """@apollo/gateway behind @apollo/server, started by tests/node/gateway.mjs."""
    folder = node_tools("@apollo/gateway", "@apollo/server", "@apollo/composition")
    node = shutil.which("node")
    assert node is not None
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(  # noqa: S603 - our own script
            [node, str(folder / "gateway.mjs")],
            cwd=folder,
            env={
                **os.environ,
                "COUPONS_URL": f"{coupons_url}/graphql",
                "ORDERS_URL": orders_url,
                "PORT": str(free_port()),
                **env,
            },
            stdout=subprocess.PIPE,
            stderr=errors,  # a file: a pipe nobody reads could fill and stall the gateway
            text=True,
        )
        try:
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], 60)
            line = process.stdout.readline() if ready else ""
            if not line.startswith("ready "):
                errors.seek(0)
                pytest.fail(f"the gateway did not start in 60 s: {line}{errors.read()}")
            yield line.removeprefix("ready ").strip()
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


ORDERS_WITH_DISCOUNTS = """
query OrdersWithDiscounts {
  orders {
    id
    total
    coupon { code status discountType discountValue maxDiscountAmount minOrderValue }
  }
}
"""


def shop(gql: Any) -> tuple[list[StoredOrder], list[dict[str, Any]]]:
    """Three orders: one with a coupon (its code as a person typed it: the coupon service
    reads it as it reads any code), one with a used-up coupon, one with a code the coupon
    service does not know. A key's value is the order service's own: the gateway takes
    `code` from it and the rest from the coupon service."""
    first = create_timed_coupon(gql, maxDiscountAmount="15.00", minOrderValue="20.00")
    used = create_user_coupon(gql, userId="buyer")
    redeemed = redeem(gql, code=used["code"], userId="buyer", orderId="order-0", orderValue="50")
    assert redeemed["errors"] == [], redeemed
    orders = [
        StoredOrder("order-1", "120.00", f" {first['code'].lower()}"),
        StoredOrder("order-2", "50.00", used["code"]),
        StoredOrder("order-3", "10.00", "GONE-AWAY"),
    ]
    expected: list[dict[str, Any]] = [
        {
            "id": "order-1",
            "total": "120.00",
            "coupon": {
                "code": f" {first['code'].lower()}",
                "status": "ACTIVE",
                "discountType": "PERCENTAGE",
                "discountValue": "10.00",
                "maxDiscountAmount": "15.00",
                "minOrderValue": "20.00",
            },
        },
        {
            "id": "order-2",
            "total": "50.00",
            "coupon": {
                "code": used["code"],
                "status": "EXHAUSTED",
                "discountType": "FIXED",
                "discountValue": "10.00",
                "maxDiscountAmount": None,
                "minOrderValue": "0.00",
            },
        },
        {"id": "order-3", "total": "10.00", "coupon": None},
    ]
    return orders, expected


def assert_orders(response: httpx.Response, expected: list[dict[str, Any]]) -> None:
    body = response.json()
    assert "errors" not in body, body["errors"]
    assert body["data"] == {"orders": expected}
    # The unknown code: the gateway notes that it nulled a reference the subgraph answered null.
    [note] = body["extensions"]["valueCompletion"]
    assert note["path"][:3] == ["orders", 2, "coupon"]


def test_a_gateway_joins_orders_to_their_coupons_discount_and_status(gql):
    # given: the gateway composes both subgraphs from their `_service { sdl }`
    orders, expected = shop(gql)
    with asgi_server(orders_app(orders)) as orders_url, gateway(gql.base_url, orders_url) as url:
        # when
        response = httpx.post(url, json={"query": ORDERS_WITH_DISCOUNTS}, timeout=30)

    # then
    assert response.status_code == 200, response.text
    assert_orders(response, expected)


def test_a_gateway_composed_ahead_of_time_works_against_production_with_a_storefront_key(
    production, tmp_path: Path, clean_db
):
    # given: the supergraph composed from `coupons export-schema --subgraph` (a storefront key
    # may not read `_service` in production), the gateway calling with a storefront key
    admin = httpx.Client(
        base_url=production.base_url,
        headers={"authorization": f"Bearer {KEYS['admin']}"},
        timeout=30,
    )

    class Admin:
        base_url = production.base_url

        def __call__(self, query: str, variables: dict[str, Any] | None = None) -> Any:
            body = admin.post("/graphql", json={"query": query, "variables": variables}).json()
            assert "errors" not in body, body
            return body["data"]

    orders, expected = shop(Admin())
    coupons_sdl = tmp_path / "coupons.graphql"
    coupons_sdl.write_text(
        subprocess.run(
            [sys.executable, "-m", "graphql_api", "export-schema", "--subgraph"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "COUPONS_ENV": "production"},
        ).stdout
    )
    orders_sdl = tmp_path / "orders.graphql"
    orders_sdl.write_text(orders_schema(orders).as_str())
    with (
        asgi_server(orders_app(orders)) as orders_url,
        gateway(
            production.base_url,
            orders_url,
            COUPONS_SDL=str(coupons_sdl),
            ORDERS_SDL=str(orders_sdl),
            COUPONS_AUTHORIZATION=f"Bearer {KEYS['storefront']}",
        ) as url,
    ):
        # when
        response = httpx.post(url, json={"query": ORDERS_WITH_DISCOUNTS}, timeout=30)
        refused = httpx.post(url, json={"query": "{ orders { coupon { campaign { id } } } }"})

    # then
    admin.close()
    assert_orders(response, expected)
    assert json.dumps(refused.json()).count("FORBIDDEN") >= 1
