"""The compiled paths answer only what the schema lets them: a field with a permission
class (or any resolver) is never answered by them, so a caller sees exactly what GraphQL
execution would show it.

Design review, issue 8: "a field restricted later could leak to storefronts unseen".
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import strawberry
from strawberry.types.base import StrawberryObjectDefinition

from graphql_api.schema import schema
from graphql_api.schema.compiled import answerable_fields
from graphql_api.schema.permissions import AdminOnly
from tests.support.callers import KEYS
from tests.support.database import Database
from tests.support.factories import create_timed_coupon
from tests.support.graphql import GraphQLClient
from tests.support.servers import ThreadServer

PLANNED_TYPES = ("Coupon", "Usage", "RedeemCouponPayload", "CouponError")


def answer(server: ThreadServer, role: str, query: str, variables: dict[str, Any]) -> Any:
    response = httpx.post(
        f"{server.base_url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {KEYS[role]}"},
        timeout=10,
    )
    body = response.json()
    for error in body.get("errors") or ():
        error.get("extensions", {}).pop("requestId", None)
    return response.status_code, body


@pytest.mark.parametrize("typename", PLANNED_TYPES)
def test_no_field_with_a_permission_class_or_a_resolver_is_answerable(typename):
    leaves, objects = answerable_fields(typename)
    definition = schema.get_type_by_name(typename)
    assert isinstance(definition, StrawberryObjectDefinition)
    by_name = {schema.config.name_converter.get_graphql_name(f): f for f in definition.fields}
    for name in (*leaves, *objects):
        field = by_name[name]
        assert not field.permission_classes, name
        assert not field.extensions, name
    # the restricted ones of today are out
    if typename == "Coupon":
        assert {"campaign", "usages"}.isdisjoint({*leaves, *objects})


@strawberry.type(name="Thing")
class OpenThing:
    code: str
    secret: str


@strawberry.type(name="Thing")
class GuardedThing:
    code: str
    secret: str = strawberry.field(permission_classes=[AdminOnly])


@strawberry.type(name="Query")
class OpenQuery:
    thing: OpenThing


@strawberry.type(name="Query")
class GuardedQuery:
    thing: GuardedThing


def test_a_plain_field_that_gains_a_permission_class_drops_out():
    # when a type whose `secret` is plain, and one where only admins see it, are read as
    # the compiled paths read the schema
    open_leaves, _ = answerable_fields("Thing", strawberry.Schema(query=OpenQuery))
    guarded_leaves, _ = answerable_fields("Thing", strawberry.Schema(query=GuardedQuery))
    # then the guarded field is not answerable, the others are
    assert set(open_leaves) == {"code", "secret"}
    assert set(guarded_leaves) == {"code"}


LOOKUP_WITH_CAMPAIGN = """
query Lookup($code: String!) { couponByCode(code: $code) { code status campaign { name } } }
"""
LOOKUP_WITH_USAGES = """
query Lookup($code: String!) { couponByCode(code: $code) { code usages { totalCount } } }
"""
REDEEM_WITH_CAMPAIGN = """
mutation Redeem($input: RedeemCouponInput!) {
  redeemCoupon(input: $input) { usage { orderId coupon { code campaign { id } } } errors { code } }
}
"""


@pytest.mark.parametrize("query", [LOOKUP_WITH_CAMPAIGN, LOOKUP_WITH_USAGES])
@pytest.mark.parametrize("role", ["admin", "storefront"])
def test_a_lookup_selecting_a_restricted_field_answers_as_execution_does(
    keyed_servers: dict[str, ThreadServer], clean_db: Database, query: str, role: str
) -> None:
    # given a coupon
    admin = GraphQLClient(keyed_servers["executed"].base_url)
    admin.http.headers["Authorization"] = f"Bearer {KEYS['admin']}"
    create_timed_coupon(admin, code="GUARDED")
    # when the same document is sent to both paths by the same caller
    compiled = answer(keyed_servers["compiled"], role, query, {"code": "GUARDED"})
    executed = answer(keyed_servers["executed"], role, query, {"code": "GUARDED"})
    # then the answers are the same: FORBIDDEN for a storefront, the data for an admin
    assert compiled == executed
    _, body = compiled
    if role == "storefront":
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    else:
        assert "errors" not in body


def test_a_redemption_selecting_a_restricted_field_runs_once_and_is_refused_the_field(
    keyed_servers: dict[str, ThreadServer], clean_db: Database
) -> None:
    # given a coupon
    admin = GraphQLClient(keyed_servers["executed"].base_url)
    admin.http.headers["Authorization"] = f"Bearer {KEYS['admin']}"
    create_timed_coupon(admin, code="GUARDED", maxUsesPerUser=5)
    variables = {"input": {"code": "GUARDED", "userId": "u", "orderId": "o-1", "orderValue": "20"}}
    # when a storefront redeems it on the compiled path's server, asking for the campaign
    _, body = answer(keyed_servers["compiled"], "storefront", REDEEM_WITH_CAMPAIGN, variables)
    # then the campaign is refused as execution refuses it, and the redemption ran once
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert clean_db.value("SELECT count(*) FROM coupon_usages") == 1
    assert clean_db.value("SELECT current_total_uses FROM coupons WHERE code = 'GUARDED'") == 1
