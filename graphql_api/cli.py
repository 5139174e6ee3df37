"""The `coupons` command: serve, migrate, export-schema."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from pydantic import ValidationError

from db.embedded import EmbeddedPostgres
from db.migrate import upgrade_to_head
from graphql_api.logs import configure_logging
from graphql_api.settings import UnsafeSettingsError, get_settings

log = logging.getLogger("coupons")


@contextmanager
def database_url() -> Iterator[str]:
    """DATABASE_URL, or an embedded server started for as long as the command runs."""
    settings = get_settings()
    if settings.database_url is not None:
        yield settings.require_database_url()
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    url = embedded.start()
    # Worker processes read their settings afresh: hand them the embedded server.
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    try:
        yield url
    finally:
        embedded.stop()


def _exit_cleanly(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    # Uvicorn drains requests on SIGTERM/SIGINT and then raises the signal again; with this
    # handler in place that unwinds through `finally`, so an embedded database stops cleanly.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    get_settings().check_safe_to_start()
    _prepare_multiprocess_metrics()
    with database_url() as url:
        upgrade_to_head(url)
        log.info("serving on http://%s:%d/graphql with %d worker(s)", host, port, workers)
        uvicorn.run(
            "graphql_api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            loop="uvloop" if sys.platform != "win32" else "asyncio",
            http="httptools",
            timeout_graceful_shutdown=30,
            log_level=get_settings().log_level.lower(),
            log_config=None,  # keep the JSON logging set up in main()
            # The app alone decides whom to believe about the client's address
            # (COUPONS_TRUSTED_PROXIES); uvicorn would trust loopback by default.
            proxy_headers=False,
            access_log=False,  # the app logs each request itself, with its request id
        )


def _prepare_multiprocess_metrics() -> None:
    """Workers write their metrics to one fresh directory, which /metrics adds up."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="coupons-metrics-")


def migrate() -> None:
    with database_url() as url:
        upgrade_to_head(url)
    log.info("database is at the newest schema")


def export_schema() -> None:
    from graphql_api.schema import schema

    sys.stdout.write(schema.as_str() + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="coupons", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="migrate, then serve the GraphQL API")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8000)
    serve_parser.add_argument("--workers", type=int, default=1)
    commands.add_parser("migrate", help="bring the database to the newest schema")
    commands.add_parser("export-schema", help="print the GraphQL SDL")
    args = parser.parse_args(argv)

    try:
        settings = get_settings()
    except ValidationError as error:
        # Not the exception itself: pydantic repeats the rejected value, which may be a key.
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        sys.stderr.write(f"coupons: invalid settings: {problems}\n")
        raise SystemExit(2) from None
    configure_logging(settings.log_level)
    if args.command == "serve":
        try:
            serve(args.host, args.port, args.workers)
        except UnsafeSettingsError as error:
            log.error("refusing to start: %s", error)
            raise SystemExit(2) from None
    elif args.command == "migrate":
        migrate()
    else:
        export_schema()
