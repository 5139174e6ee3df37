"""The compiled couponByCode path answers exactly as GraphQL execution does."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from graphql_api.schema.fast_reads import compile_plan
from tests.support.factories import create_timed_coupon, create_user_coupon
from tests.support.servers import ThreadServer, thread_server

ALL_FIELDS = """
query ByCode($code: String!) {
  couponByCode(code: $code) {
    id code type discountType discountValue maxDiscountAmount minOrderValue description
    userId validFrom validUntil maxUsesPerUser maxTotalUses currentTotalUses status
    createdBy createdAt updatedAt __typename
  }
}
"""
ALIASED_LITERAL = """{ shown: couponByCode(code: " welcome-5 ") { c: code off: discountValue
  __typename kind: type } }"""

CASES = [
    ("all fields", ALL_FIELDS, {"code": "WELCOME-5"}, None),
    ("aliases and a literal", ALIASED_LITERAL, None, None),
    ("unknown code", ALL_FIELDS, {"code": "NO-SUCH"}, None),
    ("lower case", ALL_FIELDS, {"code": "welcome-5"}, None),
    ("operation name", ALL_FIELDS, {"code": "WELCOME-5"}, "ByCode"),
    ("other operation name", ALL_FIELDS, {"code": "WELCOME-5"}, "Other"),
    ("NUL in the code", ALL_FIELDS, {"code": "WEL\u0000COME"}, None),
    ("code too long", ALL_FIELDS, {"code": "W" * 51}, None),
    ("missing variable", ALL_FIELDS, {}, None),
    ("number for the code", ALL_FIELDS, {"code": 5}, None),
    ("null for the code", ALL_FIELDS, {"code": None}, None),
    ("unknown field", '{ couponByCode(code: "X") { code nope } }', None, None),
    (
        "nested usages",
        '{ couponByCode(code: "WELCOME-5") { code usages { totalCount } } }',
        None,
        None,
    ),
    ("repeated field", '{ couponByCode(code: "WELCOME-5") { code code } }', None, None),
    (
        "a user coupon",
        "query($c: String!) { couponByCode(code: $c) { userId status } }",
        {"c": "USER"},
        None,
    ),
]


@pytest.fixture(scope="module")
def executed(database_url: str) -> Iterator[ThreadServer]:
    """The same service with the compiled path switched off."""
    with thread_server(database_url, fast_reads=False) as server:
        yield server


@pytest.mark.parametrize(
    ("query", "variables", "operation"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_both_paths_answer_alike(gql, server, executed, query, variables, operation):
    # given
    create_timed_coupon(
        gql, code="WELCOME-5", discountType="FIXED", discountValue="5", description="Welcome"
    )
    user_code = create_user_coupon(gql, userId="alice")["code"]
    if variables and variables.get("c") == "USER":
        variables = {"c": user_code}
    body = {"query": query, "variables": variables, "operationName": operation}
    # when
    compiled = httpx.post(f"{server.base_url}/graphql", json=body)
    ordinary = httpx.post(f"{executed.base_url}/graphql", json=body)
    # then
    assert compiled.status_code == ordinary.status_code
    assert compiled.headers["content-type"] == ordinary.headers["content-type"]
    if ordinary.headers["content-type"].startswith("application/json"):
        assert compiled.json() == ordinary.json()
    else:
        assert compiled.text == ordinary.text


@pytest.mark.parametrize(
    ("query", "planned"),
    [
        (ALL_FIELDS, True),
        (ALIASED_LITERAL, True),
        ('query { couponByCode(code: "A") { code } }', True),
        ("query($c: String) { couponByCode(code: $c) { code } }", False),  # nullable
        ('query($c: String! = "A") { couponByCode(code: $c) { code } }', False),
        ("query($c: String!, $d: Int) { couponByCode(code: $c) { code } }", False),
        ('{ couponByCode(code: "A") { ...F } } fragment F on Coupon { code }', False),
        ('{ couponByCode(code: "A") { code @skip(if: true) } }', False),
        ('{ couponByCode(code: "A") { usages { totalCount } } }', False),
        ('{ a: couponByCode(code: "A") { code } b: couponByCode(code: "B") { code } }', False),
        ('mutation { couponByCode(code: "A") { code } }', False),
        ('{ coupon(id: "A") { code } }', False),
        (
            '{ couponByCode(code: "A") { ' + " ".join(f"a{n}: code" for n in range(21)) + " } }",
            False,
        ),  # 21 aliases: over the limit
        ("{ couponByCode(code: 5) { code } }", False),
        ("{", False),
    ],
)
def test_only_plain_lookups_are_compiled(query, planned):
    assert (compile_plan(query) is not None) is planned
