"""Free text and identifiers as clients send them: lengths and characters."""

from __future__ import annotations

import unicodedata

from graphql_api.domain.errors import invalid


def check_text(
    value: str, field: str, *, max_length: int, min_length: int = 1, multiline: bool = False
) -> str:
    """A string of `min_length` to `max_length` characters with no control characters."""
    if not min_length <= len(value) <= max_length:
        raise invalid(field, f"{field} must be {min_length}-{max_length} characters")
    allowed = "\t\n\r" if multiline else ""
    # Cc: control characters, NUL included. Cs: lone surrogates, which JSON can spell
    # (a bare \ud800) but UTF-8, and so PostgreSQL, cannot store.
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in value):
        raise invalid(field, f"{field} must not contain control characters or lone surrogates")
    if min_length and not value.strip():
        raise invalid(field, f"{field} must not be blank")
    return value


def check_optional_text(
    value: str | None, field: str, *, max_length: int, multiline: bool = False
) -> str | None:
    if value is None:
        return None
    return check_text(value, field, max_length=max_length, min_length=0, multiline=multiline)
