"""Answers written outside GraphQL execution: every one is JSON in the GraphQL error shape.

`{"errors": [{"message": …, "extensions": {"code": …, "requestId": …}}]}`, whatever the
status (contract, "HTTP and GraphQL-over-HTTP"): a client parses one shape everywhere and
can quote the request id, which is also in the log line and the `X-Request-ID` header.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response
from starlette.types import Send

from graphql_api.request_id import current_request_id

# extensions.code for an HTTP status, when the answer has no more telling code of its own.
STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
JSON = b"application/json"
INTERNAL_MESSAGE = "Internal server error"
UNAVAILABLE_MESSAGE = "Service temporarily unavailable: the database is not answering"


def error_entry(message: str, code: str, request_id: str | None) -> dict[str, object]:
    """One GraphQL error, as the `errors` list carries it."""
    extensions: dict[str, object] = {"code": code}
    if request_id:
        extensions["requestId"] = request_id
    return {"message": message, "extensions": extensions}


def error_body(status: int, message: str, code: str | None = None) -> bytes:
    """The body of an error answer to the request being served; `code` defaults to the one
    for `status`."""
    entry = error_entry(message, code or STATUS_CODES[status], current_request_id())
    return orjson.dumps({"errors": [entry]})


async def send_json(send: Send, status: int, body: bytes, *headers: tuple[bytes, bytes]) -> None:
    """A complete JSON response from ASGI middleware, before any app has run."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", JSON),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(
    send: Send,
    status: int,
    message: str,
    *headers: tuple[bytes, bytes],
    code: str | None = None,
) -> None:
    await send_json(send, status, error_body(status, message, code), *headers)


def error_response(
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
) -> Response:
    """The same answer as a Starlette response, for exception handlers and views."""
    return Response(
        error_body(status, message, code),
        status_code=status,
        headers=headers,
        media_type=JSON.decode(),
    )
