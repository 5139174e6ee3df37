"""The `coupons` command: a click group of serve, worker, migrate, export and export-schema,
and the campaign code commands of code_commands.py (generate-codes, import-codes)."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import BinaryIO

import click
from pydantic import AliasChoices, ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from db.engine import Database, create_engine
from db.migrate import upgrade_to_head
from graphql_api.command_errors import CommandFailed, CommandRefused
from graphql_api.domain.errors import CouponError
from graphql_api.logs import configure_logging
from graphql_api.progress import Progress
from graphql_api.services.exports import (
    ExportKind,
    ExportRequest,
    OnRows,
    export_request,
    open_export,
)
from graphql_api.settings import Settings, UnsafeSettingsError, get_settings

log = logging.getLogger("coupons")

# uvicorn's default; the socket listens from the moment it is bound (see listen()).
BACKLOG = 2048


def environment_variable(field: str) -> str:
    """The environment variable a Settings field is read from."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        alias = alias.choices[0]
    if isinstance(alias, str):
        return alias
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


def settings_help() -> list[tuple[str, str]]:
    """(variable, meaning and default) for every setting, read from the Settings model."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        rows.append(
            (environment_variable(name), f"{field.description}  [default: {_shown(default)}]")
        )
    return rows


def _shown(default: object) -> str:
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default) or "empty"


class CouponsGroup(click.Group):
    """A click group whose help ends with the settings read from the environment."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Settings (environment variables)"):
            formatter.write_dl(settings_help())
        super().format_epilog(ctx, formatter)


@click.group(cls=CouponsGroup, context_settings={"show_default": True})
@click.version_option(package_name="coupons", prog_name="coupons")
def coupons() -> None:
    """A coupon generation and validation service: a GraphQL API on PostgreSQL."""


@coupons.command()
@click.option(
    "--host",
    default="127.0.0.1",
    envvar="COUPONS_HOST",
    show_envvar=True,
    help="Address to listen on; 0.0.0.0 for every IPv4 interface.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    envvar="COUPONS_PORT",
    show_envvar=True,
    help="TCP port to listen on; 0 lets the system pick a free one.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    envvar="COUPONS_WORKERS",
    show_envvar=True,
    help="Worker processes; use the number of cores in production.",
)
def serve(host: str, port: int, workers: int) -> None:
    """Migrate the database, then serve the GraphQL API and run a background worker.

    The port is taken first: a busy one fails at once, without touching the database.
    Without DATABASE_URL the embedded PostgreSQL in COUPONS_DATA_DIR is started, or shared
    with the other processes already using it; it stops when the last of them leaves.
    The background worker is one child process, however many web workers run (none with
    COUPONS_BACKGROUND_WORKER=false); it stops with serve.
    """
    # Uvicorn drains requests on SIGTERM/SIGINT and then raises the signal again; with this
    # handler in place that unwinds through the `with` below, so an embedded database is left
    # cleanly and the metrics directory removed. Set first: it also covers the start-up.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    # The metrics directory first: prometheus_client picks where a process's metrics live
    # when it is first imported, and reading the settings may import it (COUPONS_TRACING
    # checks its exporter through graphql_api.tracing); one worker runs in this process.
    with multiprocess_metrics():
        settings = load_settings()
        try:
            settings.check_safe_to_start()
        except UnsafeSettingsError as error:
            raise CommandRefused(f"refusing to start: {error}") from None
        with listen(host, port) as listener, database_url(settings) as url:
            migrate_database(url)
            with background_worker(settings):
                run_uvicorn(listener, host, workers, settings.log_level)


@coupons.command()
def worker() -> None:
    """Migrate the database, then run background jobs until SIGTERM or SIGINT.

    The periodic chores (writing expired coupons and holds EXPIRED, forgetting old guessing
    counts and finished queue jobs) and queued jobs (code generation). `serve` runs one of
    these itself unless COUPONS_BACKGROUND_WORKER=false; run this where the background
    work should run apart from the web servers. Any number
    may run at once: each job, and each period of a chore, runs on one of them. On SIGTERM
    it lets running jobs finish for COUPONS_BACKGROUND_SHUTDOWN_SECONDS, then exits 0.
    """
    # Imported late: the job queue's driver is not needed by the other commands.
    from graphql_api.background.worker import main as run_background_worker

    # As in serve: a signal during the start-up unwinds through the `with` below; once the
    # worker runs, its own handlers stop it cleanly.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    with database_url(load_settings()) as url:
        migrate_database(url)
        run_background_worker()


@coupons.command()
def migrate() -> None:
    """Bring the database to the newest schema.

    Alembic's upgrade head. Safe beside a running serve, and from many replicas at once
    (an advisory lock queues them).
    """
    with database_url(load_settings()) as url:
        migrate_database(url)
    log.info("database is at the newest schema")


@coupons.command("export")
@click.argument("what", type=click.Choice([kind.value for kind in ExportKind]))
@click.option(
    "--campaign",
    "campaign_id",
    metavar="ID",
    help="The campaign (a UUID): its codes, or the usages of every one of its codes.",
)
@click.option(
    "--coupon",
    "coupon_id",
    metavar="ID",
    help="usages only, instead of --campaign: the usages of this one coupon (a UUID).",
)
def export(what: str, campaign_id: str | None, coupon_id: str | None) -> None:
    """Write a campaign's codes, or usages, to standard output as CSV.

    The same bytes as GET /exports/codes.csv or /exports/usages.csv: a header row, then
    every row oldest first, read from one snapshot in constant memory. Exit status 0 when
    every row is written, 2 for bad arguments or an unknown campaign or coupon (nothing on
    standard output), 1 when the database fails.
    """
    try:
        request = export_request(
            ExportKind(what), campaign_id, coupon_id, names=("--campaign", "--coupon")
        )
    except CouponError as refusal:
        raise CommandRefused(refusal.message) from None
    settings = load_settings()
    with database_url(settings) as url:
        progress = Progress(None, "rows", f"exporting {what}")
        try:
            with progress:
                asyncio.run(
                    write_export(url, settings, request, sys.stdout.buffer, progress.advance)
                )
        except CouponError as refusal:  # the campaign or coupon is not there
            raise CommandRefused(refusal.message) from None
        except (OSError, DBAPIError) as error:
            if isinstance(error, BrokenPipeError):  # `coupons export ... | head`: a reader
                raise CommandFailed("standard output was closed before the export ended") from None
            raise CommandFailed(database_failure(url, error)) from None
    click.echo(
        f"exported {progress.done:,} rows in {progress.elapsed:.1f} s "
        f"({progress.rate():,.0f} rows/s)",
        err=True,
    )


async def write_export(
    url: str,
    settings: Settings,
    request: ExportRequest,
    out: BinaryIO,
    on_rows: OnRows | None = None,
) -> None:
    """The export's CSV written to `out`, chunk by chunk; `on_rows(n)` after each chunk of n
    rows (the hook for a progress display). CouponError NOT_FOUND before anything is written."""
    engine = create_engine(
        url,
        pool_size=1,
        max_overflow=0,
        pool_timeout=settings.pool_timeout,
        connect_timeout=settings.connect_timeout,
        statement_timeout=settings.statement_timeout,
        application_name="coupons export",
    )
    try:
        async with await open_export(Database(engine), request) as export:
            async for chunk in export.chunks(on_rows):
                out.write(chunk)
        out.flush()
    finally:
        await engine.dispose()


@coupons.command("export-schema")
@click.option(
    "--subgraph",
    is_flag=True,
    help="Print the Federation 2 subgraph SDL (with @link and @key) that a supergraph is "
    "composed from, instead of the client-facing SDL that schema.graphql holds.",
)
def export_schema(subgraph: bool) -> None:
    """Print the GraphQL schema (SDL) that schema.graphql holds."""
    from graphql_api.schema import schema
    from graphql_api.schema.federation import client_sdl, subgraph_sdl

    sys.stdout.write((subgraph_sdl(schema) if subgraph else client_sdl(schema)) + "\n")


def _add_code_commands() -> None:
    # Their own module: they use the helpers below, which it imports when a command runs.
    from graphql_api.code_commands import generate_codes, import_codes

    coupons.add_command(generate_codes)
    coupons.add_command(import_codes)


_add_code_commands()


def main(argv: Sequence[str] | None = None) -> None:
    """The `coupons` console script; also `python -m graphql_api`."""
    coupons.main(args=argv, prog_name="coupons")


def load_settings() -> Settings:
    """The settings, with logging set up; or one line saying what is wrong with them."""
    try:
        settings = get_settings()
    except ValidationError as error:
        problems = "; ".join(settings_problem(e) for e in error.errors())
        raise CommandRefused(f"invalid settings: {problems}") from None
    configure_logging(settings.log_level)
    return settings


def settings_problem(error: ErrorDetails) -> str:
    """One refused setting, named by its variable; never the value (it may be a key)."""
    field = str(error["loc"][0]) if error["loc"] else ""
    name = environment_variable(field) if field in Settings.model_fields else field
    cause = error.get("ctx", {}).get("error")
    message = str(cause) if error["type"] == "value_error" and cause else error["msg"]
    return message if name in message else f"{name}: {message}"


@contextmanager
def background_worker(settings: Settings) -> Iterator[None]:
    """serve's background worker, a child process, for as long as the block runs."""
    if not settings.background_worker:
        log.info("no background worker: COUPONS_BACKGROUND_WORKER is false")
        yield
        return
    # Imported late: the job queue's driver is not needed by the other commands.
    from graphql_api.background.process import worker_process

    with worker_process(settings):
        yield


def _exit_cleanly(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def listen(host: str, port: int) -> socket.socket:
    """The service's socket, bound and listening before anything else starts.

    Made as uvicorn's Config.bind_socket makes it, but listening at once: a socket that is
    only bound does not keep another SO_REUSEADDR socket off the port on Linux.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(BACKLOG)
    except OSError as error:
        listener.close()
        reason = error.strerror or str(error)
        if error.errno == errno.EADDRINUSE:
            reason += " (is another coupons serve running there?)"
        raise CommandFailed(f"cannot listen on {host}:{port}: {reason}") from None
    listener.set_inheritable(True)  # uvicorn's workers are spawned processes that inherit it
    return listener


@contextmanager
def multiprocess_metrics() -> Iterator[None]:
    """Workers write their metrics to one fresh directory, which /metrics adds up.

    Removed when serve exits. A directory the caller names in PROMETHEUS_MULTIPROC_DIR is
    theirs: used, never removed.
    """
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="coupons-metrics-") as path:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """DATABASE_URL, or the embedded server, used for as long as the command runs."""
    if settings.database_url is not None:
        yield settings.require_database_url()
        return
    # Imported late: it needs fcntl and the embedded server's wheel, neither used otherwise.
    from db.embedded import EmbeddedPostgres

    embedded = EmbeddedPostgres(settings.data_dir)
    try:
        url = embedded.start()
    except (OSError, subprocess.SubprocessError, RuntimeError) as error:
        raise CommandFailed(
            f"cannot start the embedded PostgreSQL in {embedded.data_dir}: {error}"
        ) from None
    # Worker processes read their settings afresh: hand them the embedded server.
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    try:
        yield url
    finally:
        embedded.stop()


def migrate_database(url: str) -> None:
    """Alembic upgrade head; a database that cannot be reached is one line, not a traceback."""
    try:
        upgrade_to_head(url)
    except (OSError, DBAPIError) as error:
        if connection_failure(error) is None:
            raise
        raise CommandFailed(database_failure(url, error)) from None


def database_failure(url: str, error: OSError | DBAPIError) -> str:
    """One line: where the database is (never its password) and why it failed."""
    parsed = make_url(url)
    where = parsed.render_as_string(hide_password=True)
    reason = connection_failure(error)
    connected = reason is None  # and then a statement failed
    if reason is None:
        reason = str(error.orig) if isinstance(error, DBAPIError) else str(error)
    if parsed.password:
        reason = reason.replace(str(parsed.password), "***")
    if connected:
        return f"the database at {where} failed: {reason}"
    return f"cannot connect to the database at {where}: {reason}"


def connection_failure(error: OSError | DBAPIError) -> str | None:
    """Why connecting failed, or None when the error is not about connecting."""
    if isinstance(error, DBAPIError):
        # A statement that fails is a migration's bug, worth its traceback; a refused
        # connection (unknown database, wrong password) has no statement.
        return None if error.statement is not None else str(error.orig)
    if error.filename is not None:
        return None  # a file, not the network
    if isinstance(error, ConnectionRefusedError):
        return "connection refused (is PostgreSQL listening there?)"
    return error.strerror or str(error) or type(error).__name__


def run_uvicorn(listener: socket.socket, host: str, workers: int, log_level: str) -> None:
    """Uvicorn on our socket, the way uvicorn.run runs it on a socket of its own."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    port = listener.getsockname()[1]
    config = uvicorn.Config(
        "graphql_api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
        timeout_graceful_shutdown=30,
        log_level=log_level.lower(),
        log_config=None,  # keep the JSON logging set up by load_settings()
        # The app alone decides whom to believe about the client's address
        # (COUPONS_TRUSTED_PROXIES); uvicorn would trust loopback by default.
        proxy_headers=False,
        access_log=False,  # the app logs each request itself, with its request id
    )
    shown_host = f"[{host}]" if ":" in host else host
    log.info("serving on http://%s:%d/graphql with %d worker(s)", shown_host, port, workers)
    if workers > 1:
        Multiprocess(config, sockets=[listener]).run()
        return
    server = uvicorn.Server(config)
    server.run(sockets=[listener])
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)
