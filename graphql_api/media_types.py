"""Which media type a GraphQL answer is written in, and the status a request error takes
in it (GraphQL-over-HTTP, "Accept" and "Status Codes"; contract, "HTTP and GraphQL-over-HTTP").

`application/json` stays the default: with no Accept header, with `*/*`, or when the client
rates it higher. `application/graphql-response+json` is chosen when the client's Accept names
it and rates it at least as high as `application/json`. In that type a request error (a
document that does not parse or validate, variables that do not coerce, introspection
refused) has no `data` entry and a 4xx status; an answer whose execution began keeps its
`data` (even null) and 200, as in `application/json`.
"""

from __future__ import annotations

from functools import lru_cache

from graphql import GraphQLError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
GRAPHQL_RESPONSE_CONTENT_TYPE = b"application/graphql-response+json; charset=utf-8"

# A request error's status in application/graphql-response+json, by the error's code; a
# code not here (parse, validation and variable failures) is 400.
REQUEST_ERROR_STATUS = {
    "FORBIDDEN": 403,
    "INTERNAL_SERVER_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
}


@lru_cache(maxsize=256)
def preferred_media_type(accept: str | None) -> str:
    """`GRAPHQL_RESPONSE` or `JSON` for an Accept header's value (RFC 9110 §12.5.1: the
    highest `q` wins; a tie goes to the type the client named, graphql-response; wildcards
    count for `application/json` only)."""
    if not accept:
        return JSON
    graphql_q = json_q = 0.0
    json_specificity = -1
    for part in accept.split(","):
        media_range, *parameters = (piece.strip() for piece in part.split(";"))
        quality = _quality(parameters)
        media_range = media_range.lower()
        if media_range == GRAPHQL_RESPONSE:
            graphql_q = max(graphql_q, quality)
            continue
        # The most specific range that matches application/json gives its quality.
        specificity = {JSON: 2, "application/*": 1, "*/*": 0}.get(media_range, -1)
        if specificity > json_specificity:
            json_specificity, json_q = specificity, quality
    return GRAPHQL_RESPONSE if graphql_q > 0 and graphql_q >= json_q else JSON


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                return 0.0  # a weight that does not read is no preference at all
    return 1.0


def request_error_status(data: object, errors: list[GraphQLError] | None) -> int | None:
    """The 4xx/5xx status of a result that is a request error, or None when execution began
    (a field error always has a `path`; a request error never has one)."""
    if data is not None or not errors or any(error.path is not None for error in errors):
        return None
    codes = {(error.extensions or {}).get("code") for error in errors}
    return max((REQUEST_ERROR_STATUS.get(str(code), 400) for code in codes), default=400)


# Where GraphQLResponseMediaType leaves its choice for the view (the one choice per request).
SCOPE_KEY = "coupons.media_type"


def chosen_media_type(scope: Scope) -> str:
    """The media type GraphQLResponseMediaType chose for this request (JSON outside it)."""
    return str(scope.get(SCOPE_KEY, JSON))


class GraphQLResponseMediaType:
    """Chooses, once per request to `path`, the media type its answer is written in, from
    every Accept line (RFC 9110: several lines are one comma-separated list), and writes
    every JSON answer of `path` in it: GraphQL results, whichever path answered them, and
    the refusals of the middlewares before them (401, 413, ...), which are in the same
    error shape. Every answer says `Vary: Accept`, since its type and status depend on it."""

    def __init__(self, app: ASGIApp, path: str = "/graphql") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        accept = b",".join(value for name, value in scope["headers"] if name == b"accept")
        chosen = preferred_media_type(accept.decode("latin-1") or None)
        scope[SCOPE_KEY] = chosen

        async def send_typed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, GRAPHQL_RESPONSE_CONTENT_TYPE)
                    if chosen == GRAPHQL_RESPONSE
                    and name == b"content-type"
                    and value.startswith(JSON.encode())
                    else (name, value)
                    for name, value in message["headers"]
                ]
                headers.append((b"vary", b"Accept"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_typed)
