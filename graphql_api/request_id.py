"""Every request gets an id, the caller's X-Request-ID when it sends a sane one; it is echoed.

`asgi-correlation-id` keeps the id in a context variable for the whole request, so error
answers and log lines (graphql_api.logs) read it there instead of having it passed along.
"""

from __future__ import annotations

import re

from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from starlette.middleware import Middleware

HEADER = "X-Request-ID"
# What a log line and a client may quote back: an id of any other shape (too long, control
# characters, JSON-breaking quotes) is replaced by a fresh one, never echoed.
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def is_sane(sent: str) -> bool:
    return _SANE.fullmatch(sent) is not None


def current_request_id() -> str | None:
    """The id of the request being answered (None outside a request)."""
    return correlation_id.get()


def request_id_middleware() -> Middleware:
    """The outermost middleware: the id is set before anything else runs or logs."""
    # Fresh ids are uuid4().hex, the library's default generator.
    return Middleware(CorrelationIdMiddleware, header_name=HEADER, validator=is_sane)
