"""One log line and the request metrics for every HTTP request.

The line's request id and the caller's role come from the logging filter
(graphql_api.logs.RequestContextFilter), as on every other line of the request."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphql_api.metrics import LATENCY, REQUESTS

log = logging.getLogger("graphql_api.access")


def record_graphql(
    scope: Scope,
    *,
    operation_name: object = None,
    root_fields: str | None = None,
    outcome: str | None = None,
) -> dict[str, Any]:
    """What the log line and the metrics say of a GraphQL request, told by whichever step
    answers it: the operation name as the client gave it (a string, cut to 100 characters),
    the root fields (a bounded label: never a name the client made up) and the outcome.
    What is not given keeps what an earlier step told; the record is returned."""
    record: dict[str, Any] = scope.setdefault("state", {}).setdefault("graphql", {})
    if isinstance(operation_name, str):
        record["operation_name"] = operation_name[:100] or None
    if root_fields is not None:
        record["root_fields"] = root_fields
    if outcome is not None:
        record["outcome"] = outcome
    return record


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            elapsed = time.perf_counter() - started
            graphql = scope.get("state", {}).get("graphql", {})
            outcome = graphql.get("outcome") or _http_outcome(status)
            if scope["path"] == "/graphql":
                operation = graphql.get("root_fields", "none")
                REQUESTS.labels(operation, outcome).inc()
                LATENCY.labels(operation).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "operation": graphql.get("operation_name"),
                    "root_fields": graphql.get("root_fields"),
                    "outcome": outcome,
                },
            )


def _http_outcome(status: int) -> str:
    return {401: "unauthenticated", 403: "forbidden", 413: "too_large"}.get(
        status, "ok" if status < 400 else "bad_request" if status < 500 else "internal_error"
    )
