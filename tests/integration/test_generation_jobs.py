"""Code generation jobs in the background: exactly `requested` codes, whatever happens to
the workers.

Contract ("Generation"): a job always ends with exactly `requested` new codes or FAILED
with a reason; codes are unique across the service. A job whose worker dies part-way is
taken up again by another and finishes with exactly the requested count, never more.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from uuid import UUID

import pytest
from sqlalchemy.exc import OperationalError

from db.engine import Database as ServiceDatabase
from db.engine import create_engine
from db.migrate import upgrade_to_head
from db.queries import campaigns
from graphql_api.domain.campaigns import JobStatus
from graphql_api.services import code_generation
from tests.support.database import Database, run_sync, throwaway_database
from tests.support.workers import COUPONS_WORKER, wait_for, worker_processes

JOB = "SELECT status::text FROM code_generation_jobs WHERE id = $1"
PROGRESS = "SELECT generated FROM code_generation_jobs WHERE id = $1"
NO_SWEEPS = {"COUPONS_BACKGROUND_SWEEPS": "false"}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with throwaway_database() as database_url:
        upgrade_to_head(database_url)
        yield database_url


def new_job(db: Database, requested: int) -> str:
    """A campaign and a PENDING job for it, as generateCodes records them; the job's id."""
    campaign = db.value(
        "INSERT INTO campaigns (name, discount_type, discount_value)"
        " VALUES ('Flyer', 'FIXED', 5) RETURNING id"
    )
    job_id: str = db.value(
        "INSERT INTO code_generation_jobs (campaign_id, requested, length, prefix)"
        " VALUES ($1, $2, 12, 'FLY-') RETURNING id::text",
        campaign,
        requested,
    )
    return job_id


def assert_exactly(db: Database, job_id: str, requested: int) -> None:
    row = db.fetch(
        """
        SELECT j.generated, k.code_count,
               (SELECT count(*) FROM coupons c WHERE c.campaign_id = j.campaign_id) AS codes,
               (SELECT count(DISTINCT code) FROM coupons c WHERE c.campaign_id = j.campaign_id)
                   AS distinct_codes
        FROM code_generation_jobs j JOIN campaigns k ON k.id = j.campaign_id
        WHERE j.id = $1
        """,
        job_id,
    )[0]
    assert dict(row) == {
        "generated": requested,
        "code_count": requested,
        "codes": requested,
        "distinct_codes": requested,
    }


def test_a_worker_takes_up_a_recorded_job_and_writes_exactly_its_codes(url):
    # given a job recorded as generateCodes records it
    db = Database(url)
    job_id = new_job(db, 25_000)
    # when a worker runs
    with worker_processes(url, 1, *COUPONS_WORKER, env=NO_SWEEPS):
        wait_for(db, JOB, "SUCCEEDED", job_id, timeout=60)
    # then exactly the requested codes exist, counted by the job and the campaign
    assert_exactly(db, job_id, 25_000)


def test_a_job_whose_worker_is_killed_part_way_is_finished_by_another(url):
    # given a job big enough to be caught part-way, and a worker working on it
    db = Database(url)
    job_id = new_job(db, 150_000)
    with worker_processes(url, 1, *COUPONS_WORKER, env=NO_SWEEPS) as [first]:
        deadline = time.monotonic() + 60
        while not 0 < db.value(PROGRESS, job_id) < 150_000:
            assert time.monotonic() < deadline, first.log()
            time.sleep(0.02)
        # when that worker dies without a word
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
    written_before = db.value(PROGRESS, job_id)
    assert db.value(JOB, job_id) == "RUNNING"
    # and another worker starts
    with worker_processes(url, 1, *COUPONS_WORKER, env=NO_SWEEPS):
        wait_for(db, JOB, "SUCCEEDED", job_id, timeout=90)
    # then the job finished from where it was, with exactly the requested codes
    assert 0 < written_before < 150_000
    assert_exactly(db, job_id, 150_000)


async def _run_at_once(url: str, job_id: str, runners: int, batch: int) -> list[object]:
    engine = create_engine(url)
    try:
        service_db = ServiceDatabase(engine)
        runs = [
            code_generation.run_generation_job(service_db, UUID(job_id), batch=batch, lanes=3)
            for _ in range(runners)
        ]
        return list(await asyncio.gather(*runs))
    finally:
        await engine.dispose()


def test_runners_and_lanes_at_once_write_exactly_the_requested_codes(url):
    # given a job whose count is no multiple of anything the runners draw
    db = Database(url)
    job_id = new_job(db, 10_007)
    # when three runners of three lanes each write it at once, in small batches, so that
    # near the end their batches together draw more than is left
    statuses = run_sync(_run_at_once(url, job_id, runners=3, batch=700))
    # then one of them saw it succeed, and the count is exact: no batch overshot
    assert JobStatus.SUCCEEDED in statuses
    assert db.value(JOB, job_id) == "SUCCEEDED"
    assert_exactly(db, job_id, 10_007)
    # and it finished after it started, whichever batch began first
    assert db.value(
        "SELECT finished_at >= started_at FROM code_generation_jobs WHERE id = $1", job_id
    )


async def _insert(url: str, campaign_id: UUID, codes: list[str]) -> int:
    engine = create_engine(url)
    try:
        async with ServiceDatabase(engine).transaction() as session:
            return await campaigns.insert_codes(session, campaign_id, codes)
    finally:
        await engine.dispose()


def test_a_batch_holding_a_taken_code_writes_the_others():
    # given a code that is taken (by a coupon of any kind)
    with throwaway_database() as database_url:
        upgrade_to_head(database_url)
        db = Database(database_url)
        campaign_id = db.value(
            "INSERT INTO campaigns (name, discount_type, discount_value)"
            " VALUES ('Flyer', 'FIXED', 5) RETURNING id"
        )
        db.execute(
            "INSERT INTO coupons (code, type, discount_type, discount_value, max_uses_per_user,"
            " valid_from, valid_until) VALUES ('FLY-TAKEN', 'TIME_SPECIFIC', 'FIXED', 1, 1,"
            " now(), now() + interval '1 day')"
        )
        # when a batch with it is inserted
        batch = ["FLY-AAAAAA", "FLY-TAKEN", "FLY-ZZZZZZ"]
        written = run_sync(_insert(database_url, campaign_id, batch))
        # then the free codes are written, the taken one is left as it was
        assert written == 2
        rows = db.fetch("SELECT code, type::text FROM coupons ORDER BY code")
        assert [tuple(row) for row in rows] == [
            ("FLY-AAAAAA", "CAMPAIGN"),
            ("FLY-TAKEN", "TIME_SPECIFIC"),
            ("FLY-ZZZZZZ", "CAMPAIGN"),
        ]


async def _run_failing(url: str, job_id: str) -> None:
    engine = create_engine(url)
    try:
        await code_generation.run_generation_job(ServiceDatabase(engine), UUID(job_id))
    finally:
        await engine.dispose()


def test_a_lane_that_fails_raises_its_own_error_not_a_group(url, monkeypatch):
    # given a database that fails a batch's insert (the connection dropped, say)
    db = Database(url)
    job_id = new_job(db, 30_000)

    async def dropped(*_args: object, **_kwargs: object) -> int:
        raise OperationalError("INSERT", {}, ConnectionError("connection dropped"))

    monkeypatch.setattr(campaigns, "insert_codes", dropped)
    # when the job runs, then the error is the driver's, which callers know how to report
    with pytest.raises(OperationalError):
        run_sync(_run_failing(url, job_id))
    assert db.value(PROGRESS, job_id) == 0
