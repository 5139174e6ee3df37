"""A background worker with tasks of the tests' own: `python -m tests.support.background_tasks`.

Its tasks write each run to `background_runs`: which task, for which key (a job's key, or
a chore's period), in which process, on which attempt, when it started and when it ended.
`--periodic` also registers `record_period`, a chore every second that takes longer than
its period, so that two runs would overlap unless something keeps them apart.
"""

from __future__ import annotations

import asyncio
import os
import sys

import procrastinate
from sqlalchemy import text

from graphql_api.background.queue import periodic, resources_of
from graphql_api.background.tasks import build_job_app
from graphql_api.background.worker import main
from graphql_api.settings import Settings

RUNS_TABLE = """
CREATE TABLE IF NOT EXISTS background_runs (
    id bigserial PRIMARY KEY,
    task text NOT NULL,
    key text NOT NULL,
    pid integer NOT NULL,
    attempt integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    ended_at timestamptz
)
"""
# Longer than record_period's period of one second.
PERIODIC_RUN_SECONDS = 1.2


async def record_run(
    context: procrastinate.JobContext, task: str, key: str, seconds: float
) -> None:
    """A row when the run starts, its end written `seconds` later."""
    db = resources_of(context).db
    async with db.transaction() as session:
        run_id = await session.scalar(
            text(
                "INSERT INTO background_runs (task, key, pid, attempt)"
                " VALUES (:task, :key, :pid, :attempt) RETURNING id"
            ),
            {"task": task, "key": key, "pid": os.getpid(), "attempt": context.job.attempts},
        )
    await asyncio.sleep(seconds)
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE background_runs SET ended_at = clock_timestamp() WHERE id = :id"),
            {"id": run_id},
        )


async def record_period(context: procrastinate.JobContext, timestamp: int) -> None:
    await record_run(context, "record_period", str(timestamp), PERIODIC_RUN_SECONDS)


async def record_job(
    context: procrastinate.JobContext, label: str, seconds: float, first_run_seconds: float
) -> None:
    """Takes `first_run_seconds` on its first attempt (long enough to be killed), then `seconds`."""
    first = context.job.attempts == 0
    await record_run(context, "record_job", label, first_run_seconds if first else seconds)


def build_test_app(settings: Settings) -> procrastinate.App:
    app = build_job_app(settings)
    app.task(name="record_job", pass_context=True)(record_job)
    if "--periodic" in sys.argv:
        periodic(app, "record_period", record_period, every=1)
    return app


if __name__ == "__main__":
    # Stops by itself if the test run that started it is gone.
    main(build=build_test_app, parent_pid=os.getppid())
