"""Keyset pages: opaque cursors over (timestamp, id), newest first."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar
from uuid import UUID

from graphql_api.domain.errors import invalid

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

T = TypeVar("T")


class CursorKind(StrEnum):
    """Which list a cursor belongs to; a cursor is refused anywhere else."""

    COUPON = "c"
    USAGE = "u"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page starts after: the last row's sort key."""

    at: datetime
    id: UUID


@dataclass(frozen=True, slots=True)
class PageRequest:
    first: int
    after: Position | None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    has_next_page: bool


def encode_cursor(kind: CursorKind, position: Position) -> str:
    raw = f"{kind.value}|{position.at.isoformat()}|{position.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(kind: CursorKind, cursor: str) -> Position:
    """The position a cursor this service issued for `kind` points at; INVALID_INPUT otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True).decode()
        tag, at, ident = raw.split("|")
        moment = datetime.fromisoformat(at)
        if tag != kind.value or moment.tzinfo is None:
            raise ValueError(tag)
        return Position(at=moment, id=UUID(ident))
    except (ValueError, binascii.Error, UnicodeError):
        raise invalid("after", "after is not a cursor this list issued") from None


def page_request(first: int | None, after: str | None, kind: CursorKind) -> PageRequest:
    if first is None or not 1 <= first <= MAX_PAGE_SIZE:
        raise invalid("first", f"first must be between 1 and {MAX_PAGE_SIZE}")
    return PageRequest(first=first, after=None if after is None else decode_cursor(kind, after))
