"""Cursor connections: keyset pages, newest first, stable cursors, bounded page sizes."""

from __future__ import annotations

import pytest

from tests.support.factories import create_timed_coupon, create_user_coupon, redeem

USER_COUPONS = """
query UserCoupons($userId: String!, $first: Int, $after: String) {
  userCoupons(userId: $userId, first: $first, after: $after) {
    totalCount
    edges { cursor node { code userId } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

ACTIVE_CAMPAIGNS = """
query ActiveCampaigns($first: Int, $after: String) {
  activeCampaigns(first: $first, after: $after) {
    totalCount
    edges { node { code status } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

USER_USAGES = """
query UserUsages($userId: String!, $first: Int, $after: String) {
  userUsages(userId: $userId, first: $first, after: $after) {
    totalCount
    edges { node { orderId coupon { code } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

COUPON_USAGES = """
query CouponUsages($code: String!, $first: Int, $after: String) {
  couponByCode(code: $code) {
    usages(first: $first, after: $after) {
      totalCount
      edges { cursor node { orderId } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


def all_pages(gql, query, field, page_size, **variables):
    """Walk a connection page by page; return the pages' node lists."""
    pages, after = [], None
    while True:
        data = gql(query, {**variables, "first": page_size, "after": after})[field]
        pages.append([edge["node"] for edge in data["edges"]])
        if not data["pageInfo"]["hasNextPage"]:
            return pages, data["totalCount"]
        after = data["pageInfo"]["endCursor"]


def test_user_coupons_pages_newest_first(gql):
    # given seven coupons for alice and one for bob
    codes = [create_user_coupon(gql, userId="alice")["code"] for _ in range(7)]
    create_user_coupon(gql, userId="bob")
    # when
    pages, total = all_pages(gql, USER_COUPONS, "userCoupons", 3, userId="alice")
    # then
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [node["code"] for page in pages for node in page] == codes[::-1]
    assert total == 7


def test_a_cursor_stays_valid_while_newer_rows_arrive(gql):
    for _ in range(4):
        create_user_coupon(gql, userId="alice")
    first_page = gql(USER_COUPONS, {"userId": "alice", "first": 2})["userCoupons"]
    cursor = first_page["pageInfo"]["endCursor"]
    before = gql(USER_COUPONS, {"userId": "alice", "first": 2, "after": cursor})["userCoupons"]
    create_user_coupon(gql, userId="alice")  # newer: lands before the cursor, not after
    after = gql(USER_COUPONS, {"userId": "alice", "first": 2, "after": cursor})["userCoupons"]
    assert after["edges"] == before["edges"]
    assert after["totalCount"] == 5


def test_an_empty_list(gql):
    data = gql(USER_COUPONS, {"userId": "nobody"})["userCoupons"]
    assert data == {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }


def test_active_campaigns_are_running_active_timed_coupons_only(gql, db):
    # given
    for code in ("RUN1", "RUN2", "RUN3", "PAUSED", "OVER", "ENDED"):
        create_timed_coupon(gql, code=code, maxTotalUses=1)
    create_user_coupon(gql, userId="alice")
    db.execute("update coupons set status = 'INACTIVE' where code = 'PAUSED'")
    db.execute("update coupons set current_total_uses = 1 where code = 'OVER'")
    db.execute("update coupons set valid_until = now() - interval '1 second' where code = 'ENDED'")
    # when
    pages, total = all_pages(gql, ACTIVE_CAMPAIGNS, "activeCampaigns", 2)
    # then
    assert [[node["code"] for node in page] for page in pages] == [["RUN3", "RUN2"], ["RUN1"]]
    assert total == 3


def test_campaigns_that_have_not_started_are_not_active(gql):
    from datetime import timedelta

    from tests.support.factories import iso, now

    create_timed_coupon(
        gql,
        code="SOON",
        validFrom=iso(now() + timedelta(hours=1)),
        validUntil=iso(now() + timedelta(days=1)),
    )
    data = gql(ACTIVE_CAMPAIGNS)["activeCampaigns"]
    assert data["totalCount"] == 0


def test_user_usages_and_coupon_usages_page_newest_first(gql):
    create_timed_coupon(gql, code="MANY", maxUsesPerUser=10)
    orders = [f"order-{n}" for n in range(5)]
    for order in orders:
        assert redeem(gql, code="MANY", userId="u", orderId=order, orderValue="10")["errors"] == []
    pages, total = all_pages(gql, USER_USAGES, "userUsages", 2, userId="u")
    assert [node["orderId"] for page in pages for node in page] == orders[::-1]
    assert total == 5
    assert pages[0][0]["coupon"] == {"code": "MANY"}

    edges, after = [], None
    while True:
        data = gql(COUPON_USAGES, {"code": "MANY", "first": 2, "after": after})
        usages = data["couponByCode"]["usages"]
        edges += usages["edges"]
        if not usages["pageInfo"]["hasNextPage"]:
            break
        after = usages["pageInfo"]["endCursor"]
    assert [edge["node"]["orderId"] for edge in edges] == orders[::-1]
    assert usages["totalCount"] == 5


@pytest.mark.parametrize("first", [0, -1, 101, 1000])
def test_first_outside_1_to_100_is_refused(gql, first):
    for query, variables in (
        (USER_COUPONS, {"userId": "u"}),
        (ACTIVE_CAMPAIGNS, {}),
        (USER_USAGES, {"userId": "u"}),
    ):
        errors = gql.errors(query, {**variables, "first": first})
        assert errors[0]["extensions"] == {"code": "INVALID_INPUT", "field": "first"}


def test_first_of_100_and_null_first(gql):
    assert gql(ACTIVE_CAMPAIGNS, {"first": 100})["activeCampaigns"]["totalCount"] == 0
    errors = gql.errors("{ activeCampaigns(first: null) { totalCount } }")
    assert errors[0]["extensions"]["field"] == "first"


def test_nested_page_size_is_bounded_too(gql):
    create_timed_coupon(gql, code="NESTED")
    errors = gql.errors(COUPON_USAGES, {"code": "NESTED", "first": 101})
    assert errors[0]["extensions"] == {"code": "INVALID_INPUT", "field": "first"}


def test_cursors_the_service_did_not_issue_are_refused(gql):
    create_timed_coupon(gql, code="CURSOR")
    redeem(gql, code="CURSOR", userId="u", orderId="o", orderValue="10")
    usage_cursor = gql(COUPON_USAGES, {"code": "CURSOR"})["couponByCode"]["usages"]["edges"][0][
        "cursor"
    ]
    for cursor in ("garbage", "", "Zm9vYmFy", usage_cursor):
        errors = gql.errors(USER_COUPONS, {"userId": "u", "after": cursor})
        assert errors[0]["extensions"] == {"code": "INVALID_INPUT", "field": "after"}


def test_page_arguments_are_checked_before_a_mutation_writes(gql, db):
    # given a mutation whose selection asks for a page with a cursor from another list
    mutation = """mutation($after: String) {
      createUserCoupon(input: {userId: "u", discountType: FIXED, discountValue: "5"}) {
        coupon { code usages(first: 5, after: $after) { totalCount } }
      }
    }"""
    coupon_cursor = "Yw"  # any string that is not a usage cursor
    # when
    errors = gql.errors(mutation, {"after": coupon_cursor})
    # then nothing ran
    assert errors[0]["extensions"] == {"code": "INVALID_INPUT", "field": "after"}
    assert db.value("select count(*) from coupons") == 0
