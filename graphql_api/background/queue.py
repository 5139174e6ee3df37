"""The job queue: procrastinate on the service's PostgreSQL, and the two ways to declare work.

`periodic()` declares a chore run every so many seconds, once per period across all
workers and never two at once; `defer_once()` queues a job for one key (a code generation
job's id, say), with at most one waiting and one running per key. tasks.py uses both.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.types import JSONValue
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url

from db.engine import Database
from graphql_api.background.periods import cron_every
from graphql_api.settings import Settings

# How the worker's connections are named in pg_stat_activity.
APPLICATION_NAME = "coupons-worker"
# Connections a worker uses beside its jobs: heartbeat, periodic deferrer, abort polling,
# the stalled-job check, and one to spare.
SIDE_CONNECTIONS = 5
# The key of Resources in a worker's additional_context.
RESOURCES = "resources"

Chore = Callable[[procrastinate.JobContext, int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Resources:
    """What a task may use: the settings, and the database on the worker's own engine."""

    settings: Settings
    db: Database


def resources_of(context: procrastinate.JobContext) -> Resources:
    """The Resources of the worker running a task declared with pass_context=True."""
    resources = context.additional_context[RESOURCES]
    if not isinstance(resources, Resources):
        raise TypeError(f"the job context holds no Resources but {type(resources).__name__}")
    return resources


def new_job_app() -> procrastinate.App:
    """A procrastinate App without our tasks, not connected yet (see open_job_app)."""
    return procrastinate.App(connector=procrastinate.PsycopgConnector())


def periodic(app: procrastinate.App, name: str, chore: Chore, *, every: int) -> None:
    """Run `chore(context, timestamp)` every `every` seconds, once per period, one at a time.

    Every worker defers the chore when a period starts (see periods.cron_every); the
    database keeps one job per (name, period) and lets one worker take it. `name` is both
    the job's lock (no two run at once) and its queueing lock (at most one waits, so a
    chore slower than its period skips periods instead of piling them up). `timestamp` is
    the period's start in Unix seconds. `name` is stored with every job: keep it stable.
    A failed run is not retried: the next period runs it again. Raises ValueError for a
    period the clock does not divide evenly.
    """
    declared = app.task(name=name, pass_context=True, lock=name, queueing_lock=name)(chore)
    app.periodic(cron=cron_every(every), periodic_id=name)(declared)


async def defer_once(
    app: procrastinate.App, task_name: str, key: str, /, **task_kwargs: JSONValue
) -> int | None:
    """Queue `task_name(**task_kwargs)` for `key`; its job id, or None if one already waits.

    `task_name:key` is the job's lock and its queueing lock: for one key at most one job
    waits and at most one runs, whichever worker takes it. A job whose worker dies is run
    again (see worker.py), so a task deferred this way must be able to resume its work.
    `app` must be open (open_job_app); the task need not be registered on it.
    """
    lock = f"{task_name}:{key}"
    try:
        return await app.configure_task(task_name, lock=lock, queueing_lock=lock).defer_async(
            **task_kwargs
        )
    except AlreadyEnqueued:
        return None


@asynccontextmanager
async def open_job_app(app: procrastinate.App, settings: Settings) -> AsyncIterator[None]:
    """Connect `app` to DATABASE_URL through a pool of its own for the block's duration.

    No prepared statements and no session state: the pool works through a transaction-mode
    pooler as long as background_listen_notify is off. An App is opened once: build a new
    one for each block. Raises psycopg_pool.PoolTimeout when no connection opens within
    the connect timeout; a statement that waits longer than the pool timeout for a
    connection raises it too.
    """
    pool = AsyncConnectionPool(
        psycopg_url(settings.require_database_url()),
        min_size=1,
        max_size=settings.background_concurrency + SIDE_CONNECTIONS,
        kwargs={
            "application_name": APPLICATION_NAME,
            # libpq takes whole seconds and treats 1 as 2.
            "connect_timeout": max(2, math.ceil(settings.connect_timeout)),
            "prepare_threshold": None,
        },
        open=False,
        check=AsyncConnectionPool.check_connection,
        name=APPLICATION_NAME,
        # A statement that cannot get a connection (the database is gone) fails in this
        # time, rather than psycopg's 30 s: the worker starts again, or stops, promptly.
        timeout=settings.pool_timeout,
    )
    try:
        await pool.open(wait=True, timeout=settings.connect_timeout)
        async with app.open_async(pool):
            yield
    finally:
        await pool.close()


def psycopg_url(database_url: str) -> str:
    """DATABASE_URL as libpq reads it (no SQLAlchemy driver name)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
