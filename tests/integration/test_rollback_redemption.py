"""rollbackRedemption: the usage is marked ROLLED_BACK beside it, and every count it took is
given back to the coupon, the user and the campaign. Idempotent; the order is free again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.database import Database
from tests.support.factories import (
    ROLLBACK_REDEMPTION,
    campaign_with_codes,
    create_timed_coupon,
    create_user_coupon,
    redeem,
    reserve,
    rollback,
)
from tests.support.graphql import GraphQLClient

COUPON_USAGES = """
query CouponUsages($code: String!) {
  couponByCode(code: $code) {
    currentTotalUses heldUses status
    usages { totalCount edges { node { id orderId status rolledBackAt rollbackReason } } }
  }
}
"""

CAMPAIGN_COUNTS = """
query CampaignCounts($id: ID!) {
  campaign(id: $id) { totalUses heldUses totalDiscount status }
}
"""

RESERVATION = """
query Reservation($orderId: String!) { reservation(orderId: $orderId) { id status } }
"""

RECORDED = (
    "id, coupon_id, campaign_id, user_id, order_id, order_value, discount_applied,"
    " final_amount, used_at, ip_address, user_agent"
)


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


def coupon_state(gql: GraphQLClient, code: str) -> dict[str, Any]:
    coupon: dict[str, Any] = gql(COUPON_USAGES, {"code": code})["couponByCode"]
    return coupon


def campaign_counts(gql: GraphQLClient, campaign_id: str) -> dict[str, Any]:
    campaign: dict[str, Any] = gql(CAMPAIGN_COUNTS, {"id": campaign_id})["campaign"]
    return campaign


def redeemed(gql: GraphQLClient, code: str, user: str, order: str, value: str = "50") -> dict:
    payload = redeem(gql, code=code, userId=user, orderId=order, orderValue=value)
    assert payload["errors"] == [], payload["errors"]
    return payload


def recorded(db: Database, order_id: str) -> list[dict[str, Any]]:
    rows = db.fetch(
        f"SELECT {RECORDED} FROM coupon_usages WHERE order_id = $1 ORDER BY used_at",  # noqa: S608
        order_id,
    )
    return [dict(row) for row in rows]


def test_a_rollback_gives_back_every_count(gql, db):
    # given a campaign of one use per code, per user and in all, and a 5.00 budget, spent
    campaign_id, [code] = campaign_with_codes(
        gql, db, 1, maxUsesPerCode=1, maxUsesPerUser=1, maxTotalUses=1, maxTotalDiscount="5.00"
    )
    usage = redeemed(gql, code, "alice", "o-1")["usage"]
    assert coupon_state(gql, code)["status"] == "EXHAUSTED"
    assert campaign_counts(gql, campaign_id)["status"] == "EXHAUSTED"
    # when
    payload = rollback(gql, "o-1", reason="customer cancelled")
    # then the usage is marked, and everything it took is given back
    assert payload["errors"] == []
    rolled_back = payload["usage"]
    assert rolled_back["id"] == usage["id"]
    assert rolled_back["status"] == "ROLLED_BACK"
    assert rolled_back["rolledBackAt"].endswith("+00:00")
    assert rolled_back["rollbackReason"] == "customer cancelled"
    assert rolled_back["discountApplied"] == "5.00"
    assert (payload["discountAmount"], payload["finalAmount"]) == ("5.00", "45.00")
    assert rolled_back["coupon"]["currentTotalUses"] == 0
    assert rolled_back["coupon"]["status"] == "ACTIVE"
    assert campaign_counts(gql, campaign_id) == {
        "totalUses": 0,
        "heldUses": 0,
        "totalDiscount": "0.00",
        "status": "ACTIVE",
    }
    assert db.value("SELECT status::text FROM coupons") == "ACTIVE"
    assert db.value("SELECT status::text FROM campaigns") == "ACTIVE"
    # and alice may use the same code again, on a new order
    again = redeem(gql, code=code, userId="alice", orderId="o-2", orderValue="50")
    assert again["errors"] == []
    assert campaign_counts(gql, campaign_id)["totalDiscount"] == "5.00"


def test_a_rollback_gives_the_user_back_their_use(gql):
    # given alice used her one use of a coupon that has more
    create_timed_coupon(gql, code="ONCEEACH", maxUsesPerUser=1, maxTotalUses=5)
    redeemed(gql, "ONCEEACH", "alice", "o-1")
    assert error_codes(
        redeem(gql, code="ONCEEACH", userId="alice", orderId="o-2", orderValue="50")
    ) == ["USER_LIMIT_REACHED"]
    # when
    rollback(gql, "o-1")
    # then
    assert (
        redeem(gql, code="ONCEEACH", userId="alice", orderId="o-2", orderValue="50")["errors"] == []
    )
    assert coupon_state(gql, "ONCEEACH")["currentTotalUses"] == 1


def test_a_rollback_gives_back_a_use_across_the_campaigns_codes(gql, db):
    _, codes = campaign_with_codes(gql, db, 2, maxUsesPerUser=1)
    redeemed(gql, codes[0], "alice", "o-1")
    assert error_codes(
        redeem(gql, code=codes[1], userId="alice", orderId="o-2", orderValue="50")
    ) == ["USER_LIMIT_REACHED"]
    rollback(gql, "o-1")
    assert (
        redeem(gql, code=codes[1], userId="alice", orderId="o-2", orderValue="50")["errors"] == []
    )


def test_an_exhausted_coupon_is_active_again(gql, db):
    create_timed_coupon(gql, code="LASTUSE", maxUsesPerUser=2, maxTotalUses=2)
    redeemed(gql, "LASTUSE", "alice", "o-1")
    redeemed(gql, "LASTUSE", "bob", "o-2")
    assert db.value("SELECT status::text FROM coupons") == "EXHAUSTED"
    payload = rollback(gql, "o-2")
    assert payload["usage"]["coupon"]["status"] == "ACTIVE"
    assert coupon_state(gql, "LASTUSE")["status"] == "ACTIVE"
    assert db.value("SELECT status::text FROM coupons") == "ACTIVE"
    assert (
        redeem(gql, code="LASTUSE", userId="carol", orderId="o-3", orderValue="50")["errors"] == []
    )


def test_an_exhausted_coupon_past_its_window_stays_closed(gql, db):
    create_timed_coupon(gql, code="CLOSED", maxUsesPerUser=1, maxTotalUses=1)
    redeemed(gql, "CLOSED", "alice", "o-1")
    db.execute("UPDATE coupons SET valid_until = now() - interval '1 second'")
    payload = rollback(gql, "o-1")
    assert payload["errors"] == []
    assert payload["usage"]["coupon"]["status"] == "EXPIRED"
    assert payload["usage"]["coupon"]["currentTotalUses"] == 0
    assert error_codes(
        redeem(gql, code="CLOSED", userId="bob", orderId="o-2", orderValue="50")
    ) == ["EXPIRED"]


def test_a_campaign_exhausted_by_its_budget_is_active_again(gql, db):
    campaign_id, codes = campaign_with_codes(gql, db, 3, maxTotalDiscount="10.00")
    redeemed(gql, codes[0], "alice", "o-1")
    redeemed(gql, codes[1], "bob", "o-2")
    assert campaign_counts(gql, campaign_id)["status"] == "EXHAUSTED"
    rollback(gql, "o-2")
    assert campaign_counts(gql, campaign_id) == {
        "totalUses": 1,
        "heldUses": 0,
        "totalDiscount": "5.00",
        "status": "ACTIVE",
    }
    assert (
        redeem(gql, code=codes[2], userId="carol", orderId="o-3", orderValue="50")["errors"] == []
    )


def test_a_second_rollback_answers_the_same_usage_and_changes_nothing(gql, db):
    # given
    campaign_id, [code] = campaign_with_codes(gql, db, 1, maxTotalUses=5)
    redeemed(gql, code, "alice", "o-1")
    first = rollback(gql, "o-1", reason="refund")
    before = [dict(row) for row in db.fetch("SELECT * FROM coupon_usages")]
    # when
    again = rollback(gql, "o-1", reason="another reason")
    # then
    assert again["errors"] == []
    assert again["usage"] == first["usage"]
    assert again["usage"]["rollbackReason"] == "refund"
    assert [dict(row) for row in db.fetch("SELECT * FROM coupon_usages")] == before
    assert coupon_state(gql, code)["currentTotalUses"] == 0
    assert campaign_counts(gql, campaign_id)["totalUses"] == 0
    assert db.value("SELECT rolled_back_uses FROM coupons") == 1


def test_an_order_without_a_redemption_is_not_found(gql, db):
    # given an order that only holds a coupon, and one never seen
    create_timed_coupon(gql, code="HELDONLY")
    assert (
        reserve(gql, code="HELDONLY", userId="alice", orderId="o-1", orderValue="50")["errors"]
        == []
    )
    for order in ("o-1", "never-seen"):
        # when
        payload = rollback(gql, order)
        # then
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", "orderId")]
        assert payload["usage"] is None
    assert coupon_state(gql, "HELDONLY")["heldUses"] == 1


def test_a_rolled_back_order_may_be_redeemed_again(gql, db):
    # given a rolled-back order
    create_timed_coupon(gql, code="REDO", maxUsesPerUser=1, maxTotalUses=1)
    first = redeemed(gql, "REDO", "alice", "o-1")["usage"]
    rollback(gql, "o-1", reason="payment failed")
    # when it is redeemed again
    payload = redeem(gql, code="REDO", userId="alice", orderId="o-1", orderValue="60")
    # then it is a new usage, counted once
    assert payload["errors"] == []
    second = payload["usage"]
    assert second["id"] != first["id"]
    assert second["orderValue"] == "60.00"
    state = coupon_state(gql, "REDO")
    assert (state["currentTotalUses"], state["status"]) == (1, "EXHAUSTED")
    # and the coupon lists both usages, newest first, with their statuses
    usages = state["usages"]
    assert usages["totalCount"] == 2
    nodes = [edge["node"] for edge in usages["edges"]]
    assert [(node["id"], node["status"]) for node in nodes] == [
        (second["id"], "REDEEMED"),
        (first["id"], "ROLLED_BACK"),
    ]
    assert nodes[0]["rolledBackAt"] is None
    assert nodes[1]["rollbackReason"] == "payment failed"
    # and a retry of the new redemption answers it, not the rolled-back one
    retry = redeem(gql, code="REDO", userId="alice", orderId="o-1", orderValue="60")
    assert retry["usage"]["id"] == second["id"]
    assert db.value("SELECT count(*) FROM coupon_usages") == 2


def test_a_rolled_back_order_may_be_held_again(gql):
    create_timed_coupon(gql, code="HOLDAGAIN", maxUsesPerUser=1, maxTotalUses=1)
    assert (
        reserve(gql, code="HOLDAGAIN", userId="alice", orderId="o-1", orderValue="50")["errors"]
        == []
    )
    redeemed(gql, "HOLDAGAIN", "alice", "o-1")
    rollback(gql, "o-1")
    payload = reserve(gql, code="HOLDAGAIN", userId="alice", orderId="o-1", orderValue="50")
    assert payload["errors"] == []
    assert payload["reservation"]["status"] == "HELD"
    found = gql(RESERVATION, {"orderId": "o-1"})["reservation"]
    assert (found["id"], found["status"]) == (payload["reservation"]["id"], "HELD")


def test_what_a_usage_recorded_never_changes(gql, db):
    # given a redemption
    create_timed_coupon(gql, code="AUDIT", maxUsesPerUser=2)
    redeem(
        gql,
        code="AUDIT",
        userId="alice",
        orderId="o-1",
        orderValue="50",
        ipAddress="203.0.113.9",
        userAgent="Shop/2",
    )
    before = recorded(db, "o-1")
    # when it is rolled back and the order redeemed again
    rollback(gql, "o-1", reason="refund")
    redeemed(gql, "AUDIT", "alice", "o-1", "70")
    # then the first row is kept as it was, with the rollback beside it
    after = recorded(db, "o-1")
    assert len(after) == 2
    assert after[0] == before[0]
    marks = db.fetch(
        "SELECT rolled_back_at, rollback_reason FROM coupon_usages WHERE id = $1", before[0]["id"]
    )
    assert marks[0]["rolled_back_at"] is not None
    assert marks[0]["rollback_reason"] == "refund"


def test_usages_refuse_edits_and_deletes_in_sql(gql, db):
    create_timed_coupon(gql, code="APPEND", maxUsesPerUser=2)
    redeemed(gql, "APPEND", "alice", "o-1")
    rollback(gql, "o-1", reason="refund")
    for statement in (
        "UPDATE coupon_usages SET order_value = 1",
        "UPDATE coupon_usages SET rolled_back_at = NULL, rollback_reason = NULL",
        "UPDATE coupon_usages SET rollback_reason = 'rewritten'",
        "DELETE FROM coupon_usages",
    ):
        with pytest.raises(Exception, match="append-only"):
            db.execute(statement)
    row = db.fetch("SELECT order_value, rollback_reason FROM coupon_usages")[0]
    assert (str(row["order_value"]), row["rollback_reason"]) == ("50.00", "refund")


def test_a_reason_over_500_characters_is_invalid_input_writing_nothing(gql, db):
    # given
    create_timed_coupon(gql, code="REASON", maxUsesPerUser=2)
    redeemed(gql, "REASON", "alice", "o-1")
    # when
    payload = rollback(gql, "o-1", reason="r" * 501)
    # then
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", "reason")]
    assert payload["usage"] is None
    assert db.value("SELECT count(*) FROM coupon_usages WHERE rolled_back_at IS NULL") == 1
    assert coupon_state(gql, "REASON")["currentTotalUses"] == 1
    # and 500 characters, on several lines, are kept as given
    reason = "line one\n" + "r" * 491
    accepted = rollback(gql, "o-1", reason=reason)
    assert accepted["errors"] == []
    assert accepted["usage"]["rollbackReason"] == reason


def test_a_bad_order_id_is_invalid_input(gql):
    for order in ("", "o" * 101):
        payload = rollback(gql, order, reason="r" * 501)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("INVALID_INPUT", "orderId")
        ], order


def test_a_rolled_back_user_coupon_is_redeemable_again(gql):
    # given alice's single-use coupon, used and rolled back
    coupon = create_user_coupon(gql, userId="alice")
    redeemed(gql, coupon["code"], "alice", "o-1")
    assert error_codes(
        redeem(gql, code=coupon["code"], userId="alice", orderId="o-2", orderValue="50")
    ) == ["ALREADY_REDEEMED"]
    payload = rollback(gql, "o-1")
    assert payload["usage"]["coupon"]["status"] == "ACTIVE"
    # when
    again = redeem(gql, code=coupon["code"], userId="alice", orderId="o-2", orderValue="50")
    # then
    assert again["errors"] == []
    assert again["usage"]["coupon"]["status"] == "EXHAUSTED"
    # and it is still hers alone
    assert error_codes(
        redeem(gql, code=coupon["code"], userId="bob", orderId="o-3", orderValue="50")
    ) == ["NOT_FOUND"]


def test_a_rollback_without_a_reason_keeps_none(gql):
    create_timed_coupon(gql, code="NOREASON")
    redeemed(gql, "NOREASON", "alice", "o-1")
    payload = gql(ROLLBACK_REDEMPTION, {"input": {"orderId": "o-1"}})["rollbackRedemption"]
    assert payload["usage"]["status"] == "ROLLED_BACK"
    assert payload["usage"]["rollbackReason"] is None
    assert payload["usage"]["rolledBackAt"] is not None
