"""Persisted operations: documents sent by id instead of by text, and the allow-list.

Three ways to name a document, as clients send them:

- Apollo's automatic persisted queries (APQ): `extensions.persistedQuery =
  {"version": 1, "sha256Hash": …}` without `query`, over POST or GET. An unknown hash is
  answered `PERSISTED_QUERY_NOT_FOUND` (HTTP 200, as Apollo Server answers it, which every
  APQ client reads), and the client sends the hash with the document; the service checks
  that the hash is the document's SHA-256, remembers it (`ApqRegistry`) and runs it.
- An id from the manifest a frontend build produced (COUPONS_PERSISTED_OPERATIONS, see
  persisted_manifest.py), in the same extension (Apollo Client with a manifest) or as
  GraphQL-over-HTTP's `documentId` (codegen's persisted documents, urql).
- The document's text, as always.

In allow-list mode (COUPONS_PERSISTED_OPERATIONS_ONLY) only the manifest's documents run,
named by id or sent as their text; anything else is refused here, before anything runs.
The one exception, one rule: a request carrying an admin key of COUPONS_API_KEYS may send
any document, as an operator with curl does (production mode already shows such callers
the schema). Nothing is added to the APQ registry in that mode.

This middleware sits behind the API-key check and in front of the compiled paths: an id
becomes the request's `query` here, so a persisted redemption takes the compiled path,
and limits, `operationName` rules and permission classes apply as to any document. Other
requests are handed on untouched, after one look for the two key words.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphql_api.access_log import record_graphql
from graphql_api.auth import Caller
from graphql_api.documents import document_shape
from graphql_api.json_response import send_error
from graphql_api.persisted_manifest import SHA256_PREFIX, PersistedDocuments, sha256_hex
from graphql_api.request_body import (
    UnreadableBodyError,
    decode_request,
    decoded_object,
    read_body,
    replay,
)
from graphql_api.settings import Settings

APQ_VERSION = 1
# Apollo Server keeps its APQ documents in a bounded LRU too: a client whose hash this
# worker has forgotten (or never saw: another worker, a restart) just sends the document.
MAX_REGISTERED_DOCUMENTS = 1000
MAX_REGISTERED_CHARACTERS = 8 * 1024 * 1024
# A miss must never be cached by a CDN: the next request may well find the document.
NO_CACHE = (b"cache-control", b"private, no-cache, must-revalidate")
_KEY_WORDS = (b"persistedQuery", b"documentId")


class ApqRegistry:
    """The documents clients registered by hash on this worker: the most recently used
    MAX_REGISTERED_DOCUMENTS, at most MAX_REGISTERED_CHARACTERS of text in all."""

    def __init__(
        self,
        max_documents: int = MAX_REGISTERED_DOCUMENTS,
        max_characters: int = MAX_REGISTERED_CHARACTERS,
    ) -> None:
        self.max_documents = max_documents
        self.max_characters = max_characters
        self.characters = 0
        self._documents: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._documents)

    def get(self, sha256: str) -> str | None:
        document = self._documents.get(sha256)
        if document is not None:
            self._documents.move_to_end(sha256)
        return document

    def register(self, sha256: str, document: str) -> None:
        """Remembers `document` under its hash (the caller has checked that it is its
        hash); a document larger than the whole budget is not kept."""
        if len(document) > self.max_characters or sha256 in self._documents:
            return
        self._documents[sha256] = document
        self.characters += len(document)
        while len(self._documents) > self.max_documents or self.characters > self.max_characters:
            _, dropped = self._documents.popitem(last=False)
            self.characters -= len(dropped)


@dataclass(frozen=True, slots=True)
class Refusal:
    """An answer instead of running anything: the HTTP status, `extensions.code`, the
    message, and the outcome the metrics count."""

    status: int
    code: str
    message: str
    outcome: str


# Apollo's messages and codes for the two answers that tell a client to send the document:
# clients match either one, older ones the message only.
NOT_FOUND = Refusal(
    200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", "persisted_query_not_found"
)
NOT_SUPPORTED = Refusal(
    200, "PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported", "persisted_query_not_found"
)
# Apollo Router's codes and statuses for its safelist.
NOT_IN_LIST = Refusal(
    404,
    "PERSISTED_QUERY_NOT_IN_LIST",
    "No persisted operation has this id: in allow-list mode only the operations of the "
    "service's manifest run",
    "not_in_allow_list",
)
NOT_IN_SAFELIST = Refusal(
    403,
    "QUERY_NOT_IN_SAFELIST",
    "This document is not in the service's list of persisted operations: in allow-list mode "
    "only those run, sent by id or as their text",
    "not_in_allow_list",
)
HASH_MISMATCH = Refusal(
    400,
    "PERSISTED_QUERY_HASH_MISMATCH",
    "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query",
    "bad_request",
)
TWO_DOCUMENTS = Refusal(
    400,
    "BAD_REQUEST",
    "Name the document one way: documentId, or extensions.persistedQuery, or query",
    "bad_request",
)


def _bad_request(message: str) -> Refusal:
    return Refusal(400, "BAD_REQUEST", message, "bad_request")


UNREADABLE = _bad_request("The request body must be a JSON object, as the service reads JSON")


class PersistedOperations:
    """ASGI middleware in front of /graphql: turns a document id into the request's
    `query`, refuses what the allow-list does not hold, hands the rest on unchanged."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.documents: PersistedDocuments | None = settings.persisted_documents
        self.only = settings.persisted_operations_only
        self.automatic = settings.automatic_persisted_queries and not self.only
        self.keys_configured = bool(settings.keys)
        self.registry = ApqRegistry()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = scope.get("state", {}).get("caller")
        if (
            scope["type"] != "http"
            or scope["path"] != "/graphql"
            or scope["method"] not in ("GET", "POST")
            # No caller: the GraphiQL page, let through without a key. It runs nothing, and
            # an id must not turn it into a request that does.
            or caller is None
        ):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "GET":
            await self._get(scope, receive, send, caller)
        else:
            await self._post(scope, receive, send, caller)

    async def _get(self, scope: Scope, receive: Receive, send: Send, caller: Caller) -> None:
        query_string: bytes = scope["query_string"]
        if not self.only and not any(word in query_string for word in _KEY_WORDS):
            await self.app(scope, receive, send)
            return
        # Read as the GraphQL view reads them (Starlette's QueryParams: the last one wins).
        params = QueryParams(query_string)
        try:
            extensions = decode_request(params["extensions"]) if params.get("extensions") else None
        except UnreadableBodyError:
            extensions = None  # the view refuses it, or finds no persisted query in it
        request = {
            "query": params.get("query"),
            "documentId": params.get("documentId"),
            "operationName": params.get("operationName"),
            "extensions": extensions,
        }
        resolved = self.resolve(request, caller)
        if isinstance(resolved, Refusal):
            await self._refuse(scope, send, resolved, request)
            return
        if resolved is not None:
            items = [(k, v) for k, v in params.multi_items() if k not in ("documentId", "query")]
            scope = {**scope, "query_string": urlencode([*items, ("query", resolved)]).encode()}
        await self.app(scope, receive, send)

    async def _post(self, scope: Scope, receive: Receive, send: Send, caller: Caller) -> None:
        body, messages = await read_body(receive)
        replayed = replay(messages, receive)
        if body is None or (not self.only and not any(word in body for word in _KEY_WORDS)):
            await self.app(scope, replayed, send)  # the client went away, or nothing of ours
            return
        request = decoded_object(body)
        if request is None and self.only and not self._may_send_any_document(caller):
            # Every layer reads a body alike (request_body.py), so the view would refuse
            # it too; the allow-list does not count on that, and refuses it here.
            await self._refuse(scope, send, UNREADABLE, {})
            return
        if request is None:  # not a JSON object: the view refuses it, running nothing
            await self.app(scope, replayed, send)
            return
        resolved = self.resolve(request, caller)
        if isinstance(resolved, Refusal):
            await self._refuse(scope, send, resolved, request)
            return
        if resolved is None:
            await self.app(scope, replayed, send)
            return
        request = {k: v for k, v in request.items() if k != "documentId"}
        request["query"] = resolved
        try:
            # orjson when every number is an int (most requests): 20 times faster than ours.
            rewritten = orjson.dumps(request)
        except orjson.JSONEncodeError:  # a Decimal, a big int, a lone surrogate, deep nesting
            try:
                rewritten = _json(request).encode()
            except RecursionError:
                refusal = _bad_request("The request is nested too deeply")
                await self._refuse(scope, send, refusal, request)
                return
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(rewritten)).encode()))
        await self.app({**scope, "headers": headers}, _body(rewritten, receive), send)

    def resolve(self, request: dict[str, Any], caller: Caller) -> str | Refusal | None:
        """The document to run in place of the request's id, a refusal, or None to hand
        the request on as it is."""
        query, document_id = request.get("query"), request.get("documentId")
        extensions = request.get("extensions")
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if document_id is not None:
            if query is not None or persisted is not None:
                return TWO_DOCUMENTS
            if not isinstance(document_id, str):
                return _bad_request("documentId must be a string")
            return self._find(document_id, extension=False)
        if persisted is not None:
            problem = _extension_problem(persisted)
            if problem is not None:
                return problem
            sha256_hash: str = persisted["sha256Hash"]
            if query is None:
                return self._find(sha256_hash, extension=True)
            if not isinstance(query, str):
                return None  # the view refuses it
            if sha256_hex(query) != sha256_hash.lower():
                return HASH_MISMATCH
            # Registered once it parses within the limits: what it asks for is checked when
            # it runs, now and every time it is named by its hash, as for any text.
            if self.automatic and document_shape(query) is not None:
                self.registry.register(sha256_hash.lower(), query)
        if query is None or not self.only or self._may_send_any_document(caller):
            return None
        if isinstance(query, str) and self.documents is not None and self.documents.holds(query):
            return None
        return NOT_IN_SAFELIST

    def _find(self, document_id: str, *, extension: bool) -> str | Refusal:
        found = None if self.documents is None else self.documents.find(document_id)
        if found is None and self.automatic:
            found = self.registry.get(document_id.removeprefix(SHA256_PREFIX).lower())
        if found is not None:
            return found
        if self.only:
            return NOT_IN_LIST
        # With APQ off, Apollo Client stops hashing and sends the text from then on.
        return NOT_FOUND if self.automatic or not extension else NOT_SUPPORTED

    def _may_send_any_document(self, caller: Caller) -> bool:
        # An admin key, not the admin that every caller is when no keys are set.
        return caller.is_admin and self.keys_configured

    async def _refuse(
        self, scope: Scope, send: Send, refusal: Refusal, request: dict[str, Any]
    ) -> None:
        record_graphql(
            scope,
            operation_name=request.get("operationName"),
            root_fields="none",
            outcome=refusal.outcome,
        )
        # In application/json; media_types.GraphQLResponseMediaType, in front, retypes it
        # for a client that asks for application/graphql-response+json.
        await send_error(send, refusal.status, refusal.message, NO_CACHE, code=refusal.code)


def _extension_problem(persisted: object) -> Refusal | None:
    if not isinstance(persisted, dict):
        return _bad_request("extensions.persistedQuery must be an object")
    if persisted.get("version") != APQ_VERSION or isinstance(persisted.get("version"), bool):
        return _bad_request(
            f"Unsupported persisted query version: only version {APQ_VERSION} is supported"
        )
    sha256_hash = persisted.get("sha256Hash")
    if not isinstance(sha256_hash, str) or not sha256_hash:
        return _bad_request("extensions.persistedQuery.sha256Hash must be a non-empty string")
    return None


def _json(value: object) -> str:
    """JSON text of a decoded request, every number written as the client wrote it (a
    Decimal prints its digits; a binary float never enters)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ",".join(_json(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_json(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"not a decoded JSON value: {type(value).__name__}")


def _body(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the rewritten body, then whatever the client does next (a
    disconnect)."""
    sent = False

    async def rewritten() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return rewritten
