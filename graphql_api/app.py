"""create_app(): the Starlette application; its lifespan owns the engine.

Background work (the expiry sweep and other chores) is not here: see graphql_api.background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from db.engine import Database, create_engine
from db.hot import HotPool
from graphql_api.access_log import AccessLogMiddleware
from graphql_api.auth import ApiKeyMiddleware
from graphql_api.body_limit import BodyLimitMiddleware
from graphql_api.deadline import within_deadline
from graphql_api.exports import PATHS as EXPORT_PATHS
from graphql_api.exports import export_routes
from graphql_api.graphiql import graphiql_routes
from graphql_api.http_view import GraphQLView
from graphql_api.json_response import (
    UNAVAILABLE_MESSAGE,
    error_entry,
    error_response,
)
from graphql_api.logs import configure_logging
from graphql_api.media_types import GraphQLResponseMediaType
from graphql_api.metrics import POOL_IN_USE, POOL_SIZE, render
from graphql_api.persisted_operations import PersistedOperations
from graphql_api.request_id import current_request_id, request_id_middleware
from graphql_api.schema import build_schema
from graphql_api.schema.compiled import CompiledOperations
from graphql_api.services.guessing import GuessPolicy
from graphql_api.settings import Settings, get_settings
from graphql_api.unhandled import UnhandledErrorMiddleware

if TYPE_CHECKING:
    from graphql_api.tracing import Tracing

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 2.0
NOT_FOUND_MESSAGE = "Not found: the GraphQL API is at /graphql"
POOL_GAUGE_SECONDS = 5.0


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    settings.check_safe_to_start()
    if not settings.keys:
        log.warning("COUPONS_API_KEYS is not set: every caller is admin (development only)")
    tracing: Tracing | None = None
    if settings.tracing:
        # Imported only when on: off, nothing of OpenTelemetry is loaded. Here, in each
        # worker process, never in the process that starts them (see graphql_api.tracing).
        from graphql_api.tracing import start_tracing

        tracing = start_tracing()
    engine = create_engine(
        settings.require_database_url(),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout,
        connect_timeout=settings.connect_timeout,
        statement_timeout=settings.statement_timeout,
    )
    db = Database(engine)
    hot = HotPool(
        settings.require_database_url(),
        size=settings.hot_pool_size,
        acquire_timeout=settings.pool_timeout,
        connect_timeout=settings.connect_timeout,
        statement_timeout=settings.statement_timeout,
    )
    # The one guessing policy of this app: GraphQL execution and the compiled paths read it.
    policy = GuessPolicy.of(settings)

    async def ping() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def health(request: Request) -> JSONResponse:
        try:
            await within_deadline(ping(), HEALTH_TIMEOUT_SECONDS)
        except Exception as error:  # any failure to answer means unhealthy
            log.warning("health check failed: %s", type(error).__name__)
            unavailable = error_entry(
                UNAVAILABLE_MESSAGE, "SERVICE_UNAVAILABLE", current_request_id()
            )
            return JSONResponse(
                {"status": "unhealthy", "database": "unreachable", "errors": [unavailable]}, 503
            )
        return JSONResponse({"status": "healthy", "database": "ok"})

    async def home(request: Request) -> Response:
        """Where to go: GraphiQL for a browser, the endpoints for anyone else."""
        if "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/graphql", status_code=307)
        return JSONResponse(
            {
                "graphql": "/graphql",
                "exports": ["/exports/codes.csv", "/exports/usages.csv"],
                "health": "/health",
                "metrics": "/metrics",
            }
        )

    async def metrics(_: Request) -> Response:
        _observe_pool(engine, hot)
        body, content_type = render()
        return Response(body, media_type=content_type)

    async def pool_gauge() -> None:
        """This process's pool figures, kept fresh between scrapes of /metrics."""
        while True:
            await asyncio.sleep(POOL_GAUGE_SECONDS)
            _observe_pool(engine, hot)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        gauge = asyncio.create_task(pool_gauge())
        try:
            yield
        finally:
            gauge.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gauge
            await hot.close()
            await engine.dispose()
            if tracing is not None:
                tracing.stop()  # exports the spans of the last requests

    graphql = GraphQLView(
        build_schema(production=settings.production, tracing=settings.tracing),
        settings=settings,
        db=db,
        hot=hot,
        guess_policy=policy,
        graphql_ide=None if settings.production else "graphiql",
        allow_queries_via_get=True,
    )
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *export_routes(db, settings.request_timeout),
            # GraphiQL's files, for the page GET /graphql shows a browser (none in production).
            *([] if settings.production else graphiql_routes()),
            # In production the root points nowhere: it is a plain 404 there.
            *([] if settings.production else [Route("/", home, methods=["GET"])]),
        ],
        middleware=[
            request_id_middleware(),
            *([tracing.request_middleware()] if tracing is not None else []),
            # Whatever answers /graphql, in the media type the client asked for.
            Middleware(GraphQLResponseMediaType),
            Middleware(AccessLogMiddleware),  # logs the status the last line answered
            Middleware(UnhandledErrorMiddleware),
            Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
            Middleware(
                ApiKeyMiddleware, keys=settings.keys, paths=("/graphql", *EXPORT_PATHS.values())
            ),
            # Ids become documents before either path answers; the allow-list refuses here.
            Middleware(PersistedOperations, settings=settings),
            *(
                [
                    Middleware(
                        CompiledOperations,
                        settings=settings,
                        hot=hot,
                        policy=policy,
                        operation_span=None if tracing is None else tracing.compiled_operation,
                    )
                ]
                if settings.compiled_operations
                else []
            ),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.db = db
    app.state.hot = hot
    return app


async def _http_error(request: Request, error: Exception) -> Response:
    """Starlette's own refusals (no such route, a method the route does not take)."""
    if not isinstance(error, HTTPException):  # registered for HTTPException only
        raise error
    message = NOT_FOUND_MESSAGE if error.status_code == 404 else error.detail
    headers = error.headers
    if error.status_code == 405 and request.url.path == "/graphql":
        # Starlette lists HEAD beside GET; the GraphQL view takes GET and POST only.
        headers = {"allow": "GET, POST"}
    return error_response(error.status_code, message, headers)


def _observe_pool(engine: AsyncEngine, hot: HotPool) -> None:
    pool = engine.pool
    POOL_IN_USE.set(pool.checkedout() + hot.in_use())  # type: ignore[attr-defined]
    POOL_SIZE.set(pool.checkedin() + pool.checkedout() + hot.size())  # type: ignore[attr-defined]
