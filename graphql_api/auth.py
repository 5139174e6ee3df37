"""Who is calling: API keys in `Authorization: Bearer <key>`, each with a role."""

from __future__ import annotations

import hmac
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from graphql_api.json_response import send_error
from graphql_api.settings import Role


@dataclass(frozen=True, slots=True)
class Caller:
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


ADMIN = Caller("admin")

# The caller of the request being answered, for its log lines (graphql_api.logs); set by
# ApiKeyMiddleware, None for paths that take no key and for the GraphiQL page.
current_caller: ContextVar[Caller | None] = ContextVar("current_caller", default=None)

UNAUTHENTICATED_MESSAGE = "A valid API key is required: send Authorization: Bearer <key>"
CHALLENGE = 'Bearer realm="coupons"'


def authenticate(keys: list[tuple[Role, str]], authorization: str | None) -> Caller | None:
    """The caller whose key is presented, comparing against every key in constant time."""
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return None
    candidate = presented.strip().encode()
    found: Role | None = None
    for role, key in keys:
        # No early exit: the time taken does not tell which key, or how much of it, matched.
        if hmac.compare_digest(candidate, key.encode()) and found is None:
            found = role
    return None if found is None else Caller(found)


def _wants_graphiql(scope: Scope) -> bool:
    """A browser asking for the GraphiQL page itself, which carries no data."""
    if scope["path"] != "/graphql":
        return False  # another keyed path (an export) has no page to show without a key
    if scope["method"] != "GET" or "query" in parse_qs(scope["query_string"].decode("latin-1")):
        return False
    accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1")
    return "text/html" in accept


class ApiKeyMiddleware:
    """Puts the caller in scope["state"] and in `current_caller`; answers 401 before any
    GraphQL work when unknown."""

    def __init__(self, app: ASGIApp, keys: list[tuple[Role, str]], paths: tuple[str, ...]):
        self.app = app
        self.keys = keys
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if not self.keys:
            state["caller"] = ADMIN
        else:
            header = dict(scope["headers"]).get(b"authorization")
            caller = authenticate(self.keys, None if header is None else header.decode("latin-1"))
            if caller is None and not _wants_graphiql(scope):
                await send_error(
                    send,
                    401,
                    UNAUTHENTICATED_MESSAGE,
                    (b"www-authenticate", CHALLENGE.encode()),
                )
                return
            state["caller"] = caller
        current_caller.set(state["caller"])
        await self.app(scope, receive, send)
