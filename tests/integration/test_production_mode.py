"""COUPONS_ENV=production: no GraphiQL, introspection for admin keys only, no field suggestions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.graphql import GraphQLClient, top_errors
from tests.support.servers import ThreadServer, thread_server

SCHEMA_TYPES = "{ __schema { types { name } } }"

COUPON_TYPE = '{ __type(name: "Coupon") { name fields { name } } }'

MISSPELLED_FIELD = '{ couponByCod(code: "X") { code } }'

MISSPELLED_INPUT_FIELD = """
query { validateCoupon(input: {cod: "X", userId: "u", orderValue: "1"}) { valid } }
"""

INTROSPECTION_QUERIES = [
    SCHEMA_TYPES,
    COUPON_TYPE,
    "{ types: __schema { types { name } } }",
    "query { ...Schema } fragment Schema on Query { __schema { queryType { name } } }",
    '{ couponByCode(code: "X") { code } __type(name: "Usage") { name } }',
]

ADMIN_KEY = "prod-admin-key-2c91f0"
STOREFRONT_KEY = "prod-storefront-key-7d04ab"


@pytest.fixture(scope="module")
def production_server(database_url: str) -> Iterator[ThreadServer]:
    keys = f"admin:{ADMIN_KEY},storefront:{STOREFRONT_KEY}"
    with thread_server(database_url, api_keys=keys, env="production") as running:
        yield running


def client_with_key(server: ThreadServer, key: str) -> GraphQLClient:
    client = GraphQLClient(server.base_url)
    client.http.headers["Authorization"] = f"Bearer {key}"
    return client


@pytest.fixture(scope="module")
def admin(production_server: ThreadServer) -> Iterator[GraphQLClient]:
    client = client_with_key(production_server, ADMIN_KEY)
    yield client
    client.close()


@pytest.fixture(scope="module")
def storefront(production_server: ThreadServer) -> Iterator[GraphQLClient]:
    client = client_with_key(production_server, STOREFRONT_KEY)
    yield client
    client.close()


@pytest.fixture(scope="module")
def development(server: ThreadServer) -> Iterator[GraphQLClient]:
    client = GraphQLClient(server.base_url)
    yield client
    client.close()


def refused(client: GraphQLClient, query: str) -> list[dict[str, Any]]:
    """The top-level errors of a query that did not run at all."""
    response = client.post(query)
    assert response.status_code == 200, response.text
    assert response.json().get("data") is None, response.text
    return top_errors(response)


def messages(errors: list[dict[str, Any]]) -> str:
    return " | ".join(error["message"] for error in errors)


# --- GraphiQL ---


def test_graphiql_is_not_served_even_to_admin(admin):
    # when
    response = admin.http.get("/graphql", headers={"Accept": "text/html"})

    # then
    assert response.status_code == 404
    assert "graphiql" not in response.text.lower()


def test_graphiql_is_not_served_without_a_key(production_server):
    # when
    response = httpx.get(f"{production_server.base_url}/graphql", headers={"Accept": "text/html"})

    # then
    assert response.status_code in (401, 404)
    assert "graphiql" not in response.text.lower()
    assert not response.headers.get("content-type", "").startswith("text/html")


# --- introspection ---


@pytest.mark.parametrize("query", INTROSPECTION_QUERIES)
def test_introspection_is_refused_to_storefront_with_one_error_and_a_code(storefront, query):
    # when
    errors = refused(storefront, query)

    # then one error for the document, however many introspection fields it holds
    assert len(errors) == 1, errors
    assert errors[0]["extensions"] == {"code": "FORBIDDEN"}
    assert "introspection" in errors[0]["message"].lower()


def test_a_document_of_many_introspection_fields_is_still_one_error(storefront):
    # when
    errors = refused(
        storefront,
        '{ __schema { types { name } } a: __type(name: "Coupon") { name } '
        'b: __type(name: "Usage") { fields { name type { name } } } }',
    )

    # then
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]


def test_typename_is_not_introspection(storefront):
    assert storefront("{ __typename }") == {"__typename": "Query"}


def test_introspection_works_for_admin(admin):
    # when
    types = admin(SCHEMA_TYPES)["__schema"]["types"]
    coupon = admin(COUPON_TYPE)["__type"]

    # then
    assert {"Coupon", "Usage", "Query", "Mutation"} <= {t["name"] for t in types}
    assert coupon["name"] == "Coupon"
    assert "code" in {field["name"] for field in coupon["fields"]}


def test_an_admins_introspection_does_not_open_it_to_storefront(admin, storefront):
    # given: the same document was just validated, and cached, for an admin
    admin(SCHEMA_TYPES)

    # when
    errors = refused(storefront, SCHEMA_TYPES)

    # then
    assert "introspection" in messages(errors).lower()


def test_storefront_still_gets_typename(storefront):
    assert storefront("{ __typename }") == {"__typename": "Query"}


# --- suggestions ---


def test_a_misspelled_field_gets_no_suggestion_in_production(storefront):
    # when
    errors = refused(storefront, MISSPELLED_FIELD)

    # then
    assert "couponByCod" in messages(errors)
    assert "Did you mean" not in messages(errors)
    assert "couponByCode" not in messages(errors)


def test_a_misspelled_field_gets_no_suggestion_in_production_even_for_admin(admin):
    errors = refused(admin, MISSPELLED_FIELD)
    assert "Did you mean" not in messages(errors)


def test_a_misspelled_field_gets_a_suggestion_in_development(development):
    # when
    errors = refused(development, MISSPELLED_FIELD)

    # then
    assert "Did you mean 'couponByCode'" in messages(errors)


def test_a_misspelled_input_field_gets_no_suggestion_in_production(storefront):
    # when
    errors = refused(storefront, MISSPELLED_INPUT_FIELD)

    # then
    assert "cod" in messages(errors)
    assert "Did you mean" not in messages(errors)
