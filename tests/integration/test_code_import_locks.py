"""An import never holds its campaign's row while it reports, and imports take turns.

The campaign's redemptions lock its row (db/sql/coupon_redeem.sql): an import that held
it while a slow reader took its report would hold every redemption of the campaign up.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Iterator
from uuid import UUID

import asyncpg
import pytest

from db.engine import Database as ServiceDatabase
from db.engine import create_engine
from db.migrate import upgrade_to_head
from graphql_api.domain.code_files import CodeLine
from graphql_api.services.code_import import SkippedLine, import_codes
from tests.support.database import Database, asyncpg_dsn, run_sync, throwaway_database

REDEEM = (
    "SELECT outcome FROM coupon_redeem('REDEEM', $1, 'shopper', $2, 50, NULL, NULL,"
    " '{}'::text[], 10, interval '15 minutes', NULL)"
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with throwaway_database() as database_url:
        upgrade_to_head(database_url)
        yield database_url


def new_campaign(db: Database) -> str:
    return str(
        db.value(
            "INSERT INTO campaigns (name, discount_type, discount_value)"
            " VALUES ('Flyer', 'FIXED', 5) RETURNING id"
        )
    )


def campaign_with_a_code(db: Database) -> str:
    campaign = new_campaign(db)
    db.execute(
        "INSERT INTO coupons (code, type, campaign_id, discount_type, discount_value,"
        " max_uses_per_user, max_total_uses) VALUES ('LIVE-0001', 'CAMPAIGN', $1, 'FIXED', 5,"
        " 1, 1)",
        campaign,
    )
    return campaign


async def _redeem_with_a_lock_timeout(url: str, order: str) -> str:
    connection = await asyncpg.connect(asyncpg_dsn(url), server_settings={"lock_timeout": "2000"})
    try:
        return str(await connection.fetchval(REDEEM, "LIVE-0001", order))
    finally:
        await connection.close()


def redeem_from_another_thread(url: str, order: str) -> str:
    """A redemption made while this thread's import is in the middle of its work."""
    answers: list[str] = []
    failures: list[BaseException] = []

    def redeem() -> None:
        try:
            answers.append(asyncio.run(_redeem_with_a_lock_timeout(url, order)))
        except BaseException as error:  # reported to the test below
            failures.append(error)

    thread = threading.Thread(target=redeem)
    thread.start()
    thread.join(timeout=30)
    if failures:
        raise failures[0]
    return answers[0]


async def _import(
    url: str, campaign: str, lines: Iterable[CodeLine], **callbacks: Callable[..., object]
) -> None:
    callbacks.setdefault("on_skipped", lambda _line: None)
    engine = create_engine(url)
    try:
        await import_codes(ServiceDatabase(engine), UUID(campaign), lines, **callbacks)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


def test_a_redemption_of_the_campaign_is_not_held_up_by_an_import_reporting(url):
    # given a campaign with a live code, and an import whose report is read slowly
    db = Database(url)
    campaign = campaign_with_a_code(db)
    answers: list[str] = []

    def slow_reader(_line: SkippedLine) -> None:
        if not answers:  # while the report is being read, a shopper redeems
            answers.append(redeem_from_another_thread(url, "order-during-report"))

    lines = [CodeLine(1, "NEW-0001"), CodeLine(2, "NEW-0001"), CodeLine(3, "NEW-0002")]
    # when the import runs
    run_sync(_import(url, campaign, lines, on_skipped=slow_reader))
    # then the redemption went through at once, and the import wrote its codes
    assert answers == ["OK"]
    assert db.value("SELECT code_count FROM campaigns WHERE id = $1::uuid", campaign) == 2


def test_imports_take_turns(url):
    # given an import that is running (it waits while reading its file)
    db = Database(url)
    campaign = new_campaign(db)
    first_reading = threading.Event()
    second_may_finish = threading.Event()
    waited: list[bool] = []

    def first_lines() -> Iterator[CodeLine]:
        yield CodeLine(1, "TURN-0001")
        first_reading.set()
        second_may_finish.wait(timeout=30)
        yield CodeLine(2, "TURN-0002")

    first = threading.Thread(target=lambda: run_sync(_import(url, campaign, first_lines())))
    first.start()
    assert first_reading.wait(timeout=30)

    # when a second import starts, it waits for the first, and says so
    def waiting() -> None:
        waited.append(True)
        second_may_finish.set()

    second = threading.Thread(
        target=lambda: run_sync(
            _import(
                url,
                campaign,
                [CodeLine(1, "TURN-0003")],
                on_waiting=waiting,
            )
        )
    )
    second.start()
    first.join(timeout=60)
    second.join(timeout=60)
    # then both wrote their codes
    assert waited == [True]
    assert db.value("SELECT count(*) FROM coupons WHERE code LIKE 'TURN-%'") == 3
