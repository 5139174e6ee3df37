"""create_app(): the Starlette application; its lifespan owns the engine."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from db.engine import create_engine, create_sessionmaker
from graphql_api.http_view import GraphQLView
from graphql_api.request_id import RequestIdMiddleware
from graphql_api.schema import schema
from graphql_api.services.coupon_queries import mark_expired_coupons
from graphql_api.settings import Settings, get_settings

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 2.0


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    engine = create_engine(
        settings.require_database_url(),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout,
    )
    sessionmaker = create_sessionmaker(engine)

    async def health(_: Request) -> JSONResponse:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:  # any failure to answer means unhealthy
            log.warning("health check failed: %s", type(error).__name__)
            return JSONResponse({"status": "unhealthy", "database": "unreachable"}, 503)
        return JSONResponse({"status": "healthy", "database": "ok"})

    async def sweep_expired() -> None:
        while True:
            await asyncio.sleep(settings.expiry_sweep_seconds)
            try:
                await mark_expired_coupons(sessionmaker)
            except Exception:  # the next sweep tries again; status is effective at read anyway
                log.exception("expiry sweep failed")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(sweep_expired())
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await engine.dispose()

    graphql = GraphQLView(
        schema,
        sessionmaker=sessionmaker,
        graphql_ide="graphiql",
        allow_queries_via_get=True,
    )
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    return app
