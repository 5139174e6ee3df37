"""Statements on `campaigns` and `code_generation_jobs`. They never commit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    Row,
    Table,
    case,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnClause, TextClause

from db.models import Campaign, CodeGenerationJob

campaigns = cast(Table, Campaign.__table__)
k = campaigns.c
jobs = cast(Table, CodeGenerationJob.__table__)
j = jobs.c

Keyset = tuple[datetime, UUID]
UNIQUE_VIOLATION = "23505"

# Every read of a campaign also asks the database for its effective status and live holds
# (db/sql/campaign_status.sql, campaign_held_uses.sql).
_ROW: ColumnClause[Any] = literal_column("campaigns")
READ = (
    *campaigns.c,
    func.campaign_status(_ROW).label("effective_status"),
    func.campaign_held_uses(_ROW).label("held_uses"),
)


async def insert_campaign(session: AsyncSession, values: Mapping[str, Any]) -> Row[Any]:
    statement = pg_insert(campaigns).values(**values).returning(*READ)
    return (await session.execute(statement)).one()


async def campaigns_by_ids(session: AsyncSession, ids: Sequence[UUID]) -> Sequence[Row[Any]]:
    return (await session.execute(select(*READ).where(k.id.in_(ids)))).all()


async def campaign_for_update(session: AsyncSession, campaign_id: UUID) -> Row[Any] | None:
    """The campaign, locked until the transaction ends (code generation against limits)."""
    statement = select(*READ).where(k.id == campaign_id).with_for_update(of=campaigns)
    return (await session.execute(statement)).one_or_none()


async def campaigns_page(
    session: AsyncSession, first: int, after: Keyset | None
) -> Sequence[Row[Any]]:
    """Newest first, up to `first + 1` rows: the extra one tells whether a page follows."""
    statement = select(*READ)
    if after is not None:
        statement = statement.where(tuple_(k.created_at, k.id) < tuple_(*after))
    statement = statement.order_by(k.created_at.desc(), k.id.desc()).limit(first + 1)
    return (await session.execute(statement)).all()


async def count_campaigns(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(campaigns))).scalar_one())


async def set_active(session: AsyncSession, campaign_id: UUID, *, active: bool) -> Row[Any] | None:
    """INACTIVE when deactivated; back to ACTIVE only from INACTIVE (limits still apply)."""
    reactivated = case((k.status == "INACTIVE", literal("ACTIVE", k.status.type)), else_=k.status)
    statement = (
        update(campaigns)
        .where(k.id == campaign_id)
        .values(status=reactivated if active else "INACTIVE", updated_at=func.now())
        .returning(*READ)
    )
    return (await session.execute(statement)).one_or_none()


async def add_codes(session: AsyncSession, campaign_id: UUID, count: int) -> None:
    statement = (
        update(campaigns)
        .where(k.id == campaign_id)
        .values(code_count=k.code_count + count, updated_at=func.now())
    )
    await session.execute(statement)


async def insert_job(session: AsyncSession, values: Mapping[str, Any]) -> Row[Any]:
    return (await session.execute(pg_insert(jobs).values(**values).returning(*jobs.c))).one()


async def job_by_id(session: AsyncSession, job_id: UUID) -> Row[Any] | None:
    return (await session.execute(select(jobs).where(j.id == job_id))).one_or_none()


async def unfinished_job(session: AsyncSession, job_id: UUID) -> Row[Any] | None:
    """The job, if PENDING or RUNNING (no lock: batches of one job may be written at once)."""
    statement = select(jobs).where(j.id == job_id, j.status.in_(("PENDING", "RUNNING")))
    return (await session.execute(statement)).one_or_none()


async def unfinished_job_ids(session: AsyncSession) -> Sequence[UUID]:
    statement = select(j.id).where(j.status.in_(("PENDING", "RUNNING"))).order_by(j.created_at)
    return (await session.execute(statement)).scalars().all()


async def record_progress(session: AsyncSession, job_id: UUID, written: int) -> Row[Any] | None:
    """Count `written` codes on the unfinished job; SUCCEEDED when that makes `requested`.

    None, changing nothing, when the job has finished (or failed) meanwhile, or when the
    count would pass `requested`: batches written at once may together draw more than is
    left, and the one that would overshoot must be rolled back, not counted.
    """
    done = j.generated + written >= j.requested
    statement = (
        update(jobs)
        .where(
            j.id == job_id,
            j.status.in_(("PENDING", "RUNNING")),
            j.generated + written <= j.requested,
        )
        .values(
            generated=j.generated + written,
            status=case(
                (done, literal("SUCCEEDED", j.status.type)),
                else_=literal("RUNNING", j.status.type),
            ),
            # The moment of this update, not of its transaction's start: batches written
            # at once begin in one order and count in another, and a job must not finish
            # before it started.
            started_at=func.coalesce(j.started_at, func.clock_timestamp()),
            finished_at=case((done, func.clock_timestamp()), else_=None),
        )
        .returning(*jobs.c)
    )
    return (await session.execute(statement)).one_or_none()


async def fail_job(session: AsyncSession, job_id: UUID, error: str) -> Row[Any] | None:
    """Write FAILED on the unfinished job; the job, or None when it had finished already."""
    statement = (
        update(jobs)
        .where(j.id == job_id, j.status.in_(("PENDING", "RUNNING")))
        .values(status="FAILED", error=error[:500], finished_at=func.clock_timestamp())
        .returning(*jobs.c)
    )
    return (await session.execute(statement)).one_or_none()


# A campaign's code carries a copy of the campaign's terms and window, made when the code
# is: the redemption function reads one row for the terms, and a campaign's terms do not
# change after it is created. Its own use limit is maxUsesPerCode. `{rows}` names the new
# codes (a `code` column) and `{id}` their ids; generation and import both write codes
# through this. The ids are time-ordered (db/sql/uuid_v7.sql): a batch lands at the
# primary key's right edge, and an import's codes keep the file's order.
_INSERT_CODES = """
    INSERT INTO coupons (id, code, type, campaign_id, discount_type, discount_value,
                         max_discount_amount, min_order_value, description,
                         valid_from, valid_until, max_uses_per_user, max_total_uses)
    SELECT {id}, new.code, 'CAMPAIGN', k.id, k.discount_type, k.discount_value,
           k.max_discount_amount, k.min_order_value, k.description,
           k.valid_from, k.valid_until, k.max_uses_per_code, k.max_uses_per_code
    FROM {rows} CROSS JOIN campaigns k
    WHERE k.id = :campaign_id
"""
_DRAWN = "unnest(CAST(:codes AS text[])) AS new(code)"
_INSERT_ALL_CODES = text(_INSERT_CODES.format(rows=_DRAWN, id="uuid_v7()"))
_INSERT_FREE_CODES = text(
    _INSERT_CODES.format(rows=_DRAWN, id="uuid_v7()") + "ON CONFLICT (code) DO NOTHING"
)


async def insert_codes(session: AsyncSession, campaign_id: UUID, codes: Sequence[str]) -> int:
    """Insert the codes (distinct) that are free; the number written (a taken code is skipped).

    A plain INSERT first, under a savepoint: ON CONFLICT costs about a fifth more per row
    (bench/RESULTS.md), and a drawn code is almost never taken. Only when one is, the
    batch is inserted again skipping the taken codes.
    """
    values = {"codes": list(codes), "campaign_id": campaign_id}
    written = await _all_unless_taken(session, _INSERT_ALL_CODES, values)
    if written is None:
        result = await session.execute(_INSERT_FREE_CODES, values)
        written = int(result.rowcount)  # type: ignore[attr-defined]
    return written


async def _all_unless_taken(
    session: AsyncSession, insert: TextClause, values: Mapping[str, Any]
) -> int | None:
    """The rows a plain INSERT of codes wrote, under a savepoint; None, having written
    nothing, when one of the codes is taken (the caller then inserts skipping those)."""
    try:
        async with session.begin_nested():
            result = await session.execute(insert, values)
    except IntegrityError as error:
        if getattr(error.orig, "sqlstate", None) != UNIQUE_VIOLATION:
            raise
        return None
    return int(result.rowcount)  # type: ignore[attr-defined]


# An import's lines are staged in a temporary table first, every line that names a code
# (line number, code; or why it is none), so that a file that turns out not to be text
# writes nothing, repeats in the file are found by the database (in constant memory
# here), and the lines skipped, for whatever reason, are reported in line order at the end.
_STAGING = text(
    "CREATE TEMPORARY TABLE import_lines (line integer PRIMARY KEY, code text, skip text,"
    " detail text, first_line integer) ON COMMIT DROP"
)
_STAGE = text(
    "INSERT INTO import_lines (line, code, skip, detail)"
    " SELECT * FROM unnest(CAST(:lines AS integer[]), CAST(:codes AS text[]),"
    " CAST(:skips AS text[]), CAST(:details AS text[]))"
)
# The later lines of a code the file names more than once are skipped, with the first line
# that named it.
_SKIP_REPEATS = text(
    """
    WITH firsts AS (
        SELECT code, min(line) AS first_line FROM import_lines
        WHERE skip IS NULL GROUP BY code HAVING count(*) > 1
    )
    UPDATE import_lines i SET skip = 'REPEATED', first_line = f.first_line
    FROM firsts f
    WHERE i.code = f.code AND i.line > f.first_line
    """
)
# One stretch of the staged lines written as codes, each id made of its line number. The
# plain INSERT first; when a code is taken, the one that skips and marks the taken codes.
_STRETCH = (
    "SELECT code, line FROM import_lines WHERE line > :after AND line <= :upto AND skip IS NULL"
)
_WRITE_ALL_STAGED = text(
    _INSERT_CODES.format(rows=f"({_STRETCH} ORDER BY code) AS new", id="uuid_v7(new.line)")
)
_WRITE_STAGED_TEMPLATE = """
    WITH chunk AS ({stretch}),
    written AS ({insert} ON CONFLICT (code) DO NOTHING RETURNING code),
    taken AS (
        UPDATE import_lines i SET skip = 'TAKEN'
        FROM chunk c
        WHERE i.line = c.line AND c.code NOT IN (SELECT code FROM written)
        RETURNING i.line
    )
    SELECT (SELECT count(*) FROM written) AS written, (SELECT count(*) FROM taken) AS taken
"""
_WRITE_STAGED = text(
    _WRITE_STAGED_TEMPLATE.format(
        stretch=_STRETCH,
        insert=_INSERT_CODES.format(
            rows="(SELECT code, line FROM chunk ORDER BY code) AS new", id="uuid_v7(new.line)"
        ),
    )
)
_SKIPPED = text(
    "SELECT line, code, skip, detail, first_line FROM import_lines"
    " WHERE skip IS NOT NULL ORDER BY line"
)


# Imports take turns (a transaction-level lock: it goes with the import's transaction).
_IMPORT_LOCK = "hashtextextended('coupon-import', 0)"
_TRY_IMPORT_LOCK = text(f"SELECT pg_try_advisory_xact_lock({_IMPORT_LOCK})")
_IMPORT_LOCK_WAIT = text(f"SELECT pg_advisory_xact_lock({_IMPORT_LOCK})")


async def begin_import(session: AsyncSession, *, wait: bool) -> bool:
    """Take the imports' turn for this transaction: True when taken; with `wait`, once
    the import running now (if any) has ended. Two imports at once, writing the same codes
    in different orders, could deadlock: one at a time, they never do."""
    if wait:
        await session.execute(_IMPORT_LOCK_WAIT)
        return True
    return bool((await session.execute(_TRY_IMPORT_LOCK)).scalar_one())


async def create_import_staging(session: AsyncSession) -> None:
    """The import's staging table, dropped when the transaction ends."""
    await session.execute(_STAGING)


async def stage_import_lines(
    session: AsyncSession,
    lines: Sequence[int],
    codes: Sequence[str | None],
    skips: Sequence[str | None],
    details: Sequence[str | None],
) -> None:
    """Stage lines: a code each, or (code None) a skip and its detail."""
    values = {"lines": list(lines), "codes": list(codes), "skips": list(skips)}
    await session.execute(_STAGE, {**values, "details": list(details)})


async def skip_repeated_lines(session: AsyncSession) -> int:
    """Mark every repeat in the file skipped; how many there were."""
    result = await session.execute(_SKIP_REPEATS)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def write_staged_lines(
    session: AsyncSession, campaign_id: UUID, after: int, upto: int
) -> tuple[int, int]:
    """Write the staged lines numbered after < line <= upto as the campaign's codes:
    (codes written, codes already taken, which are marked skipped).

    As for generated codes, a plain INSERT first, under a savepoint, and only when a code
    is taken the slower one that skips and marks the taken codes.
    """
    values = {"campaign_id": campaign_id, "after": after, "upto": upto}
    written = await _all_unless_taken(session, _WRITE_ALL_STAGED, values)
    if written is not None:
        return written, 0
    row = (await session.execute(_WRITE_STAGED, values)).one()
    return int(row.written), int(row.taken)


async def skipped_lines(session: AsyncSession) -> AsyncIterator[Row[Any]]:
    """(line, code, skip, detail, first_line) of every skipped line, in line order, streamed."""
    result = await session.stream(_SKIPPED)
    async for row in result:
        yield row


async def codes_pending(session: AsyncSession, campaign_id: UUID) -> int:
    """Codes that unfinished jobs of the campaign have still to write."""
    statement = select(func.coalesce(func.sum(j.requested - j.generated), 0)).where(
        j.campaign_id == campaign_id, j.status.in_(("PENDING", "RUNNING"))
    )
    return int((await session.execute(statement)).scalar_one())
