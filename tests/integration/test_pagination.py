"""Cursor connections: keyset pages, newest first, stable cursors, bounded page sizes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.database import Database
from tests.support.factories import create_timed_coupon, create_user_coupon, redeem
from tests.support.graphql import GraphQLClient

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


# --- Ties: rows written in one transaction share their timestamp ---------------------------
#
# Contract: newest first, rows of the same moment by id descending; a cursor resumes just
# after its row, so paging one row at a time yields every row exactly once, in that order.

TIED_USER_COUPONS = """
query TiedUserCoupons($userId: String!, $first: Int, $after: String) {
  list: userCoupons(userId: $userId, first: $first, after: $after) {
    totalCount
    edges { cursor node { id code } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

TIED_ACTIVE_CAMPAIGNS = """
query TiedActiveCampaigns($first: Int, $after: String) {
  list: activeCampaigns(first: $first, after: $after) {
    totalCount
    edges { cursor node { id code } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

TIED_USER_USAGES = """
query TiedUserUsages($userId: String!, $first: Int, $after: String) {
  list: userUsages(userId: $userId, first: $first, after: $after) {
    totalCount
    edges { cursor node { id orderId } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

TIED_COUPON_USAGES_BY_CODE = """
query TiedCouponUsagesByCode($code: String!, $first: Int, $after: String) {
  coupon: couponByCode(code: $code) {
    list: usages(first: $first, after: $after) {
      totalCount
      edges { cursor node { id orderId } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

TIED_COUPON_USAGES_BY_ID = """
query TiedCouponUsagesById($id: ID!, $first: Int, $after: String) {
  coupon(id: $id) {
    list: usages(first: $first, after: $after) {
      totalCount
      edges { cursor node { id orderId } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

# Seconds before the arranging statement's now(), one per row: runs of equal values are
# rows of the same moment, mixed with rows of moments of their own.
AGES = [0, 0, 0, 1, 2, 2, 3, 4, 4, 4, 4, 5]


def newest_first(rows: list[Any]) -> list[str]:
    """The ids of `rows` (with `at` and `id`) in the contract's order."""
    ordered = sorted(rows, key=lambda row: (row["at"], row["id"]), reverse=True)
    assert len({row["at"] for row in rows}) < len(rows), "the arrangement has no ties"
    return [str(row["id"]) for row in ordered]


def one_at_a_time(
    gql: GraphQLClient, query: str, rows: int, **variables: Any
) -> tuple[list[str], list[bool], list[int]]:
    """Walk a connection with `first: 1` until hasNextPage is false, but never more pages
    than there are `rows` (a cursor that repeats a row would walk forever); the node ids,
    each page's hasNextPage, and each page's totalCount."""
    ids: list[str] = []
    has_next: list[bool] = []
    totals: list[int] = []
    after = None
    for _ in range(rows):
        data = gql(query, {**variables, "first": 1, "after": after})
        connection = data["list"] if "list" in data else data["coupon"]["list"]
        assert len(connection["edges"]) == 1, connection
        edge = connection["edges"][0]
        assert connection["pageInfo"]["endCursor"] == edge["cursor"]
        ids.append(edge["node"]["id"])
        has_next.append(connection["pageInfo"]["hasNextPage"])
        totals.append(connection["totalCount"])
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    return ids, has_next, totals


def assert_walked_in_order(walked: tuple[list[str], list[bool], list[int]], expected: list[str]):
    ids, has_next, totals = walked
    assert ids == expected
    assert has_next == [True] * (len(expected) - 1) + [False]
    assert set(totals) == {len(expected)}


def insert_usages(db: Database, usages: list[tuple[str, str, int]]) -> None:
    """(coupon code, user, seconds ago) each, in one statement, so equal ages are one moment;
    each coupon's count is then its usage rows, as a redemption leaves it."""
    codes, users, ages = (list(column) for column in zip(*usages, strict=True))
    db.execute(
        """
        INSERT INTO coupon_usages (coupon_id, user_id, order_id, order_value, discount_applied,
                                   final_amount, used_at)
        SELECT c.id, r.user_id, 'order-' || r.n, 20, 5, 15, now() - r.age * interval '1 second'
        FROM unnest($1::text[], $2::text[], $3::integer[]) WITH ORDINALITY
             AS r(code, user_id, age, n)
        JOIN coupons c ON c.code = r.code
        """,
        codes,
        users,
        ages,
    )
    db.execute(
        "UPDATE coupons SET current_total_uses ="
        " (SELECT count(*) FROM coupon_usages u WHERE u.coupon_id = coupons.id)"
    )


def insert_coupons(db: Database, prefix: str, ages: list[int], **columns: str) -> None:
    """Coupons `prefix-<n>` created `ages` seconds before one now(), in one statement:
    running 10%-off campaigns unless `columns` (SQL expressions) say otherwise."""
    values = {
        "type": "'TIME_SPECIFIC'",
        "discount_type": "'PERCENTAGE'",
        "discount_value": "10",
        "valid_from": "now() - interval '1 day'",
        "valid_until": "now() + interval '1 day'",
        "max_uses_per_user": "100",
        "status": "'ACTIVE'",
        "user_id": "NULL",
        **columns,
    }
    # The column names and expressions are this module's constants, never outside input.
    db.execute(
        f"""
        INSERT INTO coupons (code, created_at, {", ".join(values)})
        SELECT $1 || '-' || n, now() - age * interval '1 second', {", ".join(values.values())}
        FROM unnest($2::integer[]) WITH ORDINALITY AS a(age, n)
        """,  # noqa: S608
        prefix,
        ages,
    )


def test_user_coupons_of_one_moment_page_one_at_a_time_by_id(gql, db):
    # given alice's coupons, runs of them made in one moment, and bob's of the same moments
    user_coupon = {
        "type": "'USER_SPECIFIC'",
        "discount_type": "'FIXED'",
        "max_uses_per_user": "1",
        "max_total_uses": "1",
        "valid_from": "NULL",
        "valid_until": "NULL",
    }
    insert_coupons(db, "ALICE", AGES, **user_coupon, user_id="'alice'")
    insert_coupons(db, "BOB", [0, 2, 4], **user_coupon, user_id="'bob'")
    rows = db.fetch("SELECT id, created_at AS at FROM coupons WHERE user_id = 'alice'")
    # when
    walked = one_at_a_time(gql, TIED_USER_COUPONS, len(rows), userId="alice")
    # then
    assert_walked_in_order(walked, newest_first(rows))


def test_active_campaigns_of_one_moment_page_one_at_a_time_by_id(gql, db):
    # given running campaigns, runs of them made in one moment, and campaigns of the same
    # moments that are not running
    insert_coupons(db, "RUN", AGES)
    insert_coupons(db, "PAUSED", [0, 2, 4], status="'INACTIVE'")
    insert_coupons(db, "ENDED", [0, 4], valid_until="now() - interval '1 second'")
    insert_coupons(db, "SOON", [2], valid_from="now() + interval '1 hour'")
    rows = db.fetch("SELECT id, created_at AS at FROM coupons WHERE code LIKE 'RUN-%'")
    # when
    walked = one_at_a_time(gql, TIED_ACTIVE_CAMPAIGNS, len(rows))
    # then
    assert_walked_in_order(walked, newest_first(rows))


def usages_of_one_moment(db: Database) -> None:
    """Two campaigns; alice's and bob's usages of them, runs of them in one moment."""
    insert_coupons(db, "CAMPAIGN", [10, 20])
    insert_usages(
        db,
        [("CAMPAIGN-1" if n % 3 else "CAMPAIGN-2", "alice", age) for n, age in enumerate(AGES)]
        + [("CAMPAIGN-1", "bob", age) for age in (0, 2, 4, 4)]
        + [("CAMPAIGN-2", "bob", age) for age in (0, 4)],
    )


def test_user_usages_of_one_moment_page_one_at_a_time_by_id(gql, db):
    # given
    usages_of_one_moment(db)
    rows = db.fetch("SELECT id, used_at AS at FROM coupon_usages WHERE user_id = 'alice'")
    # when
    walked = one_at_a_time(gql, TIED_USER_USAGES, len(rows), userId="alice")
    # then
    assert_walked_in_order(walked, newest_first(rows))


@pytest.mark.parametrize("lookup", ["couponByCode", "coupon(id:)"])
def test_a_coupons_usages_of_one_moment_page_one_at_a_time_by_id(gql, db, lookup):
    # given
    usages_of_one_moment(db)
    coupon_id = db.value("SELECT id::text FROM coupons WHERE code = 'CAMPAIGN-1'")
    rows = db.fetch("SELECT id, used_at AS at FROM coupon_usages WHERE coupon_id = $1", coupon_id)
    # when
    if lookup == "couponByCode":
        walked = one_at_a_time(gql, TIED_COUPON_USAGES_BY_CODE, len(rows), code="CAMPAIGN-1")
    else:
        walked = one_at_a_time(gql, TIED_COUPON_USAGES_BY_ID, len(rows), id=coupon_id)
    # then
    assert_walked_in_order(walked, newest_first(rows))
