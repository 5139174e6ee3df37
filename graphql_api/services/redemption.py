"""Validating and redeeming a coupon: one call of the database's `coupon_redeem`.

The function locks the coupon's row, runs the checks in the contract's order and writes
the usage, the count and the status, all in the one statement. Run in autocommit, the
statement is the transaction: the lock is held while the function runs and no longer,
which is what lets a hot coupon take redemptions as fast as PostgreSQL can commit them.
Guessing is counted in the same call. Every limit is the database's to enforce.
"""

from __future__ import annotations

from dataclasses import dataclass

from asyncpg import Record

from db.hot import HotPool
from db.queries.redemptions import call_coupon_redeem
from graphql_api.domain.coupons import (
    Coupon,
    Usage,
)
from graphql_api.domain.eligibility import Quote, refusal
from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.domain.inputs import RedemptionRequest
from graphql_api.services.guessing import GuessPolicy, subjects
from graphql_api.services.records import to_coupon, to_usage

# Refusals that come without a coupon to describe.
_NO_COUPON = {ErrorCode.NOT_FOUND, ErrorCode.RATE_LIMITED}


@dataclass(frozen=True, slots=True)
class Redemption:
    """A recorded usage; `replayed` when it was recorded by an earlier attempt of the order."""

    usage: Usage
    coupon: Coupon
    replayed: bool


@dataclass(frozen=True, slots=True)
class Validation:
    """The coupon that was found, and either what it would take off or why it would not."""

    coupon: Coupon
    outcome: Quote | CouponError


async def redeem_coupon(
    hot: HotPool,
    request: RedemptionRequest,
    policy: GuessPolicy,
) -> Redemption:
    """Check and record one use; a retry of a recorded order returns that usage again."""
    if request.order_id is None:
        raise ValueError("a redemption needs an order id")
    row = await _call(hot, request, policy, dry_run=False)
    outcome = ErrorCode(row["r_outcome"]) if row["r_outcome"] != "OK" else None
    coupon = None if row["c_id"] is None else _coupon(row)
    if outcome is not None or coupon is None:
        raise refusal(outcome or ErrorCode.NOT_FOUND, coupon, window_seconds=_seconds(policy))
    return Redemption(usage=_usage(row), coupon=coupon, replayed=row["r_replayed"])


async def validate_coupon(
    hot: HotPool,
    request: RedemptionRequest,
    policy: GuessPolicy,
) -> Validation:
    """The checks of `redeem_coupon` without a write; a retry of a recorded order is valid.

    NOT_FOUND and RATE_LIMITED raise: there is no coupon to describe. Later failures come
    with the coupon.
    """
    row = await _call(hot, request, policy, dry_run=True)
    window = _seconds(policy)
    if row["r_outcome"] in _NO_COUPON or row["c_id"] is None:
        raise refusal(ErrorCode(row["r_outcome"]), None, window_seconds=window)
    coupon = _coupon(row)
    if row["r_outcome"] != "OK":
        return Validation(
            coupon, refusal(ErrorCode(row["r_outcome"]), coupon, window_seconds=window)
        )
    return Validation(coupon, Quote(row["r_discount"], row["r_final_amount"]))


async def _call(
    hot: HotPool, request: RedemptionRequest, policy: GuessPolicy, *, dry_run: bool
) -> Record:
    return await call_coupon_redeem(
        hot,
        code=request.code,
        user_id=request.user_id,
        order_id=request.order_id,
        order_value=request.order_value,
        ip_address=request.ip_address,
        user_agent=request.user_agent,
        guess_subjects=subjects(request.user_id, request.ip_address),
        guess_limit=policy.limit,
        guess_window=policy.window,
        dry_run=dry_run,
    )


def _seconds(policy: GuessPolicy) -> float:
    return policy.window.total_seconds()


def _coupon(row: Record) -> Coupon:
    return to_coupon(row, prefix="c_")


def _usage(row: Record) -> Usage:
    return to_usage(row, prefix="u_", coupon_id=row["c_id"])
