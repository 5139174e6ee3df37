"""releaseReservation: HELD becomes RELEASED and frees its use at once; RELEASED and EXPIRED
are answered unchanged; REDEEMED is ALREADY_REDEEMED; an order without one is NOT_FOUND."""

from __future__ import annotations

from typing import Any

from tests.support.database import Database
from tests.support.factories import (
    RELEASE_RESERVATION,
    campaign_with_codes,
    create_timed_coupon,
    redeem,
    release,
    reserve,
)
from tests.support.graphql import GraphQLClient

COUPON_COUNTS = """
query CouponCounts($code: String!) {
  couponByCode(code: $code) { currentTotalUses heldUses status }
}
"""

CAMPAIGN_COUNTS = """
query CampaignCounts($id: ID!) {
  campaign(id: $id) { totalUses heldUses totalDiscount status }
}
"""

RESERVATION = """
query Reservation($orderId: String!) {
  reservation(orderId: $orderId) { id status coupon { code } }
}
"""


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [error["code"] for error in payload["errors"]]


def counts(gql: GraphQLClient, code: str) -> dict[str, Any]:
    coupon: dict[str, Any] = gql(COUPON_COUNTS, {"code": code})["couponByCode"]
    return coupon


def hold(gql: GraphQLClient, code: str, user: str, order: str, value: str = "50") -> dict:
    payload = reserve(gql, code=code, userId=user, orderId=order, orderValue=value)
    assert payload["errors"] == [], payload["errors"]
    return payload


def expire_hold(db: Database, order_id: str) -> None:
    """Move the order's live hold back in time so that it has expired (no sweep runs)."""
    db.execute(
        "UPDATE coupon_reservations SET created_at = created_at - interval '2 hours',"
        " expires_at = now() - interval '1 second' WHERE order_id = $1 AND status = 'HELD'",
        order_id,
    )


def stored(db: Database, order_id: str) -> list[tuple[str, Any]]:
    rows = db.fetch(
        "SELECT status::text AS status, ended_at FROM coupon_reservations WHERE order_id = $1"
        " ORDER BY created_at",
        order_id,
    )
    return [(row["status"], row["ended_at"]) for row in rows]


def test_a_held_reservation_is_released(gql, db):
    # given
    create_timed_coupon(gql, code="LETGO", discountType="FIXED", discountValue="5")
    held = hold(gql, "LETGO", "alice", "o-1")
    # when
    payload = release(gql, "o-1")
    # then
    assert payload["errors"] == []
    released = payload["reservation"]
    assert released["id"] == held["reservation"]["id"]
    assert released["status"] == "RELEASED"
    assert (released["userId"], released["orderId"]) == ("alice", "o-1")
    assert released["coupon"]["heldUses"] == 0
    assert payload["discountAmount"] == "5.00"
    assert payload["finalAmount"] == "45.00"
    [(status, ended_at)] = stored(db, "o-1")
    assert status == "RELEASED"
    assert ended_at is not None


def test_a_released_hold_frees_its_unit_at_once(gql):
    # given a coupon's one use held by alice
    create_timed_coupon(gql, code="ONEUSE", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "ONEUSE", "alice", "o-1")
    assert error_codes(
        reserve(gql, code="ONEUSE", userId="bob", orderId="o-2", orderValue="50")
    ) == ["EXHAUSTED"]
    # when she releases it
    release(gql, "o-1")
    # then the use is free for bob and for alice herself
    assert counts(gql, "ONEUSE") == {"currentTotalUses": 0, "heldUses": 0, "status": "ACTIVE"}
    payload = redeem(gql, code="ONEUSE", userId="bob", orderId="o-2", orderValue="50")
    assert payload["errors"] == []


def test_a_released_hold_frees_the_campaigns_uses_and_money(gql, db):
    # given a campaign of one use and a 5.00 budget, held
    campaign_id, codes = campaign_with_codes(
        gql, db, 2, maxTotalUses=1, maxUsesPerUser=1, maxTotalDiscount="5.00"
    )
    hold(gql, codes[0], "alice", "o-1")
    # when
    release(gql, "o-1")
    # then
    assert gql(CAMPAIGN_COUNTS, {"id": campaign_id})["campaign"] == {
        "totalUses": 0,
        "heldUses": 0,
        "totalDiscount": "0.00",
        "status": "ACTIVE",
    }
    assert (
        reserve(gql, code=codes[1], userId="alice", orderId="o-2", orderValue="50")["errors"] == []
    )


def test_releasing_again_answers_it_unchanged(gql, db):
    create_timed_coupon(gql, code="TWICE")
    hold(gql, "TWICE", "alice", "o-1")
    first = release(gql, "o-1")
    before = stored(db, "o-1")
    again = release(gql, "o-1")
    assert again["errors"] == []
    assert again["reservation"] == first["reservation"]
    assert stored(db, "o-1") == before


def test_releasing_an_expired_hold_answers_it_expired(gql, db):
    # given a hold that expired and was not swept
    create_timed_coupon(gql, code="LAPSED")
    held = hold(gql, "LAPSED", "alice", "o-1")
    expire_hold(db, "o-1")
    # when
    payload = release(gql, "o-1")
    # then it is answered as it is, EXPIRED, never RELEASED
    assert payload["errors"] == []
    assert payload["reservation"]["id"] == held["reservation"]["id"]
    assert payload["reservation"]["status"] == "EXPIRED"
    assert [status for status, _ in stored(db, "o-1")] == ["EXPIRED"]
    again = release(gql, "o-1")
    assert again["reservation"]["status"] == "EXPIRED"


def test_releasing_a_swept_hold_answers_it_unchanged(gql, db):
    create_timed_coupon(gql, code="SWEPT")
    hold(gql, "SWEPT", "alice", "o-1")
    expire_hold(db, "o-1")
    db.fetch("SELECT * FROM coupon_reservations_expire(1000)")
    before = stored(db, "o-1")
    payload = release(gql, "o-1")
    assert payload["errors"] == []
    assert payload["reservation"]["status"] == "EXPIRED"
    assert stored(db, "o-1") == before


def test_releasing_a_redeemed_hold_is_already_redeemed(gql, db):
    # given a hold that its redemption consumed
    create_timed_coupon(gql, code="TAKEN", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "TAKEN", "alice", "o-1")
    assert redeem(gql, code="TAKEN", userId="alice", orderId="o-1", orderValue="50")["errors"] == []
    # when
    payload = release(gql, "o-1")
    # then
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("ALREADY_REDEEMED", "orderId")]
    assert payload["reservation"] is None
    assert payload["discountAmount"] is None
    assert [status for status, _ in stored(db, "o-1")] == ["REDEEMED"]
    assert counts(gql, "TAKEN") == {"currentTotalUses": 1, "heldUses": 0, "status": "EXHAUSTED"}


def test_a_hold_whose_redemption_was_rolled_back_is_still_already_redeemed(gql, db):
    create_timed_coupon(gql, code="GIVEN", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "GIVEN", "alice", "o-1")
    assert redeem(gql, code="GIVEN", userId="alice", orderId="o-1", orderValue="50")["errors"] == []
    rollback = (
        "mutation B($o: String!) { rollbackRedemption(input: {orderId: $o}) { errors { code } } }"
    )
    assert gql(rollback, {"o": "o-1"})["rollbackRedemption"]["errors"] == []
    payload = release(gql, "o-1")
    assert error_codes(payload) == ["ALREADY_REDEEMED"]
    assert [status for status, _ in stored(db, "o-1")] == ["REDEEMED"]


def test_an_order_without_a_reservation_is_not_found(gql, db):
    # given an order redeemed without a hold, and one never seen
    create_timed_coupon(gql, code="NOHOLD")
    assert (
        redeem(gql, code="NOHOLD", userId="alice", orderId="o-1", orderValue="50")["errors"] == []
    )
    # then
    for order in ("o-1", "never-seen"):
        payload = release(gql, order)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", "orderId")]
        assert payload["reservation"] is None
    assert db.value("SELECT count(*) FROM coupon_reservations") == 0
    # and an unknown order is not counted as a guess
    assert db.value("SELECT count(*) FROM guess_counters") == 0


def test_a_bad_order_id_is_invalid_input(gql):
    for order in ("", "o" * 101):
        payload = release(gql, order)
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("INVALID_INPUT", "orderId")
        ], order


def test_a_released_order_is_free_for_another_hold(gql):
    # given alice released her hold of one code
    create_timed_coupon(gql, code="FIRST", maxUsesPerUser=5)
    create_timed_coupon(gql, code="SECOND", maxUsesPerUser=5)
    hold(gql, "FIRST", "alice", "o-1")
    release(gql, "o-1")
    # when the order holds another code
    payload = reserve(gql, code="SECOND", userId="alice", orderId="o-1", orderValue="50")
    # then it is a new hold, the order's newest, and the release applies to it
    assert payload["errors"] == []
    found = gql(RESERVATION, {"orderId": "o-1"})["reservation"]
    assert (found["id"], found["status"]) == (payload["reservation"]["id"], "HELD")
    assert found["coupon"]["code"] == "SECOND"
    released = release(gql, "o-1")
    assert released["reservation"]["id"] == payload["reservation"]["id"]
    assert released["reservation"]["status"] == "RELEASED"


def test_a_released_hold_is_not_consumed_by_a_redemption(gql, db):
    create_timed_coupon(gql, code="CHECKED", maxUsesPerUser=1, maxTotalUses=1)
    hold(gql, "CHECKED", "alice", "o-1")
    release(gql, "o-1")
    payload = redeem(gql, code="CHECKED", userId="alice", orderId="o-1", orderValue="50")
    assert payload["errors"] == []
    assert [status for status, _ in stored(db, "o-1")] == ["RELEASED"]
    assert counts(gql, "CHECKED") == {"currentTotalUses": 1, "heldUses": 0, "status": "EXHAUSTED"}


def test_the_operation_is_a_mutation_taking_the_order(gql):
    errors = gql.errors(RELEASE_RESERVATION, {})
    assert errors
