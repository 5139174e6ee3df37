"""The one reading of a GraphQL request's body, for every layer that looks at it.

Three layers read a POST to /graphql: persisted operations (an id may become a document),
the compiled paths (a planned document is answered without GraphQL execution) and the
strawberry view (everything else). They must agree on what a body says: a body one of
them reads differently from another is a body that can slip past a check (an allow-list,
say). So all of them read the body here, and decode it with `decode_request`.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.types import Message, Receive, Scope

JSON_TYPE = b"application/json"


class UnreadableBodyError(json.JSONDecodeError):
    """A body that is not JSON as the service reads it (the view answers 400)."""


def _refuse_constant(name: str) -> Any:
    raise UnreadableBodyError(f"{name} is not a JSON number", name, 0)


def decode_request(data: str | bytes) -> object:
    """The JSON value of a request body or parameter: numbers with a fraction as Decimal
    (money never passes through a binary float), NaN and Infinity refused.

    Raises UnreadableBodyError for anything that does not decode: malformed JSON,
    undecodable bytes, nesting past the recursion limit, integers past Python's digit
    limit, exponents past Decimal's.
    """
    try:
        return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)
    except UnreadableBodyError:
        raise
    except json.JSONDecodeError as error:
        raise UnreadableBodyError(error.msg, error.doc, error.pos) from None
    except (ValueError, RecursionError, ArithmeticError) as error:
        raise UnreadableBodyError(f"unreadable JSON: {type(error).__name__}", "", 0) from None


def decoded_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one (the view refuses it)."""
    try:
        request = decode_request(body)
    except UnreadableBodyError:
        return None
    return request if isinstance(request, dict) else None


def is_json(scope: Scope) -> bool:
    """Whether the request says its body is application/json (any case, any parameters):
    the first Content-Type line, as Starlette's Headers.get reads it for the view."""
    content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    return content_type.split(b";")[0].strip().lower() == JSON_TYPE


async def read_body(
    receive: Receive, limit: int | None = None
) -> tuple[bytes | None, list[Message]]:
    """The whole body, and the messages read so that the next layer can be handed the same
    stream (`replay`). None for the body when it is over `limit` bytes (reading stops
    there) or the client went away."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
        if limit is not None and size > limit:
            return None, messages
        if not message.get("more_body", False):
            return b"".join(chunks), messages


def replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that gives `messages` again, then whatever the client sends next."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
