"""One webhook request: signed as Standard Webhooks says, sent only to allowed addresses.

aiohttp makes the requests because its connector takes a resolver: every connection goes to
an address this module checked (a host that resolves to a private address at delivery
time, DNS rebinding included, is refused there, not only when the endpoint was made).
Redirects are not followed (a 3xx is a failed attempt), so a receiver cannot send a
delivery elsewhere. The signing is the `standardwebhooks` library's.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from uuid import UUID

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from standardwebhooks.webhooks import Webhook
from yarl import URL

from graphql_api.domain.addresses import parse_ip_address
from graphql_api.domain.webhooks import WebhookPolicy, literal_address, refused_address

# What is kept of a receiver's answer: enough to see what it said, never the whole body.
EXCERPT_BYTES = 1024
EXCERPT_CHARACTERS = 200
ERROR_CHARACTERS = 300  # webhook_attempts.error
USER_AGENT = "coupons-webhooks/1"


class RefusedAddressError(OSError):
    """A delivery's host is, or resolves to, an address deliveries may not reach."""


class PublicOnlyResolver(AbstractResolver):
    """Resolves as the system does, and refuses a host any of whose addresses is refused
    (all of them: a connection may go to any)."""

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            reason = refused_address(parse_ip_address(result["host"]))
            if reason is not None:
                raise RefusedAddressError(f"{host} resolves to {reason}")
        return results

    async def close(self) -> None:
        await self._inner.close()


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one try came to: `status` (None when no answer came) and a short excerpt of the
    body, or `error` saying why there was no answer; `ok` for a 2xx."""

    at: datetime
    duration_ms: int
    status: int | None
    excerpt: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def webhook_body(event_type: str, occurred_at: datetime, data_json: str) -> str:
    """The Standard Webhooks payload: `{"type", "timestamp", "data"}`; `data_json` as stored."""
    return (
        f'{{"type":{json.dumps(event_type)},'
        f'"timestamp":{json.dumps(occurred_at.astimezone(UTC).isoformat())},'
        f'"data":{data_json}}}'
    )


class WebhookSender:
    """Sends signed deliveries; use as `async with`. Each endpoint has its own pool of
    connections, as many as a batch has streams: one receiver that never answers cannot
    take the connections another one's deliveries need, and an attempt never waits for
    a connection inside its own timeout."""

    def __init__(self, policy: WebhookPolicy, connections_per_endpoint: int = 100) -> None:
        self.policy = policy
        self.connections = connections_per_endpoint
        self._sessions: dict[UUID, aiohttp.ClientSession] = {}
        self._open = False

    async def __aenter__(self) -> WebhookSender:
        self._open = True
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._open = False
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()

    def _session(self, endpoint_id: UUID) -> aiohttp.ClientSession:
        if not self._open:
            raise RuntimeError("use WebhookSender as `async with`")
        session = self._sessions.get(endpoint_id)
        if session is None:
            resolver = ThreadedResolver() if self.policy.allow_private else PublicOnlyResolver()
            connector = aiohttp.TCPConnector(
                resolver=resolver, limit=self.connections, limit_per_host=self.connections
            )
            session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.policy.timeout),
                headers={"user-agent": USER_AGENT},
            )
            self._sessions[endpoint_id] = session
        return session

    async def send(
        self, endpoint_id: UUID, url: str, signer: Webhook, message_id: str, body: str
    ) -> Attempt:
        """POST `body` to `url`, signed for `message_id` (the event's id, the same on every
        retry so receivers can tell a repeat). Never raises for what the receiver, the
        network or the URL does: that is a failed attempt, and says why."""
        session = self._session(endpoint_id)
        attempted_at = datetime.now(UTC)
        moment = attempted_at.replace(microsecond=0)  # what webhook-timestamp can say
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signer.sign(message_id, moment, body),
        }
        started = time.monotonic()
        status: int | None = None
        excerpt: str | None = None
        error: str | None = None
        try:
            self._check_literal_host(url)
            async with session.post(
                url, data=body.encode(), headers=headers, allow_redirects=False
            ) as answer:
                status = answer.status
                excerpt = _excerpt(await answer.content.read(EXCERPT_BYTES))
        except TimeoutError:
            error = f"no answer within {self.policy.timeout:g} s"
        except RefusedAddressError as refused:
            error = f"refused: {refused}"
        except aiohttp.ClientConnectorDNSError as failed:
            error = _why(failed.os_error, "the host does not resolve")
        except aiohttp.ClientConnectorError as failed:
            error = _why(failed.os_error, "could not connect")
        except Exception as failed:  # whatever else went wrong, the attempt failed
            error = f"the request failed ({type(failed).__name__})"
        return Attempt(
            at=attempted_at,
            duration_ms=round((time.monotonic() - started) * 1000),
            status=status,
            excerpt=excerpt,
            error=None if error is None else error[:ERROR_CHARACTERS],
        )

    def _check_literal_host(self, url: str) -> None:
        # A host written as an address never reaches the resolver: judged here, in every
        # spelling the C library would take (127.1, 0x7f.1, 2130706433).
        if self.policy.allow_private:
            return
        host = URL(url).host or ""
        address = literal_address(host)
        if address is None:
            return
        reason = refused_address(address)
        if reason is not None:
            raise RefusedAddressError(f"{host} is {reason}")


def _why(cause: Any, fallback: str) -> str:
    if isinstance(cause, RefusedAddressError):
        return f"refused: {cause}"
    reason = getattr(cause, "strerror", None)
    return f"{fallback} ({reason})" if reason else fallback


def _excerpt(raw: bytes) -> str | None:
    text = raw.decode("utf-8", errors="replace")
    shown = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return shown[:EXCERPT_CHARACTERS] or None
