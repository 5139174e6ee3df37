"""Every background task, and the job app that knows them.

A task is a thin edge, like a resolver: it takes what it needs from the worker's Resources
and calls one service function, which owns its transaction.

A periodic chore has the (context, timestamp) signature and is registered with
`periodic(app, name, chore, every=seconds)`; a job deferred for one key (a code generation
job's id) is registered by name with retries and queued with `defer_once`: one runner
per key, run again if its worker dies, so it must resume where it stopped.

Webhooks: `deliver_webhooks` is started each second (one run at a time across all
workers) and goes on while there is work (services/webhook_delivery.py).

Code generation: `generateCodes` only records a PENDING job row (in the request's own
statement, so the job exists exactly when the answer says so). Every worker's
`start_generation_jobs` chore, each second, queues `generate_codes` once for every job
still PENDING or RUNNING; the queueing lock keeps one per job. A job whose worker died
is thus taken up again by the next chore (or by the stalled-job check), and resumes from
its own progress (services/code_generation.py).

Arguments travel as JSON: pass ids as strings. Task names are stored with every job: keep
them stable, and keep a renamed task's old name in `aliases=` until its jobs have run.
"""

from __future__ import annotations

import logging
from uuid import UUID

import procrastinate

from graphql_api.background.queue import defer_once, new_job_app, periodic, resources_of
from graphql_api.services import code_generation, events, lifecycle, webhook_delivery
from graphql_api.services.coupon_queries import mark_expired_coupons
from graphql_api.services.guessing import GuessPolicy, forget_old_windows
from graphql_api.settings import Settings

log = logging.getLogger(__name__)

GENERATE_CODES = "generate_codes"
# Finished jobs of the queue (a chore's run every second adds up) are kept this long.
FINISHED_JOBS_KEPT_HOURS = 24


def build_job_app(settings: Settings) -> procrastinate.App:
    """A job app with every task registered, periods taken from `settings`; not yet open."""
    app = new_job_app()
    register_tasks(app, settings)
    return app


def register_tasks(app: procrastinate.App, settings: Settings) -> None:
    """Declare every task on `app`: the periodic chores and the jobs that can be deferred."""
    app.task(
        name=GENERATE_CODES,
        pass_context=True,
        retry=procrastinate.RetryStrategy(max_attempts=10, exponential_wait=2),
    )(generate_codes)
    periodic(
        app,
        "start_generation_jobs",
        start_generation_jobs,
        every=settings.generation_pickup_seconds,
    )
    periodic(app, "deliver_webhooks", deliver_webhooks, every=1)
    if not settings.background_sweeps:
        return
    periodic(app, "expire_coupons", expire_coupons, every=settings.expiry_sweep_seconds)
    periodic(app, "forget_guess_windows", forget_guess_windows, every=settings.guess_sweep_seconds)
    periodic(
        app, "expire_reservations", expire_reservations, every=settings.reservation_sweep_seconds
    )
    periodic(app, "forget_finished_jobs", forget_finished_jobs, every=3600)
    periodic(app, "forget_old_events", forget_old_events, every=3600)


async def expire_coupons(context: procrastinate.JobContext, timestamp: int) -> None:
    """Write EXPIRED on ACTIVE coupons whose window has closed (reads compute it anyway)."""
    await mark_expired_coupons(resources_of(context).db)


async def forget_guess_windows(context: procrastinate.JobContext, timestamp: int) -> None:
    """Delete the guessing counts whose window has run out."""
    resources = resources_of(context)
    await forget_old_windows(resources.db, GuessPolicy.of(resources.settings))


async def expire_reservations(context: procrastinate.JobContext, timestamp: int) -> None:
    """Write EXPIRED on holds whose time has passed (they stopped counting when it did)."""
    expired = await lifecycle.expire_holds(resources_of(context).db)
    if expired:  # each with its `reservation.expired` event, written in the same transaction
        log.info("holds expired", extra={"reservations": len(expired)})


async def deliver_webhooks(context: procrastinate.JobContext, timestamp: int) -> None:
    """Number new events and send the webhooks that are due, for as long as there is any
    (a run ends after a moment with nothing to do): one run at a time across all workers,
    started again each second. A stopping worker's run writes down what it has and ends."""
    resources = resources_of(context)
    await webhook_delivery.run_deliveries(resources.db, resources.settings.webhook_policy)


async def start_generation_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
    """Queue `generate_codes` for every unfinished code generation job (once per job)."""
    for job_id in await code_generation.unfinished_jobs(resources_of(context).db):
        await defer_once(context.app, GENERATE_CODES, str(job_id), job_id=str(job_id))


async def generate_codes(context: procrastinate.JobContext, job_id: str) -> None:
    """Write the job's remaining codes; resumes from the job's own progress."""
    await code_generation.run_generation_job(resources_of(context).db, UUID(job_id))


async def forget_finished_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
    """Delete the queue's jobs that succeeded more than a day ago (failed ones stay)."""
    await context.app.job_manager.delete_old_jobs(nb_hours=FINISHED_JOBS_KEPT_HOURS)


async def forget_old_events(context: procrastinate.JobContext, timestamp: int) -> None:
    """Delete the events past their retention that no webhook delivery waits on."""
    resources = resources_of(context)
    forgotten = await events.forget_old_events(
        resources.db, resources.settings.event_retention_days
    )
    if forgotten:
        log.info("old events deleted", extra={"events": forgotten})
