"""The rest of the redemption lifecycle: releasing a hold, rolling a redemption back,
reading an order's reservation, and the sweep that writes down expired holds.

Release and rollback are one call each of a database function (db/sql/coupon_release.sql,
coupon_rollback.sql), in autocommit: the function is the transaction, under the same
order, coupon and campaign locks as `coupon_redeem`.
"""

from __future__ import annotations

from dataclasses import dataclass

from db.engine import Database
from db.hot import HotPool
from db.queries import reservations
from db.queries.redemptions import call_coupon_release, call_coupon_rollback
from graphql_api.domain.coupons import Coupon, Usage
from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.domain.reservations import Reservation
from graphql_api.services.records import present, to_coupon, to_reservation, to_usage

# How many lapsed holds one sweep statement writes down; the sweep repeats until done.
SWEEP_BATCH = 1_000


@dataclass(frozen=True, slots=True)
class Rollback:
    """The rolled-back usage; `replayed` when an earlier call rolled it back."""

    usage: Usage
    coupon: Coupon
    replayed: bool


async def release_reservation(hot: HotPool, order_id: str) -> Reservation:
    """Free the order's HELD reservation. One already RELEASED or EXPIRED is answered
    unchanged. Raises NOT_FOUND (no reservation) or ALREADY_REDEEMED."""
    row = await call_coupon_release(hot, order_id)
    if row["outcome"] == "NOT_FOUND":
        raise CouponError(ErrorCode.NOT_FOUND, "This order has no reservation", "orderId")
    if row["outcome"] == "ALREADY_REDEEMED":
        raise CouponError(
            ErrorCode.ALREADY_REDEEMED,
            "This order's reservation has been redeemed; roll the redemption back instead",
            "orderId",
        )
    return to_reservation(row["reservation"], row["reservation_status"])


async def rollback_redemption(hot: HotPool, order_id: str, reason: str | None) -> Rollback:
    """Mark the order's redemption ROLLED_BACK and give back every count it took.
    Idempotent. Raises NOT_FOUND when the order has no redemption."""
    row = await call_coupon_rollback(hot, order_id, reason)
    if row["outcome"] == "NOT_FOUND" or not present(row["usage"]):
        raise CouponError(ErrorCode.NOT_FOUND, "This order has no redemption", "orderId")
    coupon = to_coupon(row["coupon"], row["coupon_status"])
    return Rollback(usage=to_usage(row["usage"]), coupon=coupon, replayed=row["replayed"])


async def reservation_of_order(db: Database, order_id: str) -> Reservation | None:
    """The order's newest reservation, with its status as of now."""
    async with db.single_statement() as session:
        row = await reservations.newest_of_order(session, order_id)
    return None if row is None else to_reservation(row._mapping)


async def expire_holds(db: Database) -> list[Reservation]:
    """Write EXPIRED on every hold whose time has passed, and answer them (the facts the
    `reservation.expired` events are made of). Holds stop counting when they expire,
    whether or not this has run: it only writes it down. Safe to run from many replicas
    at once (rows another sweep holds are skipped)."""
    expired: list[Reservation] = []
    while True:
        async with db.transaction() as session:
            rows = await reservations.expire_holds(session, SWEEP_BATCH)
        expired.extend(to_reservation(row._mapping, "EXPIRED") for row in rows)
        if len(rows) < SWEEP_BATCH:
            return expired
