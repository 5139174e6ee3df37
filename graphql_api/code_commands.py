"""`coupons generate-codes` and `coupons import-codes`: a campaign's codes from a terminal.

They work on the database itself (DATABASE_URL, or the embedded server, as every command),
which must be at this version's schema (they never migrate: `coupons migrate` does),
through the same services as the API: `generate-codes` records the job `generateCodes`
records and writes it in this process (a running worker may lend a hand: the count stays
exact), `import-codes` adds a file's codes in one transaction. Progress goes to standard
error, as a bar on a terminal and plain lines elsewhere; standard output stays free.

Exit status, for scripts: 0 done; 1 failed while working (the database, a FAILED job);
2 refused before anything was written (arguments, a campaign that is missing, paused or
ended, a file that is missing, empty or not text); 3 (import) done, but lines were skipped;
130 (generate) interrupted, the job left to a worker.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import click
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from db.engine import Database, create_engine
from db.migrate import head_revision
from graphql_api.command_errors import CommandFailed, CommandRefused
from graphql_api.domain.campaign_rules import GenerationRequest, generation_request
from graphql_api.domain.campaigns import JobStatus
from graphql_api.domain.code_files import NotTextError, read_code_lines
from graphql_api.domain.errors import CouponError
from graphql_api.progress import Progress
from graphql_api.services import code_generation, code_import
from graphql_api.services.code_import import ImportSummary, Skip, SkippedLine

EXIT_SKIPPED = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
# A command's statements may be long (a million staged lines checked for repeats at once).
COMMAND_STATEMENT_TIMEOUT = 3600.0
PROGRESS_POLL_SECONDS = 0.25

T = TypeVar("T")


def campaign_option(function: Any) -> Any:
    return click.option(
        "--campaign",
        "campaign_id",
        required=True,
        metavar="ID",
        help="The campaign's id (Campaign.id).",
    )(function)


@click.command("generate-codes")
@campaign_option
@click.option("--count", required=True, type=int, help="How many new codes: 1 to 1,000,000.")
@click.option(
    "--prefix", default="", show_default="none", help="0-20 of A-Z 0-9 - before each code."
)
@click.option("--length", default=12, type=int, help="Random characters after the prefix: 6 to 32.")
def generate_codes(campaign_id: str, count: int, prefix: str, length: int) -> None:
    """Generate COUNT new codes for a campaign, with a progress bar, and wait for them.

    The same as the generateCodes mutation (the same rules, the same job, which the API
    shows in codeGenerationJob), written by this process. Interrupted, the job stays
    RUNNING and a worker (`coupons worker`, or serve's) finishes it.
    Export the codes afterwards with `coupons export codes --campaign ID`.
    """
    campaign = parse_campaign_id(campaign_id)
    try:
        request = generation_request(count=count, prefix=prefix, length=length)
    except CouponError as error:
        raise CommandRefused(refusal(error)) from None
    try:
        run_with_database(lambda db: _generate(db, campaign, request))
    except KeyboardInterrupt:
        click.echo(
            "interrupted: the job stays RUNNING and a worker (coupons worker, or serve's) "
            "finishes it; follow it with the codeGenerationJob query",
            err=True,
        )
        raise SystemExit(EXIT_INTERRUPTED) from None


async def _generate(db: Database, campaign_id: uuid.UUID, request: GenerationRequest) -> None:
    try:
        job = await code_generation.request_codes(db, campaign_id, request)
    except CouponError as error:
        raise CommandRefused(refusal(error)) from None
    click.echo(f"job {job.id}: {job.requested:,} codes for campaign {campaign_id}", err=True)
    started = time.monotonic()
    with Progress(job.requested, "codes", "generating") as progress:
        writing = asyncio.create_task(code_generation.run_generation_job(db, job.id))
        while True:
            done = await code_generation.job_by_id(db, job.id)
            if done is None:  # jobs are never deleted: only a database reset does this
                raise CommandFailed(f"job {job.id} is gone")
            progress.update_to(done.generated)
            if done.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                break
            if writing.done() and writing.exception() is not None:
                raise writing.exception()  # type: ignore[misc]
            await asyncio.sleep(PROGRESS_POLL_SECONDS)
        await writing
    seconds = time.monotonic() - started
    if done.status is JobStatus.FAILED:
        raise CommandFailed(f"job {job.id} failed after {done.generated:,} codes: {done.error}")
    click.echo(
        f"generated {done.generated:,} codes in {seconds:.1f} s "
        f"({done.generated / seconds:,.0f} codes/s), no duplicates (a drawn code that is taken is "
        f"drawn again); export them with: coupons export codes --campaign {campaign_id}",
        err=True,
    )


@click.command("import-codes")
@campaign_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
def import_codes(campaign_id: str, file: Path) -> None:
    """Add the codes of FILE to a campaign ("-" reads standard input).

    FILE holds one code a line, or is a CSV whose header has a `code` column. Codes follow
    the rule of a shop's own codes (4-50 of A-Z 0-9 - _, read trimmed and upper-cased).
    Each line not written is reported on stderr with its number: invalid, repeated in the
    file, or already in the service. All is written in one transaction: a file that turns
    out not to be text writes nothing. Exit status 3 when lines were skipped.
    """
    campaign = parse_campaign_id(campaign_id)
    stream = open_input(file)
    try:
        summary = run_with_database(_import(campaign, stream, str(file)))
    finally:
        if str(file) != "-":
            stream.close()
    if summary.skipped:
        raise SystemExit(EXIT_SKIPPED)


def _import(
    campaign_id: uuid.UUID, stream: BinaryIO, name: str
) -> Callable[[Database], Awaitable[ImportSummary]]:
    async def work(db: Database) -> ImportSummary:

        def report(line: SkippedLine) -> None:
            if line.skip is Skip.INVALID:
                why = str(line.detail)
            elif line.skip is Skip.REPEATED:
                why = f"{line.code} repeats line {line.first_line}"
            else:
                why = f"{line.code} is already in the service"
            click.echo(f"{name}:{line.number}: skipped, {why}", err=True)

        started = time.monotonic()
        reading = Progress(None, "lines", "reading")
        writing: Progress | None = None

        def written(done: int, total: int) -> None:
            nonlocal writing
            if writing is None:
                reading.close()
                writing = Progress(total, "codes", "writing")
            writing.update_to(done)

        try:
            summary = await code_import.import_codes(
                db,
                campaign_id,
                read_code_lines(stream),
                on_skipped=report,
                on_read=reading.update_to,
                on_written=written,
                on_waiting=lambda: click.echo(
                    "waiting for another import to finish (imports take turns)", err=True
                ),
            )
        except CouponError as error:
            why = f"{name}: {error.message}" if error.field == "file" else refusal(error)
            raise CommandRefused(why) from None
        except NotTextError as error:
            raise CommandRefused(
                f"{name}:{error.line}: {error.reason}: not a text file, nothing imported"
            ) from None
        finally:
            reading.close()
            if writing is not None:
                writing.close()
        seconds = time.monotonic() - started
        click.echo(
            f"imported {summary.written:,} {_codes(summary.written)} into campaign "
            f"{summary.campaign_name!r} in "
            f"{seconds:.1f} s ({summary.written / seconds:,.0f} codes/s); skipped "
            f"{summary.skipped:,}: {summary.repeated:,} repeated in the file, "
            f"{summary.taken:,} already in the service, {summary.invalid:,} invalid",
            err=True,
        )
        return summary

    return work


def _codes(count: int) -> str:
    return "code" if count == 1 else "codes"


def parse_campaign_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise CommandRefused(f"--campaign: {value!r} is not a campaign id (a UUID)") from None


def open_input(file: Path) -> BinaryIO:
    if str(file) == "-":
        return sys.stdin.buffer
    try:
        return file.open("rb")
    except OSError as error:
        raise CommandRefused(f"{file}: {error.strerror or error}") from None


def refusal(error: CouponError) -> str:
    """A CouponError as one line: `campaignId` and the others named as the CLI names them."""
    option = {"campaignId": "--campaign"}.get(error.field or "", f"--{error.field}")
    return f"{option}: {error.message} ({error.code.value})" if error.field else error.message


def run_with_database(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work(db)` (an async callable) on the command's database: DATABASE_URL or the
    embedded server, at this version's schema."""
    from graphql_api.cli import database_failure, database_url, load_settings

    settings = load_settings()
    with database_url(settings) as url:
        try:
            return asyncio.run(_with_database(url, settings.connect_timeout, work))
        except (OSError, DBAPIError) as error:
            raise CommandFailed(database_failure(url, error)) from None


async def _with_database(
    url: str, connect_timeout: float, work: Callable[[Database], Awaitable[T]]
) -> T:
    async with _database(url, connect_timeout) as db:
        await _check_schema(db)
        return await work(db)


async def _check_schema(db: Database) -> None:
    """These commands never migrate (a newer command pointed at a production database must
    not change its schema): a database not at this version's schema is refused."""
    newest = head_revision()
    async with db.single_statement() as session:
        try:
            current = (await session.execute(text(_CURRENT_REVISION))).scalar_one_or_none()
        except ProgrammingError:  # no alembic_version: never migrated
            current = None
    if current != newest:
        raise CommandFailed(
            f"the database is at schema {current or 'none'}, this version needs {newest}: "
            "run `coupons migrate` first"
        )


_CURRENT_REVISION = "SELECT version_num FROM alembic_version"


@asynccontextmanager
async def _database(url: str, connect_timeout: float) -> AsyncIterator[Database]:
    engine = create_engine(
        url,
        pool_size=3,
        max_overflow=2,
        connect_timeout=connect_timeout,
        statement_timeout=COMMAND_STATEMENT_TIMEOUT,
        application_name="coupons-cli",
    )
    try:
        yield Database(engine)
    finally:
        await engine.dispose()
