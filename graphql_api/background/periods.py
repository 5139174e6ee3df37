"""Periods in seconds as cron lines: every replica must agree on when a period starts."""

from __future__ import annotations

# What a period may be, said where a setting takes one.
PERIODS = "1-30 s dividing a minute, whole minutes dividing an hour, or whole hours dividing a day"


def cron_every(seconds: int) -> str:
    """The cron line that fires every `seconds`, on the clock's own boundaries.

    Seconds go in the sixth field, as procrastinate's croniter reads them. Boundaries of the
    clock, not of a process's start, are what let replicas agree: each one names a run by
    the same moment, and the database keeps one run per moment.

    Raises ValueError for a period the clock does not divide evenly (45 s, 90 s, 7 h).
    """
    if 1 <= seconds < 60 and 60 % seconds == 0:
        return f"* * * * * */{seconds}"
    minutes, odd_seconds = divmod(seconds, 60)
    if not odd_seconds and 1 <= minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *"
    hours, odd_minutes = divmod(seconds, 3600)
    if not odd_minutes and 1 <= hours <= 24 and 24 % hours == 0:
        return f"0 */{hours} * * *"
    raise ValueError(f"a period of {seconds} s is not one of: {PERIODS}")
