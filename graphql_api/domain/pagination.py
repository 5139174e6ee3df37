"""Keyset pages: opaque cursors over (timestamp, id), newest first.

A cursor names the list that issued it: the query field and the arguments that choose its
rows (contract, "Inputs"). Handed to another list, or to the same field with another
`userId`, it is INVALID_INPUT on `after`, as is anything that does not decode to a moment
the database can take and a UUID.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from graphql_api.domain.errors import CouponError, invalid
from graphql_api.domain.inputs import check_moment

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
CURSOR_VERSION = "1"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ListScope:
    """The list a cursor belongs to: its GraphQL field (`Type.field`) and the values of the
    arguments or parent that choose its rows (a userId, a coupon's id)."""

    field: str
    chosen_by: tuple[str, ...] = ()

    def digest(self) -> str:
        """A short fingerprint of `chosen_by`: cursors carry it, not the values."""
        joined = "\x1f".join(self.chosen_by).encode()
        return hashlib.blake2b(joined, digest_size=8).hexdigest()


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


def encode_cursor(scope: ListScope, position: Position) -> str:
    raw = "|".join(
        (CURSOR_VERSION, scope.field, scope.digest(), position.at.isoformat(), str(position.id))
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(scope: ListScope, cursor: str, *, check_chosen_by: bool = True) -> Position:
    """The position a cursor this service issued for `scope` points at; INVALID_INPUT on
    `after` otherwise. `check_chosen_by=False` checks the field only, for a look before the
    arguments' values are known."""
    refused = invalid("after", "after is not a cursor this list issued for these arguments")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True).decode()
        version, field, digest, at, ident = raw.split("|")
        moment = datetime.fromisoformat(at)
        position_id = UUID(ident)
    except (ValueError, binascii.Error, UnicodeError):
        raise refused from None
    if (
        version != CURSOR_VERSION
        or field != scope.field
        or (check_chosen_by and digest != scope.digest())
        or moment.tzinfo is None
    ):
        raise refused
    try:
        return Position(at=check_moment(moment, "after"), id=position_id)
    except CouponError:
        raise refused from None


def page_request(
    first: int | None, after: str | None, scope: ListScope, *, check_chosen_by: bool = True
) -> PageRequest:
    """`first` as `check_page_size` reads it, and the decoded `after`."""
    size = check_page_size(first)
    position = (
        None if after is None else decode_cursor(scope, after, check_chosen_by=check_chosen_by)
    )
    return PageRequest(first=size, after=position)


def check_page_size(first: int | None) -> int:
    """`first`: 1 to MAX_PAGE_SIZE, else INVALID_INPUT on `first`."""
    if first is None or not 1 <= first <= MAX_PAGE_SIZE:
        raise invalid("first", f"first must be between 1 and {MAX_PAGE_SIZE}")
    return first


def encode_feed_cursor(scope: ListScope, position: int) -> str:
    """A cursor for a list read oldest first by a position number (the event feed)."""
    raw = "|".join((CURSOR_VERSION, scope.field, scope.digest(), str(position)))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_feed_cursor(scope: ListScope, cursor: str, *, check_chosen_by: bool = True) -> int:
    """The position an `encode_feed_cursor` cursor for `scope` holds; INVALID_INPUT on
    `after` for anything else (`check_chosen_by` as decode_cursor's)."""
    refused = invalid("after", "after is not a cursor this list issued for these arguments")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True).decode()
        version, field, digest, number = raw.split("|")
        position = int(number)
    except (ValueError, binascii.Error, UnicodeError):
        raise refused from None
    if (
        version != CURSOR_VERSION
        or field != scope.field
        or (check_chosen_by and digest != scope.digest())
        or not 0 <= position < 2**63
        or number != str(position)
    ):
        raise refused
    return position
