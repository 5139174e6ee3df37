"""Importing a campaign's codes from a file: every line written, or skipped with its reason.

`import_codes` runs in one transaction, so that a file found not to be text half-way
writes nothing, and a crash leaves no half import: the lines are staged in a temporary
table as they are read (in batches, in constant memory), repeats within the file are
found and marked by the database, then the staged codes are written in stretches of
`WRITE_BATCH` lines, skipping codes that any coupon already has, and finally every
skipped line is reported in line order. The codes keep the file's order (their ids are
made of their line numbers: db/sql/uuid_v7.sql). The campaign's row is touched once, at
the end (its `codeCount`, just before the commit), so redemptions of its codes never wait
for an import. Codes
are read as a shop's own codes are (domain/code_files.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import Database
from db.queries import campaigns, events
from graphql_api.domain.code_files import CodeLine
from graphql_api.domain.errors import invalid
from graphql_api.services.code_generation import campaign_taking_codes

STAGE_BATCH = 10_000
WRITE_BATCH = 20_000


class Skip(Enum):
    """Why a line of the file was not written."""

    INVALID = "invalid"
    REPEATED = "repeated in the file"
    TAKEN = "already in the service"


@dataclass(frozen=True, slots=True)
class SkippedLine:
    """A line not written: its number, its code (None when it is not one) and why; for a
    REPEATED line, `first_line` is the line that named the code first."""

    number: int
    skip: Skip
    code: str | None = None
    detail: str | None = None
    first_line: int | None = None


@dataclass(slots=True)
class ImportSummary:
    """What an import did, line by line counted."""

    campaign_name: str
    lines: int = 0  # lines that named a code, well or badly (not headers, not blank)
    written: int = 0
    invalid: int = 0
    repeated: int = 0
    taken: int = 0

    @property
    def skipped(self) -> int:
        return self.invalid + self.repeated + self.taken


async def import_codes(
    db: Database,
    campaign_id: UUID,
    lines: Iterable[CodeLine],
    *,
    on_skipped: Callable[[SkippedLine], None],
    on_read: Callable[[int], None] = lambda _count: None,
    on_written: Callable[[int, int], None] = lambda _done, _total: None,
    on_waiting: Callable[[], None] = lambda: None,
) -> ImportSummary:
    """Add the codes of `lines` to the campaign. Progress goes to `on_read` (lines read so
    far) and `on_written` (staged lines handled, of all staged); every line not written is
    told to `on_skipped` at the end, in line order. Imports run one at a time, service-wide
    (two writing the same codes in different orders could deadlock): `on_waiting` is told
    when this one waits for another to finish.

    Raises CouponError NOT_FOUND / INACTIVE / EXPIRED (the campaign takes no codes),
    INVALID_INPUT on `file` (it names no code at all, or its header has no `code` column),
    and NotTextError (from reading `lines`) when the file is not text: in each case nothing
    is written.
    """
    async with db.transaction() as session:
        campaign = await campaign_taking_codes(session, campaign_id, lock=False)
        if not await campaigns.begin_import(session, wait=False):
            on_waiting()
            await campaigns.begin_import(session, wait=True)
        summary = ImportSummary(campaign.name)
        await campaigns.create_import_staging(session)
        batch = _StagedBatch()
        last_line = 0
        for line in lines:
            summary.lines += 1
            last_line = line.number
            if line.code is None:
                summary.invalid += 1
            batch.add(line)
            if len(batch) >= STAGE_BATCH:
                await batch.stage(session)
            if summary.lines % 1_000 == 0:
                on_read(summary.lines)
        await batch.stage(session)
        on_read(summary.lines)
        if summary.lines == 0:
            raise invalid("file", "the file names no codes: it is empty, or a header alone")

        summary.repeated = await campaigns.skip_repeated_lines(session)
        for after in range(0, last_line, WRITE_BATCH):
            written, taken = await campaigns.write_staged_lines(
                session, campaign_id, after, after + WRITE_BATCH
            )
            summary.written += written
            summary.taken += taken
            on_written(
                summary.written + summary.taken, summary.lines - summary.invalid - summary.repeated
            )
        async for skipped in campaigns.skipped_lines(session):
            on_skipped(
                SkippedLine(
                    skipped.line,
                    Skip[skipped.skip],
                    skipped.code,
                    detail=skipped.detail,
                    first_line=skipped.first_line,
                )
            )
        # Last, just before the commit: the campaign's row stays locked from here to the
        # commit, and the campaign's redemptions lock it too (a slow reader of the report
        # above must not hold them up).
        await campaigns.add_codes(session, campaign_id, summary.written)
        if summary.written:
            await events.append_codes_generated(
                session, campaign_id, source="IMPORT", count=summary.written
            )
    return summary


class _StagedBatch:
    """Lines read and not yet staged: at most STAGE_BATCH of them."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.lines: list[int] = []
        self.codes: list[str | None] = []
        self.skips: list[str | None] = []
        self.details: list[str | None] = []

    def __len__(self) -> int:
        return len(self.lines)

    def add(self, line: CodeLine) -> None:
        self.lines.append(line.number)
        self.codes.append(line.code)
        self.skips.append(None if line.code is not None else Skip.INVALID.name)
        self.details.append(line.problem)

    async def stage(self, session: AsyncSession) -> None:
        if self.lines:
            await campaigns.stage_import_lines(
                session, self.lines, self.codes, self.skips, self.details
            )
        self.clear()
