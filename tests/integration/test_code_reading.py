"""A code is read the same way by every operation that takes one.

Contract, "Inputs": "surrounding whitespace is trimmed, then upper-cased. A code that a create
accepted is always found by a lookup of the same string." Each operation runs on both paths:
the compiled one (`server`) and GraphQL execution (`executed`).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import pytest

from tests.support.factories import REDEEM_COUPON, create_timed_coupon
from tests.support.graphql import GraphQLClient
from tests.support.servers import ThreadServer, thread_server

SPELLINGS = [
    "\tPASTED-1\n",  # pasted from a spreadsheet cell
    "  pasted-1  ",
    "pasted-1\r\n",
    "\u00a0Pasted-1\u2003",  # no-break space before, em space after
]
LOOKUP = "query Lookup($code: String!) { couponByCode(code: $code) { code } }"
LOOKUP_WITH_TYPENAME = (  # not a compiled shape: two root fields
    "query Lookup($code: String!) { couponByCode(code: $code) { code } __typename }"
)
VALIDATE = """
query Validate($input: ValidateCouponInput!) {
  validateCoupon(input: $input) { valid coupon { code } errors { code field } }
}
"""
_orders = count()


@pytest.fixture(scope="module")
def executed(database_url: str) -> Iterator[ThreadServer]:
    with thread_server(database_url, compiled_operations=False) as running:
        yield running


@pytest.fixture(params=["compiled", "executed"])
def client(request, gql, server, executed) -> Iterator[GraphQLClient]:
    chosen = GraphQLClient((server if request.param == "compiled" else executed).base_url)
    yield chosen
    chosen.close()


@pytest.mark.parametrize("spelling", SPELLINGS, ids=repr)
def test_a_code_created_with_whitespace_around_it_is_stored_trimmed(gql, db, spelling):
    # when
    coupon = create_timed_coupon(gql, code=spelling)
    # then
    assert coupon["code"] == "PASTED-1"
    assert db.value("select code from coupons") == "PASTED-1"


@pytest.mark.parametrize("spelling", SPELLINGS, ids=repr)
def test_every_operation_finds_the_code_spelled_as_the_create_took_it(gql, client, spelling):
    # given a campaign created with that very string
    create_timed_coupon(gql, code=spelling, maxUsesPerUser=10)
    # when it is looked up, validated and redeemed with the same string
    looked_up = client(LOOKUP, {"code": spelling})["couponByCode"]
    looked_up_too = client(LOOKUP_WITH_TYPENAME, {"code": spelling})["couponByCode"]
    validated = client(VALIDATE, {"input": {"code": spelling, "userId": "u", "orderValue": "20"}})[
        "validateCoupon"
    ]
    order = f"order-{next(_orders)}"
    redeemed = client(
        REDEEM_COUPON,
        {"input": {"code": spelling, "userId": "u", "orderId": order, "orderValue": "20"}},
    )["redeemCoupon"]
    # then each finds it
    assert looked_up == looked_up_too == {"code": "PASTED-1"}
    assert (validated["valid"], validated["coupon"], validated["errors"]) == (
        True,
        {"code": "PASTED-1"},
        [],
    )
    assert redeemed["errors"] == []
    assert redeemed["usage"]["coupon"]["code"] == "PASTED-1"


@pytest.mark.parametrize("code", ["PAST\tED-1", "PASTED-1\x00", "\t\n", "P" * 51])
def test_a_code_no_create_would_take_is_invalid_input_everywhere(gql, client, code):
    # when
    lookup_errors = client.errors(LOOKUP, {"code": code})
    validated = client(VALIDATE, {"input": {"code": code, "userId": "u", "orderValue": "20"}})
    redeemed = client(
        REDEEM_COUPON,
        {"input": {"code": code, "userId": "u", "orderId": "o-invalid", "orderValue": "20"}},
    )
    # then
    assert [e["extensions"] for e in lookup_errors] == [{"code": "INVALID_INPUT", "field": "code"}]
    assert validated["validateCoupon"]["errors"] == [{"code": "INVALID_INPUT", "field": "code"}]
    assert [(e["code"], e["field"]) for e in redeemed["redeemCoupon"]["errors"]] == [
        ("INVALID_INPUT", "code")
    ]
