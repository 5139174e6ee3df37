"""Validating, reserving and redeeming a coupon: one call of the database's `coupon_redeem`
(db/sql/coupon_redeem.sql).

The function takes the order's lock, the coupon's row and its campaign's, runs the checks
in the contract's order counting live holds as uses, and writes the hold or the usage with
the counters and the statuses, all in the one statement. Run in autocommit, the statement
is the transaction: locks are held while the function runs and no longer. Guessing is
counted in the same call. Every limit is the database's to enforce.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from asyncpg import Record

from db.engine import Database
from db.hot import HotPool
from db.queries import redemptions
from db.queries.redemptions import Mode, call_coupon_redeem
from graphql_api.domain.applicable import ApplicableRequest
from graphql_api.domain.coupons import Coupon, Usage
from graphql_api.domain.eligibility import Quote, refusal
from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.domain.inputs import RedemptionRequest
from graphql_api.domain.reservations import Reservation
from graphql_api.services.guessing import GuessPolicy, subjects
from graphql_api.services.records import present, to_coupon, to_reservation, to_usage

# Refusals that come without a coupon to describe.
_NO_COUPON = {ErrorCode.NOT_FOUND, ErrorCode.RATE_LIMITED}


@dataclass(frozen=True, slots=True)
class Redemption:
    """A recorded usage; `replayed` when it was recorded by an earlier attempt of the order."""

    usage: Usage
    coupon: Coupon
    replayed: bool


@dataclass(frozen=True, slots=True)
class Hold:
    """A live reservation; `replayed` when an earlier attempt of the order made it."""

    reservation: Reservation
    coupon: Coupon
    replayed: bool


@dataclass(frozen=True, slots=True)
class Validation:
    """The coupon that was found, and either what it would take off or why it would not."""

    coupon: Coupon
    outcome: Quote | CouponError


async def redeem_coupon(
    hot: HotPool, request: RedemptionRequest, policy: GuessPolicy
) -> Redemption:
    """Check and record one use; a retry of a recorded order returns that usage again, and
    the order's own live hold of this code is consumed instead of counted twice."""
    row = await _call(hot, "REDEEM", request, policy)
    coupon = _checked(row, policy)
    return Redemption(usage=to_usage(row["usage"]), coupon=coupon, replayed=row["replayed"])


async def reserve_coupon(
    hot: HotPool, request: RedemptionRequest, policy: GuessPolicy, hold_for: timedelta
) -> Hold:
    """Check as `redeem_coupon` does and hold one use for `hold_for`; a retry for the same
    order, code and user answers the same hold."""
    row = await _call(hot, "RESERVE", request, policy, hold_for)
    coupon = _checked(row, policy)
    reservation = to_reservation(row["reservation"], row["reservation_status"])
    return Hold(reservation=reservation, coupon=coupon, replayed=row["replayed"])


async def validate_coupon(
    hot: HotPool, request: RedemptionRequest, policy: GuessPolicy
) -> Validation:
    """The checks of `redeem_coupon` without a write; a retry of a recorded order, or an
    order holding this code for this value, is valid with the recorded discount.

    NOT_FOUND and RATE_LIMITED raise: there is no coupon to describe. Later failures come
    with the coupon.
    """
    row = await _call(hot, "VALIDATE", request, policy)
    if row["outcome"] in _NO_COUPON or not present(row["coupon"]):
        raise refusal(ErrorCode(row["outcome"]), None, window_seconds=_seconds(policy))
    if row["outcome"] != "OK":
        coupon = _coupon(row)
        error = refusal(ErrorCode(row["outcome"]), coupon, window_seconds=_seconds(policy))
        return Validation(coupon, error)
    return _valid(row)


async def applicable_coupons(
    db: Database, request: ApplicableRequest, policy: GuessPolicy
) -> list[Validation]:
    """The coupons the user could redeem now on an order of this value, each valid as
    `validate_coupon` would answer it (without an order), the biggest discount first.

    The user's own coupons (USER_SPECIFIC, assigned campaign codes) and the running
    TIME_SPECIFIC coupons, checked by the same database function in one statement; no
    write, not even to the guessing counters. Raises RATE_LIMITED when the user is over
    the guessing limit: every redemption of theirs would be refused now.
    """
    async with db.single_statement() as session:
        rows = await redemptions.applicable_coupons(
            session,
            request.user_id,
            request.order_value,
            request.first,
            guess_subjects=subjects(request.user_id, None),
            guess_limit=policy.limit,
            guess_window=policy.window,
        )
    if rows and rows[0].outcome == ErrorCode.RATE_LIMITED.value:
        raise refusal(ErrorCode.RATE_LIMITED, None, window_seconds=_seconds(policy))
    return [_valid(row._mapping) for row in rows]


async def _call(
    hot: HotPool,
    mode: Mode,
    request: RedemptionRequest,
    policy: GuessPolicy,
    hold_for: timedelta | None = None,
) -> Record:
    if mode != "VALIDATE" and request.order_id is None:
        raise ValueError("a redemption or a reservation needs an order id")
    return await call_coupon_redeem(
        hot,
        mode,
        code=request.code,
        user_id=request.user_id,
        order_id=request.order_id,
        order_value=request.order_value,
        ip_address=request.ip_address,
        user_agent=request.user_agent,
        guess_subjects=subjects(request.user_id, request.ip_address),
        guess_limit=policy.limit,
        guess_window=policy.window,
        hold_for=hold_for,
    )


def _checked(row: Record, policy: GuessPolicy) -> Coupon:
    """The coupon of a successful call; a refusal raises its CouponError."""
    coupon = _coupon(row) if present(row["coupon"]) else None
    if row["outcome"] != "OK" or coupon is None:
        code = ErrorCode(row["outcome"]) if row["outcome"] != "OK" else ErrorCode.NOT_FOUND
        raise refusal(code, coupon, window_seconds=_seconds(policy))
    return coupon


def _seconds(policy: GuessPolicy) -> float:
    return policy.window.total_seconds()


def _valid(row: Mapping[Any, Any]) -> Validation:
    """The validation of a coupon_redeem row whose outcome is OK."""
    return Validation(_coupon(row), Quote(row["discount"], row["final_amount"]))


def _coupon(row: Mapping[Any, Any]) -> Coupon:
    return to_coupon(row["coupon"], row["coupon_status"])
