"""The last line: an exception nothing else handled becomes a logged JSON 500 (or 503)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphql_api.failures import public_failure
from graphql_api.json_response import send_error


class UnhandledErrorMiddleware:
    """Starlette's own last line answers plain text without the request id; this one
    answers in the GraphQL error shape, and the log line carries the same id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            where = f"{scope['method']} {scope['path']}"
            code, message = public_failure(error, where)
            if not response_started:
                status = 503 if code == "SERVICE_UNAVAILABLE" else 500
                await send_error(send, status, message, code=code)
