"""Keyset pages: the position a page starts after, and a page from rows read one extra."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import Row

from graphql_api.domain.pagination import Page, PageRequest

T = TypeVar("T")


def keyset(request: PageRequest) -> tuple[datetime, UUID] | None:
    return None if request.after is None else (request.after.at, request.after.id)


def page_of(
    rows: Sequence[Row[Any]], first: int, convert: Callable[[Mapping[Any, Any]], T]
) -> Page[T]:
    """Pages are read with one extra row, which only says whether another page follows."""
    return Page(
        items=[convert(row._mapping) for row in rows[:first]], has_next_page=len(rows) > first
    )
