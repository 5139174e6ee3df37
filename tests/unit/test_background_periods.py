"""Chore periods: whole seconds the clock divides, so every replica names a period alike."""

from __future__ import annotations

import itertools

import pytest
from croniter import croniter
from pydantic import ValidationError

from graphql_api.background.periods import cron_every
from graphql_api.cli import settings_problem
from graphql_api.settings import Settings


@pytest.mark.parametrize(
    ("seconds", "cron"),
    [
        (1, "* * * * * */1"),
        (5, "* * * * * */5"),
        (30, "* * * * * */30"),
        (60, "*/1 * * * *"),
        (900, "*/15 * * * *"),
        (3600, "0 */1 * * *"),
        (6 * 3600, "0 */6 * * *"),
        (24 * 3600, "0 */24 * * *"),
    ],
)
def test_a_period_the_clock_divides_is_a_cron_line(seconds, cron):
    assert cron_every(seconds) == cron


@pytest.mark.parametrize("seconds", [1, 2, 5, 20, 60, 120, 600, 3600, 7200, 86400])
def test_the_cron_line_fires_every_period_on_the_clocks_boundaries(seconds):
    # given a moment that is no boundary of anything
    start = 1_800_000_123.4
    # when the next three firings are read
    schedule = croniter(cron_every(seconds), start)
    firings = [schedule.get_next(float) for _ in range(3)]
    # then they are a period apart, each a whole multiple of the period since the epoch
    assert [b - a for a, b in itertools.pairwise(firings)] == [seconds, seconds]
    assert all(firing % seconds == 0 for firing in firings)


@pytest.mark.parametrize("seconds", [0, -5, 7, 45, 90, 59 * 60, 5 * 3600, 2 * 86400])
def test_a_period_the_clock_does_not_divide_is_refused(seconds):
    with pytest.raises(ValueError, match="is not one of: 1-30 s dividing a minute"):
        cron_every(seconds)


def test_the_settings_refuse_such_a_period_naming_its_variable(monkeypatch):
    # given
    monkeypatch.setenv("COUPONS_EXPIRY_SWEEP_SECONDS", "45")
    # when
    with pytest.raises(ValidationError) as refused:
        Settings()
    # then
    [problem] = [settings_problem(error) for error in refused.value.errors()]
    assert problem.startswith("COUPONS_EXPIRY_SWEEP_SECONDS: a period of 45 s is not one of")


def test_the_settings_refuse_a_stalled_time_within_two_heartbeats():
    with pytest.raises(ValidationError, match="more than twice COUPONS_BACKGROUND_HEARTBEAT"):
        Settings(background_heartbeat_seconds=10, background_stalled_seconds=20)
