"""Generating a campaign's codes: a job recorded at once, worked off in the background.

`request_codes` checks the request against the campaign (it exists, takes codes, and the
code-space rule holds counting the codes that unfinished jobs will still write) and
records a PENDING job, under the campaign's row lock so that two requests cannot together
pass the rule. `run_generation_job` writes the codes in batches, two at once on two
connections (the database's insert work is what bounds the rate): each batch, its count in
`generated` and the campaign's `codeCount` commit together, and the count is guarded so
that batches written at once never take it past `requested`. A job taken up again after
its worker died (or run by two workers at once) knows exactly how many are left, and ends
with exactly `requested` new codes, never more. A drawn code that is taken is simply not
written, and drawn again in the next batch; a job that stops making progress ends FAILED
with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database
from db.queries import campaigns, events
from graphql_api.domain.campaign_rules import GenerationRequest, check_code_space
from graphql_api.domain.campaigns import Campaign, CampaignStatus, CodeGenerationJob, JobStatus
from graphql_api.domain.codes import draw_codes
from graphql_api.domain.errors import CouponError, ErrorCode
from graphql_api.services.records import to_campaign, to_job

log = logging.getLogger(__name__)

BATCH = 10_000
# Batches written at once. A batch's INSERT keeps one database backend busy (its indexes,
# its WAL): two lanes use two cores, which is what takes a million codes past 50,000 a
# second here (bench/RESULTS.md). Their counts stay exact: see `record_progress`.
LANES = 2
# Batches in a row that wrote nothing: the code space is as good as full.
MAX_BARREN_BATCHES = 5


async def request_codes(
    db: Database, campaign_id: UUID, request: GenerationRequest
) -> CodeGenerationJob:
    """Record a PENDING job for `request.count` codes. Raises NOT_FOUND (no campaign),
    INACTIVE or EXPIRED (a campaign that takes no codes), INVALID_INPUT on `length`."""
    async with db.transaction() as session:
        campaign = await campaign_taking_codes(session, campaign_id, lock=True)
        pending = await campaigns.codes_pending(session, campaign_id)
        check_code_space(request, campaign.code_count + pending)
        job = await campaigns.insert_job(
            session,
            {
                "campaign_id": campaign_id,
                "requested": request.count,
                "prefix": request.prefix,
                "length": request.length,
            },
        )
    return to_job(job._mapping)


async def campaign_taking_codes(
    session: AsyncSession, campaign_id: UUID, *, lock: bool
) -> Campaign:
    """The campaign, if it may take new codes (generated or imported); with `lock`, its row
    is locked until the transaction ends. Raises NOT_FOUND (no campaign), INACTIVE (paused)
    or EXPIRED (ended)."""
    if lock:
        row = await campaigns.campaign_for_update(session, campaign_id)
    else:
        found = await campaigns.campaigns_by_ids(session, [campaign_id])
        row = found[0] if found else None
    if row is None:
        raise CouponError(ErrorCode.NOT_FOUND, f"No campaign with id {campaign_id}", "campaignId")
    campaign = to_campaign(row._mapping)
    if campaign.status is CampaignStatus.INACTIVE:
        raise CouponError(ErrorCode.INACTIVE, "This campaign is not active", "campaignId")
    if campaign.status is CampaignStatus.EXPIRED:
        raise CouponError(ErrorCode.EXPIRED, "This campaign has ended", "campaignId")
    return campaign


async def job_by_id(db: Database, job_id: UUID) -> CodeGenerationJob | None:
    async with db.single_statement() as session:
        row = await campaigns.job_by_id(session, job_id)
    return None if row is None else to_job(row._mapping)


async def unfinished_jobs(db: Database) -> list[UUID]:
    """Jobs PENDING or RUNNING, oldest first: the ones a worker should (re)start."""
    async with db.single_statement() as session:
        return list(await campaigns.unfinished_job_ids(session))


class _OvershootError(Exception):
    """A batch that would take the job past `requested`: rolled back, drawn again smaller."""


async def run_generation_job(
    db: Database, job_id: UUID, batch: int = BATCH, lanes: int = LANES
) -> JobStatus | None:
    """Write the job's remaining codes in `lanes` batches at once. Returns the job's final
    status, or None when it was finished already (or another runner finished it)."""
    # A task group: a lane that fails stops the others, and its error is the job's (raised
    # as itself, not wrapped in the group's ExceptionGroup, so callers catch what they know).
    try:
        async with asyncio.TaskGroup() as group:
            running = [
                group.create_task(_write_batches(db, job_id, batch, lanes)) for _ in range(lanes)
            ]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    finished = [task.result() for task in running if task.result() is not None]
    return finished[0] if finished else None


async def _write_batches(db: Database, job_id: UUID, batch: int, lanes: int) -> JobStatus | None:
    """One lane: batches until the job is finished. Each batch's codes, its count in the job
    and the campaign's `codeCount` commit together or not at all."""
    barren = 0
    while True:
        try:
            async with db.transaction() as session:
                row = await campaigns.unfinished_job(session, job_id)
                if row is None:
                    return None
                job = to_job(row._mapping)
                remaining = job.requested - job.generated
                # Near the end each lane takes its share, so the lanes rarely overshoot.
                size = min(batch, -(-remaining // lanes))
                drawn = sorted(set(draw_codes(job.prefix, job.length, size)))
                written = await campaigns.insert_codes(session, job.campaign_id, drawn)
                done = await campaigns.record_progress(session, job_id, written)
                if done is None:
                    raise _OvershootError
                await campaigns.add_codes(session, job.campaign_id, written)
                if done.status == JobStatus.SUCCEEDED.value:
                    await events.append_codes_generated(
                        session,
                        job.campaign_id,
                        source="GENERATION",
                        count=done.generated,
                        job_id=job_id,
                        job_status=done.status,
                    )
        except _OvershootError:
            continue
        if done.status == JobStatus.SUCCEEDED.value:
            return JobStatus.SUCCEEDED
        barren = barren + 1 if written == 0 else 0
        if barren >= MAX_BARREN_BATCHES:
            async with db.transaction() as session:
                failed = await campaigns.fail_job(
                    session, job_id, "Drawn codes kept colliding with existing ones"
                )
                if failed is not None:  # one event, by the lane that wrote FAILED
                    await events.append_codes_generated(
                        session,
                        job.campaign_id,
                        source="GENERATION",
                        count=failed.generated,
                        job_id=job_id,
                        job_status=JobStatus.FAILED.value,
                    )
            log.warning("code generation job %s failed: codes kept colliding", job_id)
            return JobStatus.FAILED
