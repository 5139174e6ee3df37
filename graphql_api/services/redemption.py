"""Validating and redeeming a coupon: the checks of the contract, then one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.queries import coupons, usages
from graphql_api.domain.coupons import Coupon, Usage
from graphql_api.domain.eligibility import (
    Quote,
    check_order_reuse,
    not_found,
    quote_redemption,
    status_after_use,
)
from graphql_api.domain.errors import CouponError
from graphql_api.domain.inputs import RedemptionRequest
from graphql_api.services.guessing import GuessPolicy, guarded, subjects
from graphql_api.services.records import to_coupon, to_usage


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


async def _find_coupon(session: AsyncSession, request: RedemptionRequest, *, lock: bool) -> Coupon:
    """Step 2: the coupon, which a USER_SPECIFIC one only is for its own user."""
    row = await coupons.coupon_by_code(session, request.code, for_update=lock)
    coupon = None if row is None else to_coupon(row)
    if coupon is None or not coupon.is_visible_to(request.user_id):
        raise not_found(request.code)
    return coupon


async def _earlier_use_of_order(
    session: AsyncSession, request: RedemptionRequest, coupon: Coupon
) -> Usage | None:
    """Step 3: the usage this order already carries, when it is a retry of this redemption."""
    if request.order_id is None:
        return None
    row = await usages.usage_by_order(session, request.order_id)
    if row is None:
        return None
    return check_order_reuse(to_usage(row), coupon, request.user_id, request.order_value)


async def _quote(session: AsyncSession, request: RedemptionRequest, coupon: Coupon) -> Quote:
    """Steps 4 to 8."""
    user_uses = await usages.count_user_uses(session, coupon.id, request.user_id)
    return quote_redemption(
        coupon, order_value=request.order_value, user_uses=user_uses, now=datetime.now(UTC)
    )


async def validate_coupon(
    sessionmaker: async_sessionmaker[AsyncSession],
    request: RedemptionRequest,
    policy: GuessPolicy,
) -> Validation:
    """The checks of `redeem_coupon` without a write; a retry of a recorded order is valid.

    NOT_FOUND (and RATE_LIMITED) raise: there is no coupon to describe. Later failures come
    with the coupon.
    """
    who = subjects(request.user_id, request.ip_address)
    return await guarded(sessionmaker, policy, who, lambda: _validate(sessionmaker, request))


async def redeem_coupon(
    sessionmaker: async_sessionmaker[AsyncSession],
    request: RedemptionRequest,
    policy: GuessPolicy,
) -> Redemption:
    """Check and record one use in one transaction, unless the caller is guessing codes."""
    who = subjects(request.user_id, request.ip_address)
    return await guarded(sessionmaker, policy, who, lambda: _redeem(sessionmaker, request))


async def _validate(
    sessionmaker: async_sessionmaker[AsyncSession], request: RedemptionRequest
) -> Validation:
    async with sessionmaker() as session:
        coupon = await _find_coupon(session, request, lock=False)
        try:
            earlier = await _earlier_use_of_order(session, request, coupon)
            if earlier is not None:
                quote = Quote(earlier.discount_applied, earlier.final_amount)
            else:
                quote = await _quote(session, request, coupon)
        except CouponError as error:
            return Validation(coupon, error)
        return Validation(coupon, quote)


async def _redeem(
    sessionmaker: async_sessionmaker[AsyncSession], request: RedemptionRequest
) -> Redemption:
    """The coupon row is locked first, so every check after it sees every earlier redemption
    of this coupon; the order's unique index settles a race between different coupons.
    """
    if request.order_id is None:
        raise ValueError("a redemption needs an order id")
    async with sessionmaker.begin() as session:
        coupon = await _find_coupon(session, request, lock=True)
        earlier = await _earlier_use_of_order(session, request, coupon)
        if earlier is not None:
            return Redemption(earlier, coupon, replayed=True)
        quote = await _quote(session, request, coupon)
        inserted = await usages.insert_usage(
            session,
            {
                "coupon_id": coupon.id,
                "user_id": request.user_id,
                "order_id": request.order_id,
                "order_value": request.order_value,
                "discount_applied": quote.discount,
                "final_amount": quote.final_amount,
                "ip_address": request.ip_address,
                "user_agent": request.user_agent,
            },
        )
        if inserted is None:
            # Another coupon's redemption of this order committed while we checked.
            taken = await usages.usage_by_order(session, request.order_id)
            if taken is None:
                raise RuntimeError("order conflict without a committed usage")
            usage = check_order_reuse(to_usage(taken), coupon, request.user_id, request.order_value)
            return Redemption(usage, coupon, replayed=True)
        counted = await coupons.record_use(session, coupon.id, status_after_use(coupon).value)
        if counted is None:
            # Unreachable while the row lock holds; the guard keeps the limit even if not.
            raise RuntimeError("use count guard refused a checked redemption")
        return Redemption(to_usage(inserted), to_coupon(counted), replayed=False)
