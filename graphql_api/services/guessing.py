"""Code guessing: NOT_FOUND answers are counted per user and per IP, across all replicas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.queries import guesses
from graphql_api.domain.errors import CouponError, ErrorCode

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class GuessPolicy:
    limit: int
    window: timedelta


def subjects(user_id: str, ip_address: str | None) -> list[str]:
    return [f"user:{user_id}"] + ([f"ip:{ip_address}"] if ip_address else [])


async def guarded(
    sessionmaker: async_sessionmaker[AsyncSession],
    policy: GuessPolicy,
    who: list[str],
    attempt: Callable[[], Awaitable[T]],
) -> T:
    """Run `attempt` unless `who` is over the limit; count it if it answers NOT_FOUND.

    A failure that takes a count past the limit answers RATE_LIMITED instead of NOT_FOUND,
    so attempts racing each other (aliases in one query, requests on other replicas) learn
    nothing once the limit is reached, even those that passed the check together.
    """
    async with sessionmaker() as session:
        if await guesses.is_limited(session, who, policy.limit, policy.window):
            raise _rate_limited(policy)
    try:
        return await attempt()
    except CouponError as error:
        if error.code is ErrorCode.NOT_FOUND:
            async with sessionmaker.begin() as session:
                failures = await guesses.count_failure(session, who, policy.window)
            if failures > policy.limit:
                raise _rate_limited(policy) from None
        raise


def _rate_limited(policy: GuessPolicy) -> CouponError:
    seconds = policy.window.total_seconds()
    return CouponError(
        ErrorCode.RATE_LIMITED,
        f"Too many unknown codes; try again within {seconds:.0f} seconds",
    )


async def forget_old_windows(
    sessionmaker: async_sessionmaker[AsyncSession], policy: GuessPolicy
) -> None:
    async with sessionmaker.begin() as session:
        await guesses.forget_old_windows(session, policy.window)
