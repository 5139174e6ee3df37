"""Code guessing: NOT_FOUND answers are counted per user and per IP, across all replicas.

The counting happens inside `coupon_redeem` (one round trip); this module says who is
counted, with what limit, and clears windows that have run out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from db.engine import Database
from db.queries import guesses
from graphql_api.settings import Settings


@dataclass(frozen=True, slots=True)
class GuessPolicy:
    limit: int
    window: timedelta

    @classmethod
    def of(cls, settings: Settings) -> GuessPolicy:
        return cls(settings.guess_limit, timedelta(seconds=settings.guess_window_seconds))


def subjects(user_id: str, ip_address: str | None) -> list[str]:
    return [f"user:{user_id}"] + ([f"ip:{ip_address}"] if ip_address else [])


async def forget_old_windows(db: Database, policy: GuessPolicy) -> None:
    async with db.single_statement() as session:
        await guesses.forget_old_windows(session, policy.window)
