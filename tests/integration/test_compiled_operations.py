"""The compiled couponByCode path answers exactly as GraphQL execution does."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from graphql_api.schema.compiled import compile_plan
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
    with thread_server(database_url, compiled_operations=False) as server:
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
    same_id = {"X-Request-ID": "compare-paths"}  # answers may carry it
    # when
    compiled = httpx.post(f"{server.base_url}/graphql", json=body, headers=same_id)
    ordinary = httpx.post(f"{executed.base_url}/graphql", json=body, headers=same_id)
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


REDEEM_ALL = """
mutation Redeem($input: RedeemCouponInput!) {
  redeemCoupon(input: $input) {
    __typename
    usage {
      __typename id userId orderId orderValue discountApplied finalAmount usedAt ipAddress
      userAgent coupon { __typename id code status currentTotalUses maxTotalUses validUntil }
    }
    discountAmount
    finalAmount
    errors { __typename code field message }
  }
}
"""
REDEEM_ALIASED = """
mutation ($input: RedeemCouponInput!) {
  r: redeemCoupon(input: $input) { off: discountAmount pay: finalAmount
    problems: errors { c: code } u: usage { o: orderId } }
}
"""
# (document, input with {order} and {code} to fill in, extra headers)
REDEMPTION_STEPS = [
    (REDEEM_ALL, {"code": "{code}", "userId": "u1", "orderId": "{order}-1", "orderValue": "80"}),
    (REDEEM_ALL, {"code": "{code}", "userId": "u1", "orderId": "{order}-1", "orderValue": "80"}),
    (REDEEM_ALL, {"code": "{code}", "userId": "u1", "orderId": "{order}-1", "orderValue": "81"}),
    (REDEEM_ALL, {"code": "{code}", "userId": "u1", "orderId": "{order}-2", "orderValue": "80"}),
    (
        REDEEM_ALL,
        {"code": "NOPE-{code}", "userId": "u9", "orderId": "{order}-3", "orderValue": "80"},
    ),
    (REDEEM_ALL, {"code": "{code}", "userId": "u2", "orderId": "{order}-4", "orderValue": "1.001"}),
    (REDEEM_ALL, {"code": "{code}", "userId": "u2", "orderId": "{order}-5"}),
    (REDEEM_ALL, {"code": "{code}", "userId": "u2", "orderId": "{order}-6", "orderValue": True}),
    (
        REDEEM_ALL,
        {
            "code": "{code}",
            "userId": "u2",
            "orderId": "{order}-7",
            "orderValue": "5",
            "coupon": "x",
        },
    ),
    (REDEEM_ALL, {"code": "{code}", "userId": 7, "orderId": "{order}-8", "orderValue": "5"}),
    (
        REDEEM_ALIASED,
        {
            "code": "{code}",
            "userId": "u3",
            "orderId": "{order}-9",
            "orderValue": 12.5,
            "ipAddress": None,
            "userAgent": None,
        },
    ),
    (
        REDEEM_ALL,
        {
            "code": "{code}",
            "userId": "u4",
            "orderId": "{order}-10",
            "orderValue": "19.99",
            "ipAddress": "2001:db8::7",
            "userAgent": "Shop/2",
        },
    ),
    (
        REDEEM_ALL,
        {
            "code": "{code}",
            "userId": "u5",
            "orderId": "{order}-11",
            "orderValue": "5",
            "ipAddress": "not-an-ip",
        },
    ),
]

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
MOMENT = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00"


def normalized(text: str, code: str, order: str) -> str:
    """The answer with what must differ between the two runs (ids, moments, the coupon's
    code and the order ids, which are unique per run) replaced by placeholders."""
    text = text.replace(code, "CODE").replace(order, "ORDER")
    return re.sub(MOMENT, "MOMENT", re.sub(UUID, "UUID", text))


def fill(value, code: str, order: str):
    if isinstance(value, dict):
        return {key: fill(item, code, order) for key, item in value.items()}
    if isinstance(value, str):
        return value.replace("{code}", code).replace("{order}", order)
    return value


def test_redemptions_answer_alike_on_both_paths(gql, server, executed):
    # given two identical campaigns, one for each path
    runs = []
    for base_url, code, order in (
        (server.base_url, "CMP-COMPILED", "compiled"),
        (executed.base_url, "CMP-EXECUTED", "executed"),
    ):
        create_timed_coupon(
            gql,
            code=code,
            discountType="PERCENTAGE",
            discountValue="12.5",
            maxDiscountAmount="9",
            maxUsesPerUser=1,
            maxTotalUses=5,
        )
        answers = []
        # when the same steps run through each path
        for document, fields in REDEMPTION_STEPS:
            response = httpx.post(
                f"{base_url}/graphql",
                json={"query": document, "variables": {"input": fill(fields, code, order)}},
                headers={
                    "X-Forwarded-For": "203.0.113.99",
                    "User-Agent": "tests/1",
                    "X-Request-ID": "compare-paths",  # answers may carry it
                },
            )
            answers.append((response.status_code, normalized(response.text, code, order)))
        runs.append(answers)
    # then every answer is the same, but for ids, moments and the per-run names
    for step, (compiled, executed_answer) in enumerate(zip(*runs, strict=True)):
        assert compiled == executed_answer, (step, compiled, executed_answer)


@pytest.mark.parametrize(
    ("query", "planned"),
    [
        (REDEEM_ALL, True),
        (REDEEM_ALIASED, True),
        ("mutation($i: RedeemCouponInput) { redeemCoupon(input: $i) { finalAmount } }", False),
        (
            'mutation { redeemCoupon(input: {code: "A", userId: "u", orderId: "o", '
            "orderValue: 1}) { finalAmount } }",
            False,
        ),
        (
            "mutation($i: RedeemCouponInput!) { redeemCoupon(input: $i) { usage { coupon { "
            "usages { totalCount } } } } }",
            False,
        ),
        (
            "mutation($i: RedeemCouponInput!) { redeemCoupon(input: $i) { finalAmount } "
            'createUserCoupon(input: {userId: "u", discountType: FIXED, discountValue: 1}) '
            "{ errors { code } } }",
            False,
        ),
        ("query($i: RedeemCouponInput!) { redeemCoupon(input: $i) { finalAmount } }", False),
    ],
)
def test_only_plain_redemptions_are_compiled(query, planned):
    assert (compile_plan(query) is not None) is planned
