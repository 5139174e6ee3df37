"""A cursor is valid only for the list and the arguments that issued it.

Contract, "Inputs": "A cursor is valid only for the list and the arguments that issued it
(the same query field, the same userId, the same filter); anything else, or any cursor that
does not decode, is INVALID_INPUT on `after`, never an internal error."
"""

from __future__ import annotations

import base64
from typing import Any
from uuid import uuid4

import httpx
import pytest

from graphql_api.schema.paged_lists import USER_COUPONS as USER_COUPONS_LIST
from tests.support.factories import create_timed_coupon, create_user_coupon, redeem
from tests.support.graphql import GraphQLClient, top_errors

LISTS = """
query Lists($userId: String!, $code: String!) {
  userCoupons(userId: $userId, first: 1) { edges { cursor } }
  activeCampaigns(first: 1) { edges { cursor } }
  userUsages(userId: $userId, first: 1) { edges { cursor } }
  couponByCode(code: $code) { usages(first: 1) { edges { cursor } } }
}
"""
# Each list, asked for the page after `$after`, with its own arguments.
PAGE_AFTER = {
    "userCoupons": "query($u: String!, $after: String) {"
    " userCoupons(userId: $u, first: 1, after: $after) { edges { node { code } } } }",
    "activeCampaigns": "query($after: String) {"
    " activeCampaigns(first: 1, after: $after) { edges { node { code } } } }",
    "userUsages": "query($u: String!, $after: String) {"
    " userUsages(userId: $u, first: 1, after: $after) { edges { node { orderId } } } }",
    "usages": "query($c: String!, $after: String) { couponByCode(code: $c) {"
    " usages(first: 1, after: $after) { edges { node { orderId } } } } }",
}


def issued_cursors(gql: GraphQLClient) -> dict[str, str]:
    """One cursor of every list, for user alice and campaign SPRING (two rows each)."""
    for n in range(2):
        create_user_coupon(gql, userId="alice")
        create_timed_coupon(gql, code=f"SPRING-{n}", maxUsesPerUser=5)
        redeem(gql, code="SPRING-0", userId="alice", orderId=f"order-{n}", orderValue="20")
    data = gql(LISTS, {"userId": "alice", "code": "SPRING-0"})
    return {
        "userCoupons": data["userCoupons"]["edges"][0]["cursor"],
        "activeCampaigns": data["activeCampaigns"]["edges"][0]["cursor"],
        "userUsages": data["userUsages"]["edges"][0]["cursor"],
        "usages": data["couponByCode"]["usages"]["edges"][0]["cursor"],
    }


def page_after(gql: GraphQLClient, field: str, after: str, **arguments: Any) -> httpx.Response:
    variables = {"u": "alice", "c": "SPRING-0", "after": after, **arguments}
    return gql.post(PAGE_AFTER[field], variables)


def assert_invalid_after(response: httpx.Response) -> None:
    assert [e["extensions"] for e in top_errors(response)] == [
        {"code": "INVALID_INPUT", "field": "after"}
    ], response.text


def test_each_list_takes_its_own_cursors(gql):
    # given
    cursors = issued_cursors(gql)
    for field, cursor in cursors.items():
        # when
        body = page_after(gql, field, cursor).json()
        # then the page after the first row: the second row
        assert "errors" not in body, (field, body)
        listed = next(iter(body["data"].values()))
        edges = listed["usages"]["edges"] if field == "usages" else listed["edges"]
        assert len(edges) == 1, (field, body)


@pytest.mark.parametrize(
    ("issued_by", "used_on"), [(a, b) for a in PAGE_AFTER for b in PAGE_AFTER if a != b]
)
def test_a_cursor_handed_to_another_list_is_invalid_input_on_after(gql, issued_by, used_on):
    # given
    cursor = issued_cursors(gql)[issued_by]
    # when
    response = page_after(gql, used_on, cursor)
    # then
    assert_invalid_after(response)


@pytest.mark.parametrize(
    ("field", "other"),
    [
        ("userCoupons", {"u": "bob"}),
        ("userCoupons", {"u": "ALICE"}),
        ("userUsages", {"u": "bob"}),
        ("usages", {"c": "SPRING-1"}),  # another coupon's usages
    ],
)
def test_a_cursor_of_the_same_list_with_other_arguments_is_invalid_input(gql, field, other):
    # given
    cursor = issued_cursors(gql)[field]
    # when
    response = page_after(gql, field, cursor, **other)
    # then
    assert_invalid_after(response)


def raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:59:59.999999+00:00",
        "0001-01-01T00:00:00+00:00",
        "2025-06-01T12:00:00",
        "+12025-06-01T12:00:00+00:00",
    ],
)
def test_a_cursor_whose_moment_the_database_cannot_take_is_invalid_input(gql, moment):
    # given a cursor of the right list and arguments, but a moment outside years 1-9999
    scope = USER_COUPONS_LIST.scope("alice")
    cursor = raw_cursor(f"1|{scope.field}|{scope.digest()}|{moment}|{uuid4()}")
    # when
    response = page_after(gql, "userCoupons", cursor)
    # then
    assert_invalid_after(response)


def test_a_cursor_of_another_list_in_a_mutation_is_refused_before_it_writes(gql, db):
    # given a user-coupons cursor, and a mutation asking for usages after it
    cursor = issued_cursors(gql)["userCoupons"]
    coupons_before = db.value("select count(*) from coupons")
    mutation = """mutation($after: String) {
      createUserCoupon(input: {userId: "carol", discountType: FIXED, discountValue: "5"}) {
        coupon { code usages(first: 5, after: $after) { totalCount } }
      }
    }"""
    # when
    response = gql.post(mutation, {"after": cursor})
    # then
    assert_invalid_after(response)
    assert db.value("select count(*) from coupons") == coupons_before


def test_a_cursor_for_another_user_in_a_literal_is_refused_before_anything_runs(gql):
    cursor = issued_cursors(gql)["userCoupons"]
    document = f'{{ userCoupons(userId: "bob", after: "{cursor}") {{ totalCount }} __typename }}'
    response = gql.post(document)
    assert_invalid_after(response)
    assert response.json().get("data") is None  # a request error: nothing ran
